package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Private rooms' keys (docs/protocol.md §6.1). The node owns them: which
// epochs exist, which one is current, when a new one is needed and which
// node makes it. Federation only seals and opens gossip with the key the
// node hands it in a Delivery (and, for envelopes it receives, RoomKey).
//
// A key travels in a room.key event, sealed for each room node (a node
// hosting a joined member or an invitee). Applying such an event indexes
// it in the store by room and epoch (Tx.PutRoomKeyRef), so that the
// current key is one index read, never a walk through the room's history.
// Of two room.key events for the same epoch the earlier in room order
// wins, on every node, whatever order they arrived in.
//
// The current key is the highest epoch, usable when it was sealed for
// exactly the room's nodes now and this node can open it. When it is not
// (a node gained its first member or invitee, or lost its last), the
// rotator, the smallest node ID among the nodes with a joined member,
// makes a new key with the next epoch and sends it from one of its joined
// users. A room whose only node is this one needs no key: there is no one
// to share gossip with.

// RoomKey is one epoch of a private room's key, opened: what federation
// seals the room's gossip with. Key is 32 bytes; callers do not change it.
type RoomKey struct {
	Room  RoomID
	Epoch uint32
	Key   []byte
}

// RoomKeyRef is the store's index entry for one epoch of a private room's
// key: the room.key event that carries it, that event's place in room
// order (which settles two events for one epoch) and the nodes it was
// sealed for, sorted. The key itself stays sealed in the event.
type RoomKeyRef struct {
	Room  RoomID   `json:"room"`
	Epoch uint32   `json:"epoch"`
	Event EventID  `json:"event"`
	Order OrderKey `json:"o"`
	Nodes []NodeID `json:"nodes"`
}

// roomKeys caches what the node knows of one room's keys; guarded by the
// room's mutex.
type roomKeys struct {
	loaded bool
	latest *RoomKeyRef       // highest epoch indexed; nil when none
	open   map[uint32][]byte // opened keys by epoch; nil value: not ours to open
}

// RoomKeyRefOf reads the index entry that a room.key event makes. It is
// exported for the store's migration, which builds the index of a
// database written before there was one.
func RoomKeyRefOf(e *Event) (*RoomKeyRef, error) {
	c, err := decodeContent[RoomKeyContent](e)
	if err != nil {
		return nil, err
	}
	if c.Epoch == 0 || len(c.Keys) == 0 {
		return nil, errorf(ErrInvalid, "room key needs an epoch and keys")
	}
	ref := &RoomKeyRef{Room: e.Room, Epoch: c.Epoch, Event: e.ID, Order: e.Order()}
	for n := range c.Keys {
		ref.Nodes = append(ref.Nodes, n)
	}
	slices.Sort(ref.Nodes)
	return ref, nil
}

// Wins reports whether ref should replace old as the index entry of their
// epoch: the earlier event in room order wins.
func (ref *RoomKeyRef) Wins(old *RoomKeyRef) bool {
	return old == nil || bytes.Compare(ref.Order, old.Order) < 0
}

// indexRoomKey indexes a room.key event being applied in tx. It returns
// the entry when it became its epoch's, nil when an earlier event holds
// the epoch or the content names no usable epoch (stored, not indexed).
func indexRoomKey(tx Tx, e *Event) (*RoomKeyRef, error) {
	ref, err := RoomKeyRefOf(e)
	if err != nil {
		return nil, nil
	}
	old, err := tx.RoomKeyRef(ref.Room, ref.Epoch)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if !ref.Wins(old) {
		return nil, nil
	}
	return ref, tx.PutRoomKeyRef(ref)
}

// learnKeyLocked updates the cache after ref was indexed. r.mu is held.
func (r *roomEntry) learnKeyLocked(ref *RoomKeyRef) {
	k := &r.keys
	delete(k.open, ref.Epoch)
	if k.loaded && (k.latest == nil || ref.Epoch >= k.latest.Epoch) {
		k.latest = ref
	}
}

// latestKeyLocked returns the room's highest indexed epoch (nil when
// none), reading the index once per process. r.mu is held.
func (n *Node) latestKeyLocked(ctx context.Context, r *roomEntry) (*RoomKeyRef, error) {
	if r.keys.loaded {
		return r.keys.latest, nil
	}
	var ref *RoomKeyRef
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		ref, err = tx.LatestRoomKeyRef(r.state.ID)
		if errors.Is(err, ErrNotFound) {
			ref, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("room key of %s: %w", r.state.ID, err)
	}
	r.keys.loaded, r.keys.latest = true, ref
	return ref, nil
}

// openKeyLocked returns the key of an indexed epoch, opened from its
// event, or nil when it was not sealed for this node or does not open.
// r.mu is held.
func (n *Node) openKeyLocked(ctx context.Context, r *roomEntry, ref *RoomKeyRef) []byte {
	if k, ok := r.keys.open[ref.Epoch]; ok {
		return k
	}
	var key []byte
	if _, ok := slices.BinarySearch(ref.Nodes, n.ID()); ok {
		var e *Event
		err := n.store.View(ctx, func(tx Tx) error {
			var err error
			e, err = tx.Event(ref.Event)
			return err
		})
		if err != nil {
			n.log.Debug("read room key event", "room", ref.Room, "epoch", ref.Epoch, "err", err)
			return nil // not cached: the read may succeed later
		}
		if c, err := decodeContent[RoomKeyContent](e); err == nil {
			key, err = openRoomKey(n.cfg.Key, n.ID(), e.Origin, ref.Room, ref.Epoch, c.Keys[n.ID()])
			if err != nil {
				n.log.Debug("room key does not open", "room", ref.Room, "epoch", ref.Epoch, "err", err)
			}
		}
	}
	if r.keys.open == nil {
		r.keys.open = map[uint32][]byte{}
	}
	r.keys.open[ref.Epoch] = key
	return key
}

// currentKeyLocked returns the key to seal the room's gossip with now, or
// nil when there is none usable. r.mu is held.
func (n *Node) currentKeyLocked(ctx context.Context, r *roomEntry) *RoomKey {
	latest, err := n.latestKeyLocked(ctx, r)
	if err != nil || latest == nil || !slices.Equal(latest.Nodes, r.nodesLocked()) {
		return nil
	}
	if k := n.openKeyLocked(ctx, r, latest); k != nil {
		return &RoomKey{Room: latest.Room, Epoch: latest.Epoch, Key: k}
	}
	return nil
}

// KeyRotator returns the node that makes a private room's next key: the
// smallest node ID among the nodes with a joined member. ok is false when
// no node has one.
func KeyRotator(s *RoomState) (NodeID, bool) {
	joined := s.MemberNodes()
	if len(joined) == 0 {
		return "", false
	}
	return joined[0], true
}

// rotateKeyLocked makes a new room key when the room's current one is not
// usable and this node is the rotator, and applies it as a room.key event
// sent by the first local joined member. It does not wait for the disk;
// the event is published once durable, like any local event. r.mu is
// held.
func (n *Node) rotateKeyLocked(ctx context.Context, r *roomEntry) {
	s := r.state
	if !s.Created() || s.Visibility == Public {
		return
	}
	if nodes := r.nodesLocked(); len(nodes) < 2 || n.currentKeyLocked(ctx, r) != nil {
		return
	}
	if rot, ok := KeyRotator(s); !ok || rot != n.ID() {
		return
	}
	latest, err := n.latestKeyLocked(ctx, r)
	if err != nil {
		n.log.Warn("rotate room key", "room", s.ID, "err", err)
		return
	}
	epoch := uint32(1)
	if latest != nil {
		if latest.Epoch == math.MaxUint32 {
			n.log.Warn("room key epochs exhausted", "room", s.ID)
			return
		}
		epoch = latest.Epoch + 1
	}
	e, err := n.newRoomKeyEvent(r, r.nodesLocked(), epoch)
	if err != nil {
		n.log.Warn("rotate room key", "room", s.ID, "err", err)
		return
	}
	_, err = n.emitLocked(ctx, r, e, func(_ *result, err error) {
		if err != nil {
			n.log.Warn("room key not durable", "room", s.ID, "epoch", epoch, "err", err)
		}
	})
	if err != nil {
		n.log.Warn("rotate room key", "room", s.ID, "epoch", epoch, "err", err)
		return
	}
	n.log.Debug("room key rotated", "room", s.ID, "epoch", epoch, "nodes", len(r.nodesLocked()))
}

// newRoomKeyEvent makes a random key and the unsigned room.key event that
// seals it for nodes.
func (n *Node) newRoomKeyEvent(r *roomEntry, nodes []NodeID, epoch uint32) (*Event, error) {
	s := r.state
	members := r.localMembers()
	if len(members) == 0 {
		return nil, errorf(ErrForbidden, "no local member in this room")
	}
	key := make([]byte, roomKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("room key: %w", err)
	}
	c := RoomKeyContent{Epoch: epoch, Keys: make(map[NodeID][]byte, len(nodes))}
	for _, to := range nodes {
		sealed, err := sealRoomKey(n.cfg.Key, key, to, s.ID, epoch)
		if err != nil {
			return nil, err
		}
		c.Keys[to] = sealed
	}
	return newEvent(EventRoomKey, s.ID, members[0], c)
}

// RoomKey returns the key of one epoch of a private room, for federation
// to open a sealed envelope with; ok is false when this node does not
// hold that epoch or it was not sealed for this node.
func (n *Node) RoomKey(ctx context.Context, room RoomID, epoch uint32) (key []byte, ok bool) {
	r := n.room(room, false)
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := r.keys.latest
	if ref == nil || ref.Epoch != epoch {
		err := n.store.View(ctx, func(tx Tx) error {
			var err error
			ref, err = tx.RoomKeyRef(room, epoch)
			return err
		})
		if err != nil {
			return nil, false
		}
	}
	key = n.openKeyLocked(ctx, r, ref)
	return key, key != nil
}

// RoomKeyEpoch reports the newest epoch of a private room's key that this
// node can open.
func (n *Node) RoomKeyEpoch(ctx context.Context, room RoomID) (uint32, bool) {
	r := n.room(room, false)
	if r == nil {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	latest, err := n.latestKeyLocked(ctx, r)
	if err != nil || latest == nil || n.openKeyLocked(ctx, r, latest) == nil {
		return 0, false
	}
	return latest.Epoch, true
}
