package node

import (
	"context"
	"encoding/json"
	"slices"
)

// The rules federation carries out, decided here so that the transport
// never decides one: where an event goes (Route, Delivery), who may read a
// room's history (ReadableBy), what may travel on gossip in the clear
// (MayGossip), which pushed events are worth ingesting (Wants) and which
// rooms' topics a node follows (GossipRooms).

// Route says how federation reaches the other nodes of a room.
type Route struct {
	Room RoomID
	// Visibility is Public for public rooms, whose events travel on
	// gossip in the clear; anything else travels by push, and on gossip
	// only sealed under Key. Empty for events without a room (profiles).
	Visibility string
	// Nodes are the other nodes to push to directly, sorted: every node
	// hosting a joined member or an invitee and, for a member event, the
	// node of the user it names (an invitee's node learns of its invite,
	// a node that lost its last member of its leave).
	Nodes []NodeID
	// Key is the private room's current key, nil when there is none
	// usable (federation then pushes only, as it does room.key events).
	Key *RoomKey
}

// Delivery is an event with its route: everything federation needs to
// carry it, fixed when the event was applied.
type Delivery struct {
	Route
	Event *Event
}

// nodesLocked lists the nodes hosting a joined member or an invitee of
// the room, sorted, from the room state's per-node counts (kept in step
// with each membership change, so this costs the number of nodes, not of
// members). r.mu is held.
func (r *roomEntry) nodesLocked() []NodeID { return r.state.HostNodes() }

// routeLocked is the route of the room now. r.mu is held.
func (n *Node) routeLocked(ctx context.Context, r *roomEntry, withKey bool) Route {
	rt := Route{Room: r.state.ID, Visibility: r.state.Visibility}
	for _, id := range r.nodesLocked() {
		if id != n.ID() {
			rt.Nodes = append(rt.Nodes, id)
		}
	}
	if withKey && rt.Visibility != Public {
		rt.Key = n.currentKeyLocked(ctx, r)
	}
	return rt
}

// deliveryLocked fixes the route of a local event just applied. r.mu is
// held.
func (n *Node) deliveryLocked(ctx context.Context, r *roomEntry, e *Event) *Delivery {
	// A room.key event is sealed per node already and goes by push only.
	d := &Delivery{Event: e, Route: n.routeLocked(ctx, r, e.Type != EventRoomKey)}
	if e.Type == EventMember {
		if c, err := decodeContent[MemberContent](e); err == nil {
			if to := c.User.Node(); to != n.ID() && !slices.Contains(d.Nodes, to) {
				d.Nodes = append(d.Nodes, to)
				slices.Sort(d.Nodes)
			}
		}
	}
	return d
}

// typingRoute is the route of a typing signal in a room.
func (n *Node) typingRoute(room RoomID) *Route {
	r := n.room(room, false)
	if r == nil {
		return &Route{Room: room}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := n.routeLocked(context.Background(), r, false)
	return &rt
}

// ReadableBy reports whether node reader may read a room's events through
// history sync: any node for a public room, only a node hosting a joined
// member or an invitee for a private room or DM (docs/protocol.md §4
// Access). A room this node does not hold is readable by no one.
func (n *Node) ReadableBy(room RoomID, reader NodeID) bool {
	if !n.NodeAllowed(reader) || n.roomClosed(room) {
		return false
	}
	ok := false
	n.withRoomEntry(room, func(r *roomEntry) {
		_, hosts := slices.BinarySearch(r.nodesLocked(), reader)
		ok = r.state.Visibility == Public || hosts
	})
	return ok
}

// MayGossip reports whether an event may travel on its room's topic in
// the clear: only events of public group rooms. An event of a room this
// node does not hold is judged by its own create or its room ID (DM IDs
// are recognisable).
func (n *Node) MayGossip(e *Event) bool {
	if e.Type == EventCreate {
		c, err := decodeContent[CreateContent](e)
		return err == nil && c.Visibility == Public && c.Kind == KindGroup
	}
	if vis, ok := n.RoomVisibility(e.Room); ok {
		return vis == Public
	}
	return !e.Room.IsDM()
}

// Wants reports whether an event that another node pushed is worth
// ingesting: events of rooms this node holds, profiles, creates (a DM
// opened by a remote user), and member events naming a local user (an
// invite). Anything else would only be held as pending for a room nobody
// here is in, which a hostile peer could use to fill memory.
func (n *Node) Wants(e *Event) bool {
	if !n.NodeAllowed(e.Origin) || e.Room != "" && n.roomClosed(e.Room) {
		return false
	}
	if e.Room == "" || e.Type == EventCreate {
		return true
	}
	if _, ok := n.RoomVisibility(e.Room); ok {
		return true
	}
	if e.Type != EventMember {
		return false
	}
	var c MemberContent
	return json.Unmarshal(e.Content, &c) == nil && n.IsLocal(c.User)
}

// GossipRooms lists the rooms whose topics this node follows: every room
// in which it hosts a joined member or an invitee (a private room's topic
// carries only sealed envelopes), then every other public room it holds,
// each part in ID order.
func (n *Node) GossipRooms() []RoomID {
	local := n.LocalRooms()
	var others []RoomID
	for id, r := range n.roomEntries() {
		if n.roomClosed(id) {
			continue
		}
		r.mu.Lock()
		public := r.state.Created() && r.state.Visibility == Public
		r.mu.Unlock()
		if _, hosts := slices.BinarySearch(local, id); public && !hosts {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	// The rooms this node hosts come first, each part in ID order, so
	// that a host bounding its topics keeps theirs.
	return append(local, others...)
}

// withRoomEntry runs fn on a created room's entry under its lock; fn must
// not block.
func (n *Node) withRoomEntry(id RoomID, fn func(r *roomEntry)) bool {
	r := n.room(id, false)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.state.Created() {
		return false
	}
	fn(r)
	return true
}
