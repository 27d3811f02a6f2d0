package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Room name and topic limits, in bytes.
const (
	MaxRoomNameLen  = 100
	MaxRoomTopicLen = 1000
)

func jsonContent(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode content: %w", err)
	}
	return b, nil
}

// newEvent builds an unsigned event of a local user. The event keeps the
// content it was encoded from, so that applying it here does not decode
// what was just encoded (decodeContent), and so that Seal knows the
// encoding is json.Marshal's own.
func newEvent[T any](t EventType, room RoomID, sender UserID, content T) (*Event, error) {
	c, err := jsonContent(content)
	if err != nil {
		return nil, err
	}
	e := &Event{Type: t, Room: room, Sender: sender, Content: c, parsed: &content}
	if m, ok := any(&content).(*MessageContent); ok && len(m.Attachments) > 0 {
		// Attachments are raw JSON that encoding compacts: what other
		// nodes decode is the encoded form, so decode it here too.
		e.parsed = nil
	}
	return e, nil
}

// CreateRoom creates a group room owned by u, not end-to-end encrypted.
func (n *Node) CreateRoom(ctx context.Context, u UserID, name, topic, visibility string) (*Room, error) {
	return n.CreateRoomWith(ctx, u, name, topic, visibility, RoomOptions{})
}

// CreateRoomWith creates a group room owned by u with options.
func (n *Node) CreateRoomWith(ctx context.Context, u UserID, name, topic, visibility string, o RoomOptions) (*Room, error) {
	name, topic = strings.TrimSpace(name), strings.TrimSpace(topic)
	switch {
	case name == "":
		return nil, errorf(ErrInvalid, "room name is required")
	case len(name) > MaxRoomNameLen || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\n\r"):
		return nil, errorf(ErrInvalid, fmt.Sprintf("room name must be at most %d bytes on one line", MaxRoomNameLen))
	case len(topic) > MaxRoomTopicLen || !utf8.ValidString(topic) || strings.ContainsRune(topic, 0):
		return nil, errorf(ErrInvalid, fmt.Sprintf("room topic must be at most %d bytes", MaxRoomTopicLen))
	case visibility != Public && visibility != Private:
		return nil, errorf(ErrInvalid, `visibility must be "public" or "private"`)
	}
	release, err := n.reserveRoom(u, true)
	if err != nil {
		return nil, err
	}
	r := n.room(newGroupRoomID(), true)
	r.mu.Lock()
	res, err := n.emitNew(ctx, r, EventCreate, u, CreateContent{Name: name, Topic: topic, Kind: KindGroup, Visibility: visibility, Encrypted: o.Encrypted})
	release(err == nil)
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	return n.viewFor(ctx, res.room, u), nil
}

// DM returns the direct-message room of u and other, creating it if
// needed (not end-to-end encrypted).
func (n *Node) DM(ctx context.Context, u, other UserID) (*Room, error) {
	return n.DMWith(ctx, u, other, RoomOptions{})
}

// DMWith is DM with options. Asking for encryption of an existing DM that
// is not encrypted turns its encryption on.
func (n *Node) DMWith(ctx context.Context, u, other UserID, o RoomOptions) (*Room, error) {
	if _, _, ok := other.Split(); !ok {
		return nil, errorf(ErrInvalid, "bad user id")
	}
	if other == u {
		return nil, errorf(ErrInvalid, "a direct message needs another user")
	}
	if !n.NodeAllowed(other.Node()) {
		return nil, errUserNodeRefused
	}
	if n.roomClosed(DMRoomID(u, other)) {
		return nil, errRoomClosed
	}
	if n.IsLocal(other) {
		if _, err := n.User(ctx, other); err != nil {
			return nil, err
		}
	}
	id := DMRoomID(u, other)
	r := n.room(id, true)
	r.mu.Lock()
	if r.state.Created() {
		if r.state.IsMember(u) {
			if o.Encrypted && !r.state.Encrypted {
				r.mu.Unlock()
				return n.EnableEncryption(ctx, u, id)
			}
			view := r.state.View(u)
			r.mu.Unlock()
			return n.viewFor(ctx, view, u), nil
		}
		// u left earlier; joining again reopens the conversation.
		if err := churnLocked(r.state, u); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		release, err := n.reserveRoom(u, false)
		if err != nil {
			r.mu.Unlock()
			return nil, err
		}
		res, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: u, Membership: MemberJoin})
		release(err == nil)
		if err != nil {
			return nil, fmt.Errorf("dm: %w", err)
		}
		return n.viewFor(ctx, res.room, u), nil
	}
	// A DM counts against its creator's rooms: the other user may be
	// anyone on any node, real or not.
	release, err := n.reserveRoom(u, true)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	if err := n.inviteRoom(other); err != nil {
		release(false)
		r.mu.Unlock()
		return nil, err
	}
	members := []UserID{u, other}
	slices.Sort(members)
	res, err := n.emitNew(ctx, r, EventCreate, u, CreateContent{Kind: KindDM, Visibility: Private, Members: members, Encrypted: o.Encrypted})
	release(err == nil)
	if err != nil {
		return nil, fmt.Errorf("dm: %w", err)
	}
	return n.viewFor(ctx, res.room, u), nil
}

// visibleRoom returns the room entry if u may see it: public rooms and
// rooms where u is joined or invited. A private room answers others with
// ErrForbidden ("members only", API.md): its ID is unguessable, so whoever
// names it learns nothing from the difference.
func (n *Node) visibleRoom(id RoomID, u UserID) (*roomEntry, error) {
	r := n.room(id, false)
	if r == nil {
		return nil, errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state
	if !s.Created() {
		return nil, errorf(ErrNotFound, "no such room")
	}
	if s.Visibility != Public {
		if st, _ := s.At(u, nil); st != MemberJoin && st != MemberInvite {
			return nil, errorf(ErrForbidden, "this room is private: members only")
		}
	}
	return r, nil
}

// Room returns one room as u sees it.
func (n *Node) Room(ctx context.Context, u UserID, id RoomID) (*Room, error) {
	r, err := n.visibleRoom(id, u)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	view := r.state.View(u)
	r.mu.Unlock()
	return n.viewFor(ctx, view, u), nil
}

// viewFor completes a room view for u. A joined member gets the last
// message and their unread count. Anyone else (an invitee, a visitor of a
// public room) gets no message content and sees only their own invite:
// an invite is an offer to read, not a key.
func (n *Node) viewFor(ctx context.Context, view *Room, u UserID) *Room {
	if view == nil {
		return nil
	}
	if !isMember(view, u) {
		redact(view, u)
		return view
	}
	count, mentions := 0, 0
	_ = n.store.View(ctx, func(tx Tx) error {
		var from OrderKey
		if rc, err := tx.Receipt(view.ID, u); err == nil {
			from = rc.Order
		}
		c, err := tx.CountMessagesAfter(view.ID, from, u, maxUnreadCount)
		if err != nil {
			return err
		}
		count = c
		if mentions, err = tx.CountMentionsAfter(view.ID, u, from, maxUnreadCount); err != nil {
			return err
		}
		last, _, err := tx.Messages(view.ID, nil, 1)
		if err != nil || len(last) == 0 {
			return err
		}
		view.LastMessage = last[0]
		return markMine(tx, last, u)
	})
	view.Unread, view.Mentions = &count, &mentions
	return view
}

// maxUnreadCount bounds the messages counted for an unread count: a
// client shows "999+" past it, and the count of a long-unread room costs
// no more than this many index entries.
const maxUnreadCount = 999

// isMember reports whether u is among a view's members (a view built for
// u lists u when u is joined, whatever the room's size).
func isMember(view *Room, u UserID) bool { return slices.Contains(view.Members, u) }

// redact strips what a non-member must not see from a room view: message
// content, the unread count and other users' invites.
func redact(view *Room, u UserID) {
	view.LastMessage, view.Unread, view.Mentions = nil, nil, nil
	if slices.Contains(view.Invited, u) {
		view.Invited = []UserID{u}
	} else {
		view.Invited = nil
	}
}

// Rooms lists u's joined rooms, most recent activity first. Rooms u is
// invited to come too (without unread counts) so a client can accept.
func (n *Node) Rooms(ctx context.Context, u UserID) ([]*Room, error) {
	n.mu.RLock()
	var entries []*roomEntry
	for id := range n.userRooms[u] {
		entries = append(entries, n.rooms[id])
	}
	n.mu.RUnlock()
	type item struct {
		view *Room
		act  int64
	}
	items := make([]item, 0, len(entries))
	for _, r := range entries {
		r.mu.Lock()
		st, _ := r.state.At(u, nil)
		if st == MemberJoin || st == MemberInvite {
			items = append(items, item{r.state.View(u), r.state.LastActivity})
		}
		r.mu.Unlock()
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.act != b.act {
			if a.act > b.act {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.view.ID), string(b.view.ID))
	})
	out := make([]*Room, len(items))
	for i, it := range items {
		out[i] = n.viewFor(ctx, it.view, u)
	}
	return out, nil
}

func (n *Node) roomCreated(id RoomID) bool {
	r := n.room(id, false)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Created()
}

// Join makes u a member of a public room, or of a private room u is
// invited to. A room not held here is fetched from the federation first.
func (n *Node) Join(ctx context.Context, u UserID, id RoomID) (*Room, error) {
	if !ValidOpaqueID(string(id)) {
		return nil, errorf(ErrNotFound, "no such room")
	}
	if n.roomClosed(id) {
		return nil, errRoomClosed
	}
	if !n.roomCreated(id) {
		if err := n.fetchRoom(ctx, id); err != nil {
			return nil, err
		}
	}
	r := n.room(id, false)
	if r == nil {
		return nil, errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	s := r.state
	st, _ := s.At(u, nil)
	switch {
	case !s.Created():
		r.mu.Unlock()
		return nil, errorf(ErrNotFound, "no such room")
	case st == MemberJoin:
		view := s.View(u)
		r.mu.Unlock()
		return n.viewFor(ctx, view, u), nil
	case st == MemberBan:
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "banned from this room")
	case s.Visibility != Public && st != MemberInvite:
		if s.Kind == KindDM {
			if _, ok := s.dmMember(u); ok {
				break
			}
		}
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "this room is private: an invite is needed")
	}
	if err := churnLocked(s, u); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	release, err := n.reserveRoom(u, false)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	if st == MemberInvite {
		release(false) // an invited room already counts
		release = func(bool) {}
	}
	res, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: u, Membership: MemberJoin})
	release(err == nil)
	if err != nil {
		return nil, fmt.Errorf("join room: %w", err)
	}
	return n.viewFor(ctx, res.room, u), nil
}

// Leave ends u's membership (or declines an invite).
func (n *Node) Leave(ctx context.Context, u UserID, id RoomID) error {
	r, err := n.visibleRoom(id, u)
	if err != nil {
		return err
	}
	r.mu.Lock()
	st, _ := r.state.At(u, nil)
	if st != MemberJoin && st != MemberInvite {
		r.mu.Unlock()
		return errorf(ErrForbidden, "not a member of this room")
	}
	if err := n.handOverLocked(ctx, r, u); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("leave room: %w", err)
	}
	if _, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: u, Membership: MemberLeave}); err != nil {
		return fmt.Errorf("leave room: %w", err)
	}
	return nil
}

// Invite invites target (possibly a user of another node) to a room.
func (n *Node) Invite(ctx context.Context, u UserID, id RoomID, target UserID) error {
	if _, _, ok := target.Split(); !ok {
		return errorf(ErrInvalid, "bad user id")
	}
	if !n.NodeAllowed(target.Node()) {
		return errUserNodeRefused
	}
	if n.IsLocal(target) {
		if _, err := n.User(ctx, target); err != nil {
			return err
		}
	}
	r, err := n.visibleRoom(id, u)
	if err != nil {
		return err
	}
	r.mu.Lock()
	s := r.state
	if !s.IsMember(u) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "only members may invite")
	}
	if s.Kind != KindDM && !s.May(u, PowerInvite, nil) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "only "+plural(s.powersAt(nil).Level(PowerInvite))+" may invite to this room")
	}
	if s.Kind == KindDM {
		r.mu.Unlock()
		return errorf(ErrForbidden, "direct message rooms have exactly two members")
	}
	switch st, _ := s.At(target, nil); st {
	case MemberJoin, MemberInvite:
		r.mu.Unlock()
		return nil // already there or already invited: nothing to do
	case MemberBan:
		r.mu.Unlock()
		return errorf(ErrForbidden, "user is banned from this room")
	}
	if err := n.inviteRoom(target); err != nil {
		r.mu.Unlock()
		return err
	}
	if err := churnLocked(s, target); err != nil {
		r.mu.Unlock()
		return err
	}
	if _, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: target, Membership: MemberInvite}); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	return nil
}

// Member page limits of GET /rooms/{id}/members.
const (
	DefaultMembersLimit = MaxListedMembers
	MaxMembersLimit     = 1000
)

// Members lists up to limit of a room's joined members whose IDs sort
// after after ("" for the first page; 0 for DefaultMembersLimit), with
// presence, and whether more follow. Listing members of a large room also
// subscribes u to their presence (see watchPresence): those are the
// members u's client shows.
func (n *Node) Members(ctx context.Context, u UserID, id RoomID, after UserID, limit int) ([]*User, bool, error) {
	if limit == 0 {
		limit = DefaultMembersLimit
	}
	if limit < 1 || limit > MaxMembersLimit {
		return nil, false, errorf(ErrInvalid, fmt.Sprintf("limit must be 1 to %d", MaxMembersLimit))
	}
	r, err := n.visibleRoom(id, u)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	ids, more := r.state.MembersPage(after, limit)
	count := r.state.MemberCount()
	r.mu.Unlock()
	if count > MaxListedMembers && n.IsLocal(u) {
		n.watchPresence(u, ids)
	}
	out := make([]*User, 0, len(ids))
	err = n.store.View(ctx, func(tx Tx) error {
		for _, id := range ids {
			p, err := tx.Profile(id)
			if errors.Is(err, ErrNotFound) {
				name, node, _ := id.Split()
				p = &User{ID: id, Username: name, DisplayName: name, Node: node}
			} else if err != nil {
				return err
			}
			out = append(out, n.withPresence(p))
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("members: %w", err)
	}
	return out, more, nil
}

// RoomState returns a copy of a room's state for federation, without its
// membership history (RoomState.Snapshot).
func (n *Node) RoomState(id RoomID) (*RoomState, bool) {
	r := n.room(id, false)
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.state.Created() {
		return nil, false
	}
	return r.state.Snapshot(), true
}

// LocalRooms lists the rooms with at least one local member or invitee.
func (n *Node) LocalRooms() []RoomID {
	n.mu.RLock()
	out := make([]RoomID, 0, len(n.localRooms))
	for id := range n.localRooms {
		out = append(out, id)
	}
	n.mu.RUnlock()
	slices.Sort(out)
	return out
}

// HeldRooms lists every room this node holds state for.
func (n *Node) HeldRooms() []RoomID {
	var out []RoomID
	for id, r := range n.roomEntries() {
		if n.roomClosed(id) {
			continue
		}
		r.mu.Lock()
		ok := r.state.Created()
		r.mu.Unlock()
		if ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// roomEntries copies the room table, so callers can lock rooms without
// holding Node.mu (the lock order is room, then Node.mu).
func (n *Node) roomEntries() map[RoomID]*roomEntry {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make(map[RoomID]*roomEntry, len(n.rooms))
	for id, r := range n.rooms {
		out[id] = r
	}
	return out
}

// orderOf returns the order key of message id in room, or nil.
func orderOf(tx Tx, room RoomID, id EventID) (OrderKey, error) {
	m, err := tx.Message(id)
	if err != nil {
		return nil, err
	}
	if m.Room != room {
		return nil, errorf(ErrNotFound, "no such message in this room")
	}
	return m.Order, nil
}
