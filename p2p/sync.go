package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// syncProtocol is history sync: one request and one response per stream,
// each a length-prefixed JSON frame (see docs/protocol.md).
const syncProtocol = "/hearth/sync/1.0.0"

// Sync operations.
const (
	opDigest = "digest" // digests of rooms → the responder's digests
	opRefs   = "refs"   // event refs of a room after an order key
	opGet    = "get"    // events by ID
	opRoom   = "room"   // state events plus a recent window (joins)
	opBefore = "before" // events before an order key (backfill)
	opPush   = "push"   // events for the responder to ingest
	opTyping = "typing" // an ephemeral typing signal (private rooms)
)

// Bounds on what one request may ask for or carry.
const (
	maxDigestRooms = 2000
	maxRefs        = 5000
	maxGet         = 500
	maxPush        = 256
	maxWindow      = 1000
	pageBytes      = 4 << 20
	streamTimeout  = 30 * time.Second
)

type syncRequest struct {
	Op     string         `json:"op"`
	Rooms  []roomDigest   `json:"rooms,omitempty"`
	Room   node.RoomID    `json:"room,omitempty"`
	After  []byte         `json:"after,omitempty"`
	Before []byte         `json:"before,omitempty"`
	Limit  int            `json:"limit,omitempty"`
	IDs    []node.EventID `json:"ids,omitempty"`
	Events [][]byte       `json:"events,omitempty"`
	Typing *typingSignal  `json:"typing,omitempty"`
}

type roomDigest struct {
	Room   node.RoomID `json:"room"`
	From   []byte      `json:"from,omitempty"`
	Digest []byte      `json:"digest"`
}

type syncResponse struct {
	Error    string          `json:"error,omitempty"`
	Rooms    []roomDigest    `json:"rooms,omitempty"`
	Refs     []node.EventRef `json:"refs,omitempty"`
	More     bool            `json:"more,omitempty"`
	Events   [][]byte        `json:"events,omitempty"`
	State    [][]byte        `json:"state,omitempty"`
	Complete bool            `json:"complete,omitempty"`
}

// serveSync answers one sync request.
func (h *Host) serveSync(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	var req syncRequest
	if err := readFrame(bufio.NewReader(s), &req); err != nil {
		_ = s.Reset()
		return
	}
	if !h.federates(s.Conn().RemotePeer()) {
		_ = s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	resp, err := h.answer(ctx, s.Conn().RemotePeer(), &req)
	if err != nil {
		resp = &syncResponse{Error: err.Error()}
	}
	_ = writeFrame(s, resp)
}

var errNotAllowed = errors.New("room not available to this peer")

// allowed reports whether peer p may read a room's events: the domain
// decides (node.Node.ReadableBy).
func (h *Host) allowed(p peer.ID, room node.RoomID) bool {
	return h.node.ReadableBy(room, node.NodeID(p.String()))
}

// answer serves one sync request. It is one case per sync op, kept
// together (over 80 lines) so the protocol reads in one place.
func (h *Host) answer(ctx context.Context, p peer.ID, req *syncRequest) (*syncResponse, error) {
	switch req.Op {
	case opDigest:
		out := &syncResponse{}
		for i, rd := range req.Rooms {
			if i == maxDigestRooms {
				break
			}
			if !h.allowed(p, rd.Room) || h.joining.has(rd.Room) {
				continue
			}
			// Compare from the later of the two sync floors: a node that
			// joined with a window holds nothing older, and must not be
			// sent the whole history by anti-entropy.
			floor, err := h.node.SyncFloor(ctx, rd.Room)
			if err != nil {
				return nil, err
			}
			from := laterKey(rd.From, floor)
			d, err := h.digest(ctx, rd.Room, from)
			if err != nil {
				return nil, err
			}
			out.Rooms = append(out.Rooms, roomDigest{Room: rd.Room, From: from, Digest: d})
		}
		return out, nil
	case opPush:
		h.acceptPush(ctx, p, req.Events)
		return &syncResponse{}, nil
	case opTyping:
		if t := req.Typing; t != nil && t.User.Node() == node.NodeID(p.String()) {
			h.node.RemoteTyping(t.Room, t.User, t.Typing)
		}
		return &syncResponse{}, nil
	}
	if !h.allowed(p, req.Room) {
		return nil, errNotAllowed
	}
	switch req.Op {
	case opRefs:
		limit := clamp(req.Limit, maxRefs)
		refs, more, err := h.node.EventRefsAfter(ctx, req.Room, req.After, limit)
		if err != nil {
			return nil, err
		}
		return &syncResponse{Refs: refs, More: more}, nil
	case opGet:
		ids := req.IDs
		if len(ids) > maxGet {
			ids = ids[:maxGet]
		}
		evs, err := h.node.Events(ctx, req.Room, ids)
		if err != nil {
			return nil, err
		}
		return &syncResponse{Events: raws(evs)}, nil
	case opRoom:
		state, err := h.node.Events(ctx, req.Room, h.node.StateEventIDs(req.Room))
		if err != nil {
			return nil, err
		}
		refs, more, err := h.node.EventRefsBefore(ctx, req.Room, nil, clamp(req.Limit, maxWindow))
		if err != nil {
			return nil, err
		}
		evs, err := h.node.Events(ctx, req.Room, refIDs(refs))
		if err != nil {
			return nil, err
		}
		return &syncResponse{State: raws(state), Events: raws(evs), Complete: !more && h.node.HistoryComplete(req.Room)}, nil
	case opBefore:
		refs, more, err := h.node.EventRefsBefore(ctx, req.Room, req.Before, clamp(req.Limit, maxGet))
		if err != nil {
			return nil, err
		}
		evs, err := h.node.Events(ctx, req.Room, refIDs(refs))
		if err != nil {
			return nil, err
		}
		return &syncResponse{Events: raws(evs), More: more}, nil
	}
	return nil, errors.New("unknown sync op")
}

// acceptPush ingests pushed events. A room this node cannot decide yet
// (an invite to a room it does not hold) is fetched from the pusher.
func (h *Host) acceptPush(ctx context.Context, p peer.ID, evs [][]byte) {
	if len(evs) > maxPush {
		evs = evs[:maxPush]
	}
	fetch := map[node.RoomID]bool{}
	for _, raw := range evs {
		e, err := node.DecodeEvent(raw, time.Now())
		if err != nil {
			h.log.Debug("pushed event rejected", "from", p, "err", err)
			h.blamePush(p, err)
			continue
		}
		if !h.node.Wants(e) {
			continue
		}
		err = h.ingest(ctx, e, "push")
		switch {
		case errors.Is(err, node.ErrPending) && e.Room != "":
			fetch[e.Room] = true
		case err != nil:
			h.log.Debug("pushed event refused", "event", e.ID, "from", p, "err", err)
			h.blamePush(p, err)
		}
	}
	for room := range fetch {
		select {
		case h.fetches <- struct{}{}:
		default:
			continue // enough fetches in flight; anti-entropy follows up
		}
		h.goBackground(func() {
			defer func() { <-h.fetches }()
			cctx, cancel := h.boundedContext(streamTimeout)
			defer cancel()
			if _, ok := h.node.RoomVisibility(room); ok {
				h.requestSync(p)
				return
			}
			if err := h.fetchRoomFrom(cctx, p, room); err != nil {
				h.log.Debug("fetch pushed room", "room", room, "from", p, "err", err)
			}
		})
	}
}

// forgedPushPenalty is what a peer loses for each pushed event refused
// as forged or unauthorised: as much as GossipSub's first invalid
// message costs (InvalidMessageDeliveriesWeight), so that a forger gains
// nothing by pushing what gossip would reject. It decays like the media
// penalty.
const forgedPushPenalty = 100

// blamePush lowers the score of a peer that pushed an event refused for
// a bad signature, a sender not of its origin, or a lack of power
// (ErrForbidden): an honest node verifies and judges what it stores, so
// it never pushes such an event. Other refusals (a race lost to a ban,
// an event not decidable yet, a duplicate, this node's own policy)
// are not the pusher's fault. Push is a stream outside GossipSub's
// validation, so without this a node could forge there for free.
func (h *Host) blamePush(p peer.ID, err error) {
	if errors.Is(err, node.ErrForbidden) && !errors.Is(err, node.ErrSuperseded) && !errors.Is(err, node.ErrPolicy) {
		h.mediaState.penalties.add(p, forgedPushPenalty)
	}
}

// laterKey returns the later of two order keys (nil sorts first).
func laterKey(a, b []byte) []byte {
	if bytes.Compare(a, b) >= 0 {
		return a
	}
	return b
}

func clamp(v, max int) int {
	if v <= 0 || v > max {
		return max
	}
	return v
}

func raws(evs []*node.Event) [][]byte {
	out := make([][]byte, 0, len(evs))
	size := 0
	for _, e := range evs {
		if size += len(e.Raw); size > pageBytes {
			break
		}
		out = append(out, e.Raw)
	}
	return out
}

func refIDs(refs []node.EventRef) []node.EventID {
	out := make([]node.EventID, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}
