package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// This file holds the small read-side API that federation's history sync
// needs: event IDs in room order, events by ID, the events that make up a
// room's state, and the history-completeness flag of windowed joins.

// EventRef names one event of a room and its position in room order.
type EventRef struct {
	ID    EventID  `json:"id"`
	Order OrderKey `json:"o"`
}

// IDFromOrder returns the event ID embedded in an order key.
func IDFromOrder(o OrderKey) EventID {
	if len(o) <= 12 {
		return ""
	}
	return EventID(o[12:])
}

// EventRefsAfter lists up to limit events of a room after order key from
// (nil for the start), in room order, and whether more follow.
func (n *Node) EventRefsAfter(ctx context.Context, room RoomID, from OrderKey, limit int) ([]EventRef, bool, error) {
	var out []EventRef
	more := false
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachEventAfter(room, from, func(id EventID, o OrderKey) bool {
			if len(out) == limit {
				more = true
				return false
			}
			out = append(out, EventRef{ID: id, Order: bytes.Clone(o)})
			return true
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("event refs of %s: %w", room, err)
	}
	return out, more, nil
}

// EventRefsBefore lists up to limit events of a room before order key
// before (nil for the end), oldest first, and whether older ones exist.
// It scans the room's keys, so callers bound how often they ask.
func (n *Node) EventRefsBefore(ctx context.Context, room RoomID, before OrderKey, limit int) ([]EventRef, bool, error) {
	var all []EventRef
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachEventAfter(room, nil, func(id EventID, o OrderKey) bool {
			if before != nil && bytes.Compare(o, before) >= 0 {
				return false
			}
			all = append(all, EventRef{ID: id, Order: bytes.Clone(o)})
			return true
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("event refs of %s: %w", room, err)
	}
	if len(all) <= limit {
		return all, false, nil
	}
	return all[len(all)-limit:], true, nil
}

// Events returns the stored events with the given IDs that belong to room,
// in the order asked; unknown IDs are skipped.
func (n *Node) Events(ctx context.Context, room RoomID, ids []EventID) ([]*Event, error) {
	out := make([]*Event, 0, len(ids))
	err := n.store.View(ctx, func(tx Tx) error {
		for _, id := range ids {
			e, err := tx.Event(id)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if e.Room == room {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", room, err)
	}
	return out, nil
}

// StateEventIDs lists the events that make up a room's state (its create
// event, every membership change, its kept name, topic, avatar, powers
// and pin changes, its encryption), so a joiner can decide authorisation
// without the whole history.
func (n *Node) StateEventIDs(room RoomID) []EventID {
	var orders []OrderKey
	ok := n.withRoom(room, func(s *RoomState) {
		orders = append(orders, s.CreateOrder)
		if s.MetaOrder != nil {
			orders = append(orders, s.MetaOrder)
		}
		// Every kept name, topic, avatar, powers and pin change: a
		// joiner judges later events against them, and judges them again
		// when an earlier event arrives late (revalidate.go).
		for _, c := range s.Updates {
			orders = append(orders, c.Order)
		}
		for _, c := range s.PowersLog {
			orders = append(orders, c.Order)
		}
		for _, c := range s.Pins {
			orders = append(orders, c.Order)
		}
		if s.EncryptionOrder != nil {
			orders = append(orders, s.EncryptionOrder)
		}
		for _, h := range s.History {
			for _, c := range h {
				orders = append(orders, c.Order)
			}
		}
	})
	if !ok {
		return nil
	}
	// Room order, so that a receiver applies them as the origin did.
	slices.SortFunc(orders, func(a, b OrderKey) int { return bytes.Compare(a, b) })
	seen := map[EventID]bool{}
	out := make([]EventID, 0, len(orders))
	for _, o := range orders {
		if id := IDFromOrder(o); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// RoomDigest summarises the events of a room after order key from: their
// count and the XOR of their IDs' SHA-256, so two nodes holding the same
// set agree whatever order the events arrived in.
func (n *Node) RoomDigest(ctx context.Context, room RoomID, from OrderKey) (count int, sum [32]byte, err error) {
	err = n.store.View(ctx, func(tx Tx) error {
		return tx.EachEventAfter(room, from, func(id EventID, _ OrderKey) bool {
			h := sha256.Sum256([]byte(id))
			for i := range sum {
				sum[i] ^= h[i]
			}
			count++
			return true
		})
	})
	if err != nil {
		return 0, sum, fmt.Errorf("digest of %s: %w", room, err)
	}
	return count, sum, nil
}

// SyncFloor is where history sync starts for a room: nil when this node
// holds the room's whole history, else the order key of the oldest
// message held (a windowed join holds state events before it, and older
// messages are backfilled on demand).
func (n *Node) SyncFloor(ctx context.Context, room RoomID) (OrderKey, error) {
	s, ok := n.RoomState(room)
	if !ok || s.Complete {
		return nil, nil
	}
	var floor OrderKey
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachEventAfter(room, nil, func(id EventID, o OrderKey) bool {
			if _, err := tx.Message(id); err == nil {
				floor = bytes.Clone(o)
				return false
			}
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sync floor of %s: %w", room, err)
	}
	if floor == nil {
		// Nothing but state held: sync from the newest state event.
		ids := n.StateEventIDs(room)
		_ = n.store.View(ctx, func(tx Tx) error {
			for _, id := range ids {
				if e, err := tx.Event(id); err == nil && bytes.Compare(e.Order(), floor) > 0 {
					floor = e.Order()
				}
			}
			return nil
		})
	}
	return floor, nil
}

// SetHistoryComplete records whether this node holds a room's whole
// history: federation clears it after a windowed join and sets it again
// once backfill reaches the room's start.
func (n *Node) SetHistoryComplete(ctx context.Context, room RoomID, complete bool) error {
	r := n.room(room, false)
	if r == nil {
		return errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Complete == complete {
		return nil
	}
	r.state.Complete = complete
	if err := n.store.Update(ctx, func(tx Tx) error { return tx.PutRoomState(r.state) }); err != nil {
		r.state.Complete = !complete
		return fmt.Errorf("set history complete %s: %w", room, err)
	}
	return nil
}

// RoomNodes lists the nodes with a joined member or an invitee in a room,
// sorted.
func (n *Node) RoomNodes(room RoomID) []NodeID {
	var out []NodeID
	n.withRoomEntry(room, func(r *roomEntry) { out = slices.Clone(r.nodesLocked()) })
	return out
}

// RoomVisibility returns a held room's visibility without copying its
// state (the publish path asks for every event).
func (n *Node) RoomVisibility(room RoomID) (string, bool) {
	var vis string
	ok := n.withRoom(room, func(s *RoomState) { vis = s.Visibility })
	return vis, ok
}

// withRoom runs fn on a created room's state under the room's lock; fn
// must not keep s or block.
func (n *Node) withRoom(id RoomID, fn func(s *RoomState)) bool {
	r := n.room(id, false)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.state.Created() {
		return false
	}
	fn(r.state)
	return true
}

// LocalUsers lists up to limit users who live on this node.
func (n *Node) LocalUsers(ctx context.Context, limit int) ([]UserID, error) {
	var out []UserID
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachProfile(func(u *User) bool {
			if n.IsLocal(u.ID) {
				out = append(out, u.ID)
			}
			return len(out) < limit
		})
	})
	return out, err
}

// digestBytes is a compact fixed encoding of a digest for the wire.
func digestBytes(count int, sum [32]byte) []byte {
	b := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(b, uint64(count))
	return append(b, sum[:]...)
}

// RoomDigestBytes is RoomDigest in its wire form (8-byte count, 32-byte sum).
func (n *Node) RoomDigestBytes(ctx context.Context, room RoomID, from OrderKey) ([]byte, error) {
	c, s, err := n.RoomDigest(ctx, room, from)
	if err != nil {
		return nil, err
	}
	return digestBytes(c, s), nil
}

// Backfiller is implemented by a Federation that can fetch a room's older
// history for windowed joins.
type Backfiller interface {
	// Backfill fetches up to limit events of a room older than before
	// and reports whether the room's start was reached.
	Backfill(ctx context.Context, room RoomID, before OrderKey, limit int) (complete bool, err error)
}

// backfill asks the federation for history older than what this node
// holds of an incomplete room. fetched reports whether it got any.
func (n *Node) backfill(ctx context.Context, room RoomID, limit int) (fetched, complete bool) {
	b, ok := n.federation().(Backfiller)
	if !ok {
		return false, false
	}
	if s, ok := n.RoomState(room); !ok || s.Complete {
		return false, false
	}
	floor, err := n.SyncFloor(ctx, room)
	if err != nil {
		return false, false
	}
	complete, err = b.Backfill(ctx, room, floor, limit)
	if err != nil {
		n.log.Debug("backfill", "room", room, "err", err)
		return false, false
	}
	return true, complete
}

// historyPage reads a page of a room's messages again after a backfill.
func (n *Node) historyPage(ctx context.Context, room RoomID, u UserID, before EventID, limit int) (msgs []*Message, more bool, err error) {
	err = n.store.View(ctx, func(tx Tx) error {
		var from OrderKey
		if before != "" {
			o, err := orderOf(tx, room, before)
			if err != nil {
				return err
			}
			from = o
		}
		if msgs, more, err = tx.Messages(room, from, limit); err != nil {
			return err
		}
		return markMine(tx, msgs, u)
	})
	return msgs, more, err
}

// HistoryComplete reports whether this node holds a room's whole history.
func (n *Node) HistoryComplete(room RoomID) bool {
	complete := false
	n.withRoom(room, func(s *RoomState) { complete = s.Complete })
	return complete
}
