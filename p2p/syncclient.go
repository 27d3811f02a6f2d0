package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// call sends one sync request to p and reads the response.
func (h *Host) call(ctx context.Context, p peer.ID, req *syncRequest) (*syncResponse, error) {
	var resp syncResponse
	if err := h.exchange(ctx, p, syncProtocol, "sync "+string(req.Op), streamTimeout, req, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("sync %s with %s: peer says: %s", req.Op, p, resp.Error)
	}
	return &resp, nil
}

// digestCache remembers room digests until the room changes, so that
// anti-entropy over idle rooms costs a map lookup.
//
// A digest is computed outside the lock, from whatever the room holds at
// that moment. An event written meanwhile invalidates the room before the
// computation ends, and storing the older result after that would keep a
// stale digest for as long as the room stays idle: a peer holding the
// same older set of events then compares equal and never asks for the
// newer one. Each invalidation bumps the room's generation, and a
// computation that saw another generation is returned but not kept.
type digestCache struct {
	mu  sync.Mutex
	m   map[node.RoomID]map[string][]byte
	gen map[node.RoomID]uint64
}

func newDigestCache() *digestCache {
	return &digestCache{m: map[node.RoomID]map[string][]byte{}, gen: map[node.RoomID]uint64{}}
}

// invalidate forgets a room's digests. Call it once a change to the room
// is visible to reads.
func (c *digestCache) invalidate(room node.RoomID) {
	c.mu.Lock()
	delete(c.m, room)
	c.gen[room]++
	c.mu.Unlock()
}

// get returns the cached digest of a room from a floor, or computes it.
func (c *digestCache) get(room node.RoomID, from []byte, compute func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if d, ok := c.m[room][string(from)]; ok {
		c.mu.Unlock()
		return d, nil
	}
	gen := c.gen[room]
	c.mu.Unlock()
	d, err := compute()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen[room] == gen {
		if c.m[room] == nil {
			c.m[room] = map[string][]byte{}
		}
		c.m[room][string(from)] = d
	}
	c.mu.Unlock()
	return d, nil
}

func (h *Host) digest(ctx context.Context, room node.RoomID, from []byte) ([]byte, error) {
	return h.digests.get(room, from, func() ([]byte, error) { return h.node.RoomDigestBytes(ctx, room, from) })
}

// reconcile runs anti-entropy with one peer over every room both may
// share: digests first, then a full comparison of refs for rooms whose
// digests differ.
func (h *Host) reconcile(ctx context.Context, p peer.ID) error {
	var req syncRequest
	req.Op = opDigest
	for _, room := range h.node.HeldRooms() {
		if !h.allowed(p, room) || h.joining.has(room) {
			continue
		}
		floor, err := h.node.SyncFloor(ctx, room)
		if err != nil {
			return err
		}
		d, err := h.digest(ctx, room, floor)
		if err != nil {
			return err
		}
		req.Rooms = append(req.Rooms, roomDigest{Room: room, From: floor, Digest: d})
		if len(req.Rooms) == maxDigestRooms {
			break
		}
	}
	if len(req.Rooms) == 0 {
		return nil
	}
	resp, err := h.call(ctx, p, &req)
	if err != nil {
		return err
	}
	asked := map[node.RoomID][]byte{}
	for _, rd := range req.Rooms {
		asked[rd.Room] = rd.From
	}
	for _, rd := range resp.Rooms {
		mine, ok := asked[rd.Room]
		if !ok || bytes.Compare(rd.From, mine) < 0 {
			continue // not asked, or a peer that ignores our floor
		}
		d, err := h.digest(ctx, rd.Room, rd.From)
		if err != nil {
			return err
		}
		if !bytes.Equal(d, rd.Digest) {
			if err := h.syncRoom(ctx, p, rd.Room, rd.From); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncRoom makes this node and p hold the same events of a room after its
// floor (the later of both nodes' sync floors): it pulls what it lacks
// and pushes what p lacks.
func (h *Host) syncRoom(ctx context.Context, p peer.ID, room node.RoomID, floor node.OrderKey) error {
	theirs := map[node.EventID]bool{}
	var missing []node.EventID
	after := floor
	for {
		resp, err := h.call(ctx, p, &syncRequest{Op: opRefs, Room: room, After: after, Limit: maxRefs})
		if err != nil {
			return err
		}
		for _, r := range resp.Refs {
			theirs[r.ID] = true
			if ok, err := h.node.HasEvent(ctx, r.ID); err == nil && !ok {
				missing = append(missing, r.ID)
			}
		}
		if !resp.More || len(resp.Refs) == 0 {
			break
		}
		after = resp.Refs[len(resp.Refs)-1].Order
	}
	if err := h.getEvents(ctx, p, room, missing); err != nil {
		return err
	}
	// Push what p lacks, oldest first.
	var extra []node.EventID
	after = floor
	for {
		refs, more, err := h.node.EventRefsAfter(ctx, room, after, maxRefs)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if !theirs[r.ID] {
				extra = append(extra, r.ID)
			}
		}
		if !more || len(refs) == 0 {
			break
		}
		after = refs[len(refs)-1].Order
	}
	for len(extra) > 0 {
		n := min(len(extra), maxPush)
		evs, err := h.node.Events(ctx, room, extra[:n])
		if err != nil {
			return err
		}
		if _, err := h.call(ctx, p, &syncRequest{Op: opPush, Events: raws(evs)}); err != nil {
			return err
		}
		extra = extra[n:]
	}
	return nil
}

// getEvents fetches events by ID in batches and ingests them in order.
func (h *Host) getEvents(ctx context.Context, p peer.ID, room node.RoomID, ids []node.EventID) error {
	for len(ids) > 0 {
		n := min(len(ids), maxGet)
		resp, err := h.call(ctx, p, &syncRequest{Op: opGet, Room: room, IDs: ids[:n]})
		if err != nil {
			return err
		}
		if len(resp.Events) == 0 {
			return nil
		}
		h.ingestRaw(ctx, p, resp.Events)
		ids = ids[min(n, len(resp.Events)):]
	}
	return nil
}

// ingestRaw verifies and ingests events that came by sync.
func (h *Host) ingestRaw(ctx context.Context, p peer.ID, evs [][]byte) {
	for _, raw := range evs {
		e, err := node.DecodeEvent(raw, time.Now())
		if err != nil {
			h.log.Debug("synced event rejected", "from", p, "err", err)
			continue
		}
		if err := h.ingest(ctx, e, "sync"); err != nil && !errors.Is(err, node.ErrDuplicate) && !errors.Is(err, node.ErrPending) && !errors.Is(err, node.ErrPolicy) {
			h.log.Debug("synced event refused", "event", e.ID, "from", p, "err", err)
		}
	}
	// One fsync for the batch rather than one per event; waiting for it
	// keeps a fast peer from running ahead of the disk.
	if err := h.node.WaitDurable(ctx); err != nil {
		h.log.Debug("sync batch not durable", "from", p, "err", err)
	}
}

// fetchRoomFrom joins a room held by p: its state events, then a recent
// window. When the window does not reach the room's start, the room is
// marked incomplete and older history is backfilled on demand.
func (h *Host) fetchRoomFrom(ctx context.Context, p peer.ID, room node.RoomID) error {
	// Keep anti-entropy off the room until the window is in place, so
	// that it does not pull (or get pushed) the whole history meanwhile.
	h.joining.add(room)
	defer h.joining.remove(room)
	resp, err := h.call(ctx, p, &syncRequest{Op: opRoom, Room: room, Limit: h.cfg.JoinWindow})
	if err != nil {
		return err
	}
	if len(resp.State) == 0 {
		return fmt.Errorf("fetch room %s from %s: %w", room, p, node.ErrNotFound)
	}
	h.ingestRaw(ctx, p, resp.State[:1])
	if _, ok := h.node.RoomVisibility(room); !ok {
		return fmt.Errorf("fetch room %s from %s: no valid create event: %w", room, p, node.ErrNotFound)
	}
	if !resp.Complete {
		if err := h.node.SetHistoryComplete(ctx, room, false); err != nil {
			return err
		}
	}
	h.ingestRaw(ctx, p, resp.State[1:])
	h.ingestRaw(ctx, p, resp.Events)
	h.RoomsChanged()
	return nil
}

// FetchRoom asks peers for a room this node does not hold: connected
// peers first, then nodes that announced it in the directory, then
// providers of its topic in the DHT.
func (h *Host) FetchRoom(ctx context.Context, room node.RoomID) error {
	tried := map[peer.ID]bool{h.host.ID(): true}
	try := func(p peer.ID) bool {
		if tried[p] {
			return false
		}
		tried[p] = true
		if err := h.fetchRoomFrom(ctx, p, room); err != nil {
			h.log.Debug("fetch room", "room", room, "peer", p, "err", err)
			return false
		}
		return true
	}
	for _, p := range h.host.Network().Peers() {
		if try(p) {
			return nil
		}
	}
	for _, p := range h.hints.peers(room) {
		if try(p) {
			return nil
		}
	}
	for _, p := range h.findProviders(ctx, roomTopic(room), 5*time.Second) {
		if try(p) {
			return nil
		}
	}
	return fmt.Errorf("fetch room %s: no peer has it: %w", room, node.ErrNotFound)
}

// Backfill fetches up to limit events of a room older than before from a
// peer that holds them, and reports whether the room's start was reached.
func (h *Host) Backfill(ctx context.Context, room node.RoomID, before node.OrderKey, limit int) (bool, error) {
	candidates := h.host.Network().Peers()
	for _, n := range h.node.RoomNodes(room) {
		if p, err := peer.Decode(string(n)); err == nil && p != h.host.ID() {
			candidates = append([]peer.ID{p}, candidates...)
		}
	}
	var last error = fmt.Errorf("backfill %s: no peer has it: %w", room, node.ErrNotFound)
	for _, p := range candidates {
		resp, err := h.call(ctx, p, &syncRequest{Op: opBefore, Room: room, Before: before, Limit: limit})
		if err != nil {
			last = err
			continue
		}
		h.ingestRaw(ctx, p, resp.Events)
		if !resp.More {
			return true, h.node.SetHistoryComplete(ctx, room, true)
		}
		return false, nil
	}
	return false, last
}

// runAntiEntropy reconciles with every connected peer each SyncInterval,
// and at once with a peer that just connected or sent something
// undecidable.
func (h *Host) runAntiEntropy(ctx context.Context) {
	tick := time.NewTicker(h.cfg.SyncInterval)
	defer tick.Stop()
	greeted := map[peer.ID]bool{}
	for {
		var peers []peer.ID
		select {
		case <-ctx.Done():
			return
		case p := <-h.syncWith:
			peers = []peer.ID{p}
		case <-tick.C:
			peers = h.host.Network().Peers()
		}
		for _, p := range peers {
			if p == h.host.ID() || h.host.Network().Connectedness(p) != network.Connected {
				continue
			}
			if !greeted[p] {
				greeted[p] = true
				h.sendProfiles(ctx, p)
			}
			cctx, cancel := context.WithTimeout(ctx, 2*streamTimeout)
			err := h.reconcile(cctx, p)
			h.observer().SyncRound(err == nil)
			if err != nil {
				h.log.Debug("anti-entropy", "peer", p, "err", err)
				delete(greeted, p)
			}
			cancel()
		}
	}
}

// sendProfiles announces local users' profiles to a newly met peer.
func (h *Host) sendProfiles(ctx context.Context, p peer.ID) {
	users, err := h.node.LocalUsers(ctx, 1000)
	if err != nil || len(users) == 0 {
		return
	}
	var evs [][]byte
	for _, u := range users {
		if e, err := h.node.ProfileEvent(ctx, u); err == nil {
			evs = append(evs, e.Raw)
		}
		if len(evs) == maxPush {
			break
		}
	}
	_, _ = h.call(ctx, p, &syncRequest{Op: opPush, Events: evs})
}

// roomSet is a small concurrent set of rooms.
type roomSet struct {
	mu sync.Mutex
	m  map[node.RoomID]int
}

func (s *roomSet) add(r node.RoomID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[node.RoomID]int{}
	}
	s.m[r]++
}

func (s *roomSet) remove(r node.RoomID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[r]--; s.m[r] <= 0 {
		delete(s.m, r)
	}
}

func (s *roomSet) has(r node.RoomID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[r] > 0
}
