package node

import (
	"context"
	"sync"
	"time"
)

// Presence values.
const (
	Online  = "online"
	Offline = "offline"
)

// presence tracks local connections per user, remote users' presence from
// federation heartbeats, typing indicators with expiry, and coalesced
// delivered receipts. All of it is ephemeral: nothing here is stored except
// lastSeen.
type presence struct {
	n *Node

	mu        sync.Mutex
	conns     map[UserID]int
	lastSeen  map[UserID]int64
	remote    map[UserID]bool // remote users reported online by their node
	typing    map[typingKey]*time.Timer
	delivered map[typingKey]*deliveredState
	closed    bool
}

type typingKey struct {
	room RoomID
	user UserID
}

type deliveredState struct {
	upTo    EventID
	senders map[UserID]struct{}
	timer   *time.Timer
}

// deliveredCoalesce is how long delivered receipts for one member and
// room are gathered into one.
const deliveredCoalesce = 200 * time.Millisecond

func newPresence(n *Node) *presence {
	return &presence{
		n: n, conns: map[UserID]int{}, lastSeen: map[UserID]int64{}, remote: map[UserID]bool{},
		typing: map[typingKey]*time.Timer{}, delivered: map[typingKey]*deliveredState{},
	}
}

func (p *presence) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, t := range p.typing {
		t.Stop()
	}
	for _, d := range p.delivered {
		d.timer.Stop()
	}
}

// Connect records a new live connection of a local user. The first one
// makes the user online for everyone sharing a room with them.
func (n *Node) Connect(u UserID) {
	p := n.presence
	p.mu.Lock()
	p.conns[u]++
	first := p.conns[u] == 1
	p.mu.Unlock()
	if first {
		n.announcePresence(u, Online, 0)
	}
}

// Disconnect records that a connection closed. The last one makes the user
// offline, with lastSeen now.
func (n *Node) Disconnect(u UserID) {
	p := n.presence
	p.mu.Lock()
	p.conns[u]--
	last := p.conns[u] <= 0
	var seen int64
	if last {
		delete(p.conns, u)
		seen = n.now().UnixMilli()
		p.lastSeen[u] = seen
	}
	p.mu.Unlock()
	if last {
		n.announcePresence(u, Offline, seen)
		_ = n.store.Update(context.Background(), func(tx Tx) error {
			prof, err := tx.Profile(u)
			if err != nil {
				return err
			}
			prof.LastSeen = seen
			return tx.PutProfile(prof)
		})
	}
}

// OnlineUsers lists local users with at least one connection.
func (n *Node) OnlineUsers() []UserID {
	p := n.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]UserID, 0, len(p.conns))
	for u := range p.conns {
		out = append(out, u)
	}
	return out
}

// SetRemotePresence applies a remote node's report of its users. Users of
// that node that are not listed go offline.
func (n *Node) SetRemotePresence(origin NodeID, online []UserID, at int64) {
	p := n.presence
	now := map[UserID]bool{}
	for _, u := range online {
		if u.Node() == origin {
			now[u] = true
		}
	}
	var changed []UserID
	var states []bool
	p.mu.Lock()
	for u, on := range p.remote {
		if u.Node() == origin && on && !now[u] {
			p.remote[u] = false
			p.lastSeen[u] = at
			changed, states = append(changed, u), append(states, false)
		}
	}
	for u := range now {
		if !p.remote[u] {
			p.remote[u] = true
			changed, states = append(changed, u), append(states, true)
		}
	}
	p.mu.Unlock()
	for i, u := range changed {
		if states[i] {
			n.announcePresence(u, Online, 0)
		} else {
			n.announcePresence(u, Offline, at)
		}
	}
}

// Presence returns a user's presence and lastSeen.
func (n *Node) Presence(u UserID) (string, int64) {
	p := n.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[u] > 0 || p.remote[u] {
		return Online, 0
	}
	return Offline, p.lastSeen[u]
}

// announcePresence tells local users who share a room with u.
func (n *Node) announcePresence(u UserID, state string, lastSeen int64) {
	to := n.roommates(u)
	if len(to) == 0 {
		return
	}
	n.notify.Notify(to, &Notification{Kind: NotePresence, User: u, Presence: state, LastSeen: lastSeen})
}

// roommates lists the local users who share a room with u (u included when
// local, so their other tabs see their own presence).
func (n *Node) roommates(u UserID) []UserID {
	n.mu.RLock()
	entries := make([]*roomEntry, 0, len(n.rooms))
	for _, r := range n.rooms {
		entries = append(entries, r)
	}
	n.mu.RUnlock()
	seen := map[UserID]bool{}
	var out []UserID
	if n.IsLocal(u) {
		seen[u] = true
		out = append(out, u)
	}
	for _, r := range entries {
		r.mu.Lock()
		if r.state.IsMember(u) {
			for _, m := range n.localMembers(r.state) {
				if !seen[m] {
					seen[m] = true
					out = append(out, m)
				}
			}
		}
		r.mu.Unlock()
	}
	return out
}

// SetTyping starts or stops a local user's typing indicator in a room.
// Indicators expire after TypingTimeout unless renewed.
func (n *Node) SetTyping(u UserID, room RoomID, typing bool) error {
	r := n.room(room, false)
	if r == nil {
		return errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	member := r.state.IsMember(u)
	r.mu.Unlock()
	if !member {
		return errorf(ErrForbidden, "not a member of this room")
	}
	n.typingChanged(room, u, typing)
	n.federation().Typing(n.typingRoute(room), u, typing)
	return nil
}

// RemoteTyping applies a typing signal from another node.
func (n *Node) RemoteTyping(room RoomID, u UserID, typing bool) {
	r := n.room(room, false)
	if r == nil {
		return
	}
	r.mu.Lock()
	member := r.state.IsMember(u)
	r.mu.Unlock()
	if member {
		n.typingChanged(room, u, typing)
	}
}

func (n *Node) typingChanged(room RoomID, u UserID, typing bool) {
	p := n.presence
	k := typingKey{room, u}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	t, was := p.typing[k]
	if was {
		t.Stop()
		delete(p.typing, k)
	}
	if typing {
		p.typing[k] = time.AfterFunc(n.cfg.TypingTimeout, func() {
			p.mu.Lock()
			cur, ok := p.typing[k]
			if ok && cur != nil {
				delete(p.typing, k)
			}
			p.mu.Unlock()
			if ok {
				n.sendTyping(room, u, false)
			}
		})
	}
	p.mu.Unlock()
	if typing || was {
		n.sendTyping(room, u, typing)
	}
}

func (n *Node) sendTyping(room RoomID, u UserID, typing bool) {
	r := n.room(room, false)
	if r == nil {
		return
	}
	r.mu.Lock()
	to := n.localMembers(r.state)
	r.mu.Unlock()
	to = removeUser(to, u)
	if len(to) > 0 {
		n.notify.Notify(to, &Notification{Kind: NoteTyping, RoomID: room, User: u, Typing: typing})
	}
}

func removeUser(us []UserID, u UserID) []UserID {
	out := us[:0:0]
	for _, x := range us {
		if x != u {
			out = append(out, x)
		}
	}
	return out
}

// Delivered records that message m reached a connection of local user u.
// Receipts are coalesced per member and room (one per 200 ms) and go only
// to the local senders of the messages they cover: the people who wait
// for "delivered". Sending them to every member would make receipts grow
// with the square of the room's size.
func (n *Node) Delivered(u UserID, m *Message) {
	if m.Sender == u || !n.IsLocal(m.Sender) {
		return
	}
	p := n.presence
	k := typingKey{m.Room, u}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if d, ok := p.delivered[k]; ok {
		d.upTo = m.ID
		d.senders[m.Sender] = struct{}{}
		return
	}
	d := &deliveredState{upTo: m.ID, senders: map[UserID]struct{}{m.Sender: {}}}
	d.timer = time.AfterFunc(deliveredCoalesce, func() {
		p.mu.Lock()
		delete(p.delivered, k)
		upTo := d.upTo
		to := make([]UserID, 0, len(d.senders))
		for s := range d.senders {
			to = append(to, s)
		}
		p.mu.Unlock()
		n.notify.Notify(to, &Notification{Kind: NoteReceipt, RoomID: m.Room, User: u, UpTo: upTo, Receipt: "delivered"})
	})
	p.delivered[k] = d
}
