package node

import (
	"context"
	"slices"
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
	typers    map[RoomID]int // entries of typing per room
	delivered map[typingKey]*deliveredState
	// watchers and watching are the presence subscriptions of local
	// users to members of large rooms (watchPresence): watched user →
	// watching local users, and local user → watched users, oldest first.
	watchers map[UserID]map[UserID]struct{}
	watching map[UserID][]UserID
	closed   bool
}

// maxWatched bounds the users whose presence one local user follows
// through member pages of large rooms; the oldest are dropped first.
const maxWatched = 500

// maxLargeRoomTypers bounds the typing indicators shown at once in a room
// of more than MaxListedMembers members: past it a client shows "several
// people are typing", so more would cost every member frames that say
// nothing new.
const maxLargeRoomTypers = 3

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
		typing: map[typingKey]*time.Timer{}, typers: map[RoomID]int{}, delivered: map[typingKey]*deliveredState{},
		watchers: map[UserID]map[UserID]struct{}{}, watching: map[UserID][]UserID{},
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
		p.unwatchLocked(u)
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

// announcePresence tells the local users who see u: those who share a
// room of at most MaxListedMembers members with u (its member list is
// whole, so clients show every member), and those who listed u in a page
// of a larger room's members (watchPresence). A presence change thus costs
// what clients show, not the size of the rooms u is in.
func (n *Node) announcePresence(u UserID, state string, lastSeen int64) {
	to := n.roommates(u)
	if len(to) == 0 {
		return
	}
	n.notify.Notify(to, &Notification{Kind: NotePresence, User: u, Presence: state, LastSeen: lastSeen})
}

// roommates lists the local users who see u's presence (u included when
// local, so their other tabs see their own presence). It visits u's rooms
// only, through the node's index, and reads their member lists without
// the rooms' locks.
func (n *Node) roommates(u UserID) []UserID {
	n.mu.RLock()
	entries := make([]*roomEntry, 0, len(n.joinedRooms[u]))
	for id := range n.joinedRooms[u] {
		if r := n.rooms[id]; r != nil {
			entries = append(entries, r)
		}
	}
	n.mu.RUnlock()
	seen := map[UserID]struct{}{}
	var out []UserID
	add := func(m UserID) {
		if _, ok := seen[m]; !ok {
			seen[m] = struct{}{}
			out = append(out, m)
		}
	}
	if n.IsLocal(u) {
		add(u)
	}
	for _, r := range entries {
		if idx := r.index(); idx.count <= MaxListedMembers {
			for _, m := range idx.local {
				add(m)
			}
		}
	}
	p := n.presence
	p.mu.Lock()
	for w := range p.watchers[u] {
		add(w)
	}
	p.mu.Unlock()
	return out
}

// watchPresence subscribes local user w to the presence of users (the
// members of a large room that w's client listed), until w's last
// connection closes; at most maxWatched users, the oldest dropped first.
func (n *Node) watchPresence(w UserID, users []UserID) {
	p := n.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range users {
		if u == w {
			continue
		}
		if _, ok := p.watchers[u][w]; ok {
			continue
		}
		set := p.watchers[u]
		if set == nil {
			set = map[UserID]struct{}{}
			p.watchers[u] = set
		}
		set[w] = struct{}{}
		p.watching[w] = append(p.watching[w], u)
	}
	list := p.watching[w]
	if drop := len(list) - maxWatched; drop > 0 {
		for _, u := range list[:drop] {
			p.unwatchOneLocked(w, u)
		}
		p.watching[w] = slices.Clone(list[drop:])
	}
}

// unwatchLocked drops every presence subscription of w. p.mu is held.
func (p *presence) unwatchLocked(w UserID) {
	for _, u := range p.watching[w] {
		p.unwatchOneLocked(w, u)
	}
	delete(p.watching, w)
}

func (p *presence) unwatchOneLocked(w, u UserID) {
	if set := p.watchers[u]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(p.watchers, u)
		}
	}
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
	large := false
	if r := n.room(room, false); r != nil {
		large = r.index().count > MaxListedMembers
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	t, was := p.typing[k]
	if was {
		t.Stop()
		p.dropTypingLocked(k)
	}
	if typing && !was && large && p.typers[room] >= maxLargeRoomTypers {
		// Enough indicators are shown in this room already.
		p.mu.Unlock()
		return
	}
	if typing {
		p.typers[room]++
		p.typing[k] = time.AfterFunc(n.cfg.TypingTimeout, func() {
			p.mu.Lock()
			cur, ok := p.typing[k]
			if ok && cur != nil {
				p.dropTypingLocked(k)
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

// dropTypingLocked removes a typing entry. p.mu is held.
func (p *presence) dropTypingLocked(k typingKey) {
	delete(p.typing, k)
	if p.typers[k.room]--; p.typers[k.room] <= 0 {
		delete(p.typers, k.room)
	}
}

func (n *Node) sendTyping(room RoomID, u UserID, typing bool) {
	r := n.room(room, false)
	if r == nil {
		return
	}
	to := removeUser(r.localMembers(), u)
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
