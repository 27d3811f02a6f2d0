package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/hearth-chat/hearth/node"
)

// e2eeProtocol carries the key directory and the to-device mailbox
// between nodes (docs/protocol.md §8): key queries and one-time-key
// claims for a node's users, to-device messages and device-list
// versions. Each request goes to the one node that hosts the users it
// is about, on a stream of its own (never gossip), one request and one
// response per stream, framed like history sync. The stream's libp2p peer
// identity is the node that speaks: it may only speak for its own users,
// which the domain checks (node.ReceiveToDevice, ReceiveDeviceLists, and
// the answers to queries and claims).
const e2eeProtocol = "/hearth/e2ee/1.0.0"

// E2EE operations.
const (
	opKeysQuery   = "keys.query"
	opKeysClaim   = "keys.claim"
	opToDevice    = "todevice"
	opDeviceLists = "devicelists"
	opVersions    = "devicelists.versions"
)

// Per-peer request rate on the e2ee protocol: a hostile node must not
// drain one-time keys or fill inboxes faster than this.
const (
	e2eeRate      = 50
	e2eeBurst     = 200
	maxE2EEPeers  = 4096
	maxE2EEMsgs   = 256
	e2eeCallLimit = 30 * time.Second
)

// KeyDirectory is what the e2ee protocol needs from the domain. It is
// optional: a Domain that lacks it serves no e2ee requests.
type KeyDirectory interface {
	AnswerKeyQuery(ctx context.Context, from node.NodeID, q *node.KeyQuery) (*node.KeyQueryResult, error)
	AnswerKeyClaim(ctx context.Context, from node.NodeID, c *node.KeyClaim) (*node.KeyClaimResult, error)
	ReceiveToDevice(ctx context.Context, from node.NodeID, msgs []*node.Outbound) ([]string, error)
	ReceiveDeviceLists(ctx context.Context, from node.NodeID, versions map[node.UserID]int64) error
	DeviceListVersions(ctx context.Context, users []node.UserID) (map[node.UserID]int64, error)
	// NodeConnected tells the domain a node is reachable (again).
	NodeConnected(id node.NodeID)
}

type e2eeRequest struct {
	Op       string                `json:"op"`
	Query    *node.KeyQuery        `json:"query,omitempty"`
	Claim    *node.KeyClaim        `json:"claim,omitempty"`
	Messages []*node.Outbound      `json:"messages,omitempty"`
	Versions map[node.UserID]int64 `json:"versions,omitempty"`
	Users    []node.UserID         `json:"users,omitempty"`
}

type e2eeResponse struct {
	Error    string                `json:"error,omitempty"`
	Keys     *node.KeyQueryResult  `json:"keys,omitempty"`
	Claimed  *node.KeyClaimResult  `json:"claimed,omitempty"`
	Results  []string              `json:"results,omitempty"`
	Versions map[node.UserID]int64 `json:"versions,omitempty"`
}

// peerLimits is a token bucket per peer.
type peerLimits struct {
	mu sync.Mutex
	m  map[peer.ID]*rate.Limiter
}

func (l *peerLimits) allow(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) > maxE2EEPeers {
		l.m = map[peer.ID]*rate.Limiter{} // forget idle peers wholesale rather than grow
	}
	lim := l.m[p]
	if lim == nil {
		lim = rate.NewLimiter(e2eeRate, e2eeBurst)
		l.m[p] = lim
	}
	return lim.Allow()
}

// serveE2EE answers one e2ee request.
func (h *Host) serveE2EE(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	kd, ok := h.node.(KeyDirectory)
	from := s.Conn().RemotePeer()
	var req e2eeRequest
	if err := readFrame(bufio.NewReader(s), &req); err != nil || !ok {
		_ = s.Reset()
		return
	}
	resp := &e2eeResponse{}
	if !h.e2eeLimits.allow(from) {
		resp.Error = "rate limited"
		_ = writeFrame(s, resp)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	id := node.NodeID(from.String())
	var err error
	switch req.Op {
	case opKeysQuery:
		if req.Query == nil {
			err = errors.New("query missing")
			break
		}
		resp.Keys, err = kd.AnswerKeyQuery(ctx, id, req.Query)
	case opKeysClaim:
		if req.Claim == nil {
			err = errors.New("claim missing")
			break
		}
		resp.Claimed, err = kd.AnswerKeyClaim(ctx, id, req.Claim)
	case opToDevice:
		if len(req.Messages) > maxE2EEMsgs {
			err = fmt.Errorf("at most %d messages per request", maxE2EEMsgs)
			break
		}
		resp.Results, err = kd.ReceiveToDevice(ctx, id, req.Messages)
	case opDeviceLists:
		err = kd.ReceiveDeviceLists(ctx, id, req.Versions)
	case opVersions:
		resp.Versions, err = kd.DeviceListVersions(ctx, req.Users)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		resp = &e2eeResponse{Error: err.Error()}
	}
	_ = writeFrame(s, resp)
}

// callE2EE sends one e2ee request to a node and reads its answer.
func (h *Host) callE2EE(ctx context.Context, to node.NodeID, req *e2eeRequest) (*e2eeResponse, error) {
	p, err := peer.Decode(string(to))
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", to, node.ErrInvalid)
	}
	var resp e2eeResponse
	if err := h.exchange(ctx, p, e2eeProtocol, string(req.Op), e2eeCallLimit, req, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("%s with %s: peer says: %s", req.Op, to, resp.Error)
	}
	return &resp, nil
}

// QueryKeys asks a node for its users' keys (node.KeyFederation).
func (h *Host) QueryKeys(ctx context.Context, to node.NodeID, q *node.KeyQuery) (*node.KeyQueryResult, error) {
	resp, err := h.callE2EE(ctx, to, &e2eeRequest{Op: opKeysQuery, Query: q})
	if err != nil {
		return nil, err
	}
	if resp.Keys == nil {
		return &node.KeyQueryResult{}, nil
	}
	return resp.Keys, nil
}

// ClaimKeys asks a node for one-time keys of its users' devices.
func (h *Host) ClaimKeys(ctx context.Context, to node.NodeID, c *node.KeyClaim) (*node.KeyClaimResult, error) {
	resp, err := h.callE2EE(ctx, to, &e2eeRequest{Op: opKeysClaim, Claim: c})
	if err != nil {
		return nil, err
	}
	if resp.Claimed == nil {
		return &node.KeyClaimResult{}, nil
	}
	return resp.Claimed, nil
}

// SendToDevice delivers to-device messages to the node of their
// recipients and returns its answer per message.
func (h *Host) SendToDevice(ctx context.Context, to node.NodeID, msgs []*node.Outbound) ([]string, error) {
	resp, err := h.callE2EE(ctx, to, &e2eeRequest{Op: opToDevice, Messages: msgs})
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(msgs) {
		return nil, fmt.Errorf("todevice with %s: %d answers for %d messages", to, len(resp.Results), len(msgs))
	}
	return resp.Results, nil
}

// SendDeviceLists tells a node of users' new device-list versions.
func (h *Host) SendDeviceLists(ctx context.Context, to node.NodeID, versions map[node.UserID]int64) error {
	_, err := h.callE2EE(ctx, to, &e2eeRequest{Op: opDeviceLists, Versions: versions})
	return err
}

// DeviceListVersions asks a node for its users' device-list versions.
func (h *Host) DeviceListVersions(ctx context.Context, to node.NodeID, users []node.UserID) (map[node.UserID]int64, error) {
	resp, err := h.callE2EE(ctx, to, &e2eeRequest{Op: opVersions, Users: users})
	if err != nil {
		return nil, err
	}
	return resp.Versions, nil
}

var _ node.KeyFederation = (*Host)(nil)
