package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
)

// Late events. Authorisation is decided at each event's position in room
// order, but events arrive in any order: a ban can arrive after a message
// its sender posted after the ban, or a demotion after a kick that the
// demoted admin made after it. Whoever applied the later event first must
// take it out again when the earlier one arrives, or nodes would hold
// different rooms. So when a state change lands before events already
// applied, the node judges again, in room order, what follows it:
//
//   - every later state change (membership, role, name, topic, avatar,
//     powers, pin), in memory, from the room state's own logs
//     (RoomState.revalidate); those that no longer pass are taken out of
//     the state and their events deleted from the store;
//   - when the change took rights away (a leave, kick, ban, role change
//     or powers change) or something was taken out, every later message,
//     edit and deletion, read back from the store; a message that no
//     longer passes is deleted, an edit or a deletion that no longer
//     passes is undone by rebuilding its message.
//
// Deleting, not just hiding, keeps the digests of history sync equal on
// nodes that refused the event in the first place. Reactions, read
// markers and room keys are not judged again: a reaction or a read
// marker that raced its sender's ban may stay where it was applied
// (docs/protocol.md §2.4).

// revokedChange is a state change that revalidation took out.
type revokedChange struct {
	order OrderKey
	kind  EventType
	user  UserID // the user whose history held it (member changes)
}

// stateAfter reports whether a state change (other than the create)
// lies after position q.
func (s *RoomState) stateAfter(q OrderKey) bool {
	after := func(o OrderKey) bool { return bytes.Compare(o, q) > 0 }
	for _, h := range s.History {
		if len(h) > 0 && after(h[len(h)-1].Order) {
			return true
		}
	}
	return len(s.Updates) > 0 && after(s.Updates[len(s.Updates)-1].Order) ||
		len(s.PowersLog) > 0 && after(s.PowersLog[len(s.PowersLog)-1].Order) ||
		len(s.Pins) > 0 && after(s.Pins[len(s.Pins)-1].Order)
}

// synthetic rebuilds the event of a state change from what the state
// keeps of it: enough for Authorize, which reads only the type, sender,
// position and content.
func synthetic(room RoomID, t EventType, sender UserID, o OrderKey, content any) *Event {
	e := &Event{Type: t, Room: room, Sender: sender, parsed: content}
	if len(o) >= 12 {
		e.TS = int64(binary.BigEndian.Uint64(o))
		e.LC = binary.BigEndian.Uint32(o[8:])
		e.ID = EventID(o[12:])
	}
	return e
}

// revalidate judges again, in room order, every state change after
// position q against the state that precedes it, and takes out those that
// no longer pass. It returns what it took out and a function that puts
// the state back (for a write that fails). Changes recorded before
// MemberChange.By existed, whose actor is unknown, are left standing.
func (s *RoomState) revalidate(q OrderKey) ([]revokedChange, func()) {
	type entry struct {
		e *Event
		r revokedChange
	}
	var all []entry
	after := func(o OrderKey) bool { return bytes.Compare(o, q) > 0 }
	for u, h := range s.History {
		for _, c := range h {
			if !after(c.Order) || bytes.Equal(c.Order, s.CreateOrder) {
				continue
			}
			sender := u
			if c.By != "" {
				sender = c.By
			} else if c.State == MemberInvite || c.State == MemberKick || c.State == MemberBan || c.State == MemberRole {
				continue // actor unknown: written before By
			}
			mc := &MemberContent{User: u, Membership: c.State, Role: c.Role}
			all = append(all, entry{synthetic(s.ID, EventMember, sender, c.Order, mc), revokedChange{c.Order, EventMember, u}})
		}
	}
	// Name, topic and avatar values are not kept in the log; a
	// placeholder passes the content rules, and only the powers matter.
	placeholder := "x"
	for _, c := range s.Updates {
		if !after(c.Order) || c.By == "" {
			continue
		}
		uc := &RoomUpdateContent{}
		if c.Fields&fieldName != 0 {
			uc.Name = &placeholder
		}
		if c.Fields&fieldTopic != 0 {
			uc.Topic = &placeholder
		}
		if c.Fields&fieldAvatar != 0 {
			uc.Avatar = &placeholder
		}
		all = append(all, entry{synthetic(s.ID, EventUpdate, c.By, c.Order, uc), revokedChange{c.Order, EventUpdate, ""}})
	}
	for _, c := range s.PowersLog {
		if after(c.Order) {
			all = append(all, entry{synthetic(s.ID, EventPowers, c.By, c.Order, &PowersContent{Powers: c.Powers}), revokedChange{c.Order, EventPowers, ""}})
		}
	}
	for _, c := range s.Pins {
		if after(c.Order) {
			all = append(all, entry{synthetic(s.ID, EventPin, c.By, c.Order, &PinContent{Target: c.Target, On: c.On}), revokedChange{c.Order, EventPin, ""}})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return bytes.Compare(a.r.order, b.r.order) })

	// What the undo puts back: the first version of each history and log
	// changed here (takeOut copies, never changing a slice in place).
	oldHist := map[UserID][]MemberChange{}
	oldUpdates, oldPowers, oldPins := s.Updates, s.PowersLog, s.Pins
	var out []revokedChange
	for _, x := range all {
		if s.Authorize(x.e) == nil {
			continue
		}
		if x.r.kind == EventMember {
			if _, ok := oldHist[x.r.user]; !ok {
				oldHist[x.r.user] = s.History[x.r.user]
			}
		}
		s.takeOut(x.r)
		out = append(out, x.r)
	}
	undo := func() {
		for u, h := range oldHist {
			s.setHistory(u, h)
		}
		s.Updates, s.PowersLog, s.Pins = oldUpdates, oldPowers, oldPins
	}
	return out, undo
}

// takeOut removes one state change from the state (not from the store).
func (s *RoomState) takeOut(r revokedChange) {
	is := func(o OrderKey) bool { return bytes.Equal(o, r.order) }
	switch r.kind {
	case EventMember:
		h := s.History[r.user]
		next := make([]MemberChange, 0, len(h))
		for _, c := range h {
			if !is(c.Order) {
				next = append(next, c)
			}
		}
		s.setHistory(r.user, next)
	case EventUpdate:
		s.Updates = slices.DeleteFunc(slices.Clone(s.Updates), func(c UpdateChange) bool { return is(c.Order) })
	case EventPowers:
		s.PowersLog = slices.DeleteFunc(slices.Clone(s.PowersLog), func(c PowersChange) bool { return is(c.Order) })
	case EventPin:
		s.Pins = slices.DeleteFunc(slices.Clone(s.Pins), func(c PinChange) bool { return is(c.Order) })
	}
}

// restricting reports whether applying e may take a right away from
// someone at e's position: a leave, kick, ban or role change (a
// promotion makes its user harder to act on), or a new powers table.
func restricting(e *Event) bool {
	switch e.Type {
	case EventPowers:
		return true
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		return err == nil && c.Membership != MemberJoin && c.Membership != MemberInvite
	}
	return false
}

// revalidation is what judging again after a late state event changed,
// for the caller to persist, announce and, if the write fails, undo.
type revalidation struct {
	changes  []revokedChange
	undo     func()
	users    []UserID   // users whose history changed
	messages []*Message // messages deleted (Deleted set) or rebuilt
	roomWide bool       // a name, topic, avatar, powers, pin or role change went
}

// revalidateLocked judges again what follows e, a state event just
// applied at its position (see the top of this file), within the
// transaction that applies e. r.mu is held.
func (n *Node) revalidateLocked(tx Tx, r *roomEntry, e *Event) (*revalidation, error) {
	s := r.state
	q := e.Order()
	rv := &revalidation{}
	if s.stateAfter(q) {
		rv.changes, rv.undo = s.revalidate(q)
		for _, c := range rv.changes {
			if err := tx.DeleteEvent(s.ID, c.order); err != nil {
				return rv, err
			}
			switch c.kind {
			case EventMember:
				if !slices.Contains(rv.users, c.user) {
					rv.users = append(rv.users, c.user)
				}
				rv.roomWide = true // a role may have changed
			default:
				rv.roomWide = true
			}
			if c.kind == EventUpdate {
				if err := n.resettleFields(tx, s); err != nil {
					return rv, err
				}
			}
		}
		for _, u := range rv.users {
			if err := tx.PutMember(s.ID, u, s.History[u]); err != nil {
				return rv, err
			}
		}
		if len(rv.changes) > 0 {
			if err := tx.PutRoomState(s); err != nil {
				return rv, err
			}
		}
	}
	if !restricting(e) && len(rv.changes) == 0 {
		return rv, nil
	}
	return rv, n.revalidateMessages(tx, s, q, rv)
}

// resettleFields sets the name, topic and avatar again from the newest
// update of each that still stands (reading those events), or from the
// room's creation.
func (n *Node) resettleFields(tx Tx, s *RoomState) error {
	create, err := tx.Event(s.CreateID)
	if err != nil {
		return err
	}
	cc, err := decodeContent[CreateContent](create)
	if err != nil {
		return err
	}
	name, topic, avatar := cc.Name, cc.Topic, ""
	var nameO, topicO, avatarO OrderKey
	for _, c := range s.Updates {
		e, err := tx.Event(IDFromOrder(c.Order))
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		uc, err := decodeContent[RoomUpdateContent](e)
		if err != nil {
			continue
		}
		if uc.Name != nil {
			name, nameO = *uc.Name, c.Order
		}
		if uc.Topic != nil {
			topic, topicO = *uc.Topic, c.Order
		}
		if uc.Avatar != nil {
			avatar, avatarO = *uc.Avatar, c.Order
		}
	}
	s.Name, s.Topic, s.Avatar = name, topic, avatar
	s.NameOrder, s.TopicOrder, s.AvatarOrder = nameO, topicO, avatarO
	return nil
}

// revalidateMessages judges again every message, edit and deletion after
// q, in room order, and takes out those that no longer pass.
func (n *Node) revalidateMessages(tx Tx, s *RoomState, q OrderKey, rv *revalidation) error {
	var ids []EventID
	if err := tx.EachEventAfter(s.ID, q, func(id EventID, _ OrderKey) bool {
		ids = append(ids, id)
		return true
	}); err != nil {
		return err
	}
	rebuild := map[EventID]bool{}
	for _, id := range ids {
		e, err := tx.Event(id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		switch e.Type {
		case EventMessage, EventEdit, EventDelete:
		default:
			continue
		}
		target, ok, err := n.stands(tx, s, e)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := tx.DeleteEvent(s.ID, e.Order()); err != nil {
			return err
		}
		switch e.Type {
		case EventMessage:
			m, err := tx.Message(e.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := n.dropMessage(tx, m); err != nil {
				return err
			}
			gone := *m
			gone.Body, gone.Attachments, gone.Encrypted, gone.Reactions, gone.Deleted = "", nil, nil, nil, true
			gone.Mentions, gone.MentionsRoom = nil, false
			rv.messages = append(rv.messages, &gone)
		default:
			if target != "" {
				rebuild[target] = true
			}
		}
	}
	for id := range rebuild {
		m, err := tx.Message(id)
		if errors.Is(err, ErrNotFound) {
			continue // the message itself went
		} else if err != nil {
			return err
		}
		if err := n.rebuildMessage(tx, s, m); err != nil {
			return err
		}
		rv.messages = append(rv.messages, m)
	}
	return nil
}

// stands reports whether a stored message, edit or deletion passes the
// rules at its position now, and names the message an edit or deletion
// targets.
func (n *Node) stands(tx Tx, s *RoomState, e *Event) (target EventID, ok bool, err error) {
	if s.Authorize(e) != nil {
		ok = false
	} else {
		ok = true
	}
	switch e.Type {
	case EventEdit:
		c, derr := decodeContent[EditContent](e)
		if derr != nil {
			return "", true, nil
		}
		target = c.Target
	case EventDelete:
		c, derr := decodeContent[DeleteContent](e)
		if derr != nil {
			return "", true, nil
		}
		target = c.Target
		if ok {
			m, merr := tx.Message(target)
			if errors.Is(merr, ErrNotFound) {
				return target, true, nil
			} else if merr != nil {
				return "", false, merr
			}
			ok = s.MayDelete(e.Sender, m.Sender, e.Order()) == nil
		}
	}
	return target, ok, nil
}

// dropMessage deletes a message view and undoes what it added to its
// thread root.
func (n *Node) dropMessage(tx Tx, m *Message) error {
	if m.Thread != "" {
		if root, err := tx.Message(m.Thread); err == nil && root.ThreadCount > 0 {
			root.ThreadCount--
			if err := tx.PutMessage(root); err != nil {
				return err
			}
		}
	}
	if err := n.searchMark(tx, m); err != nil {
		return err
	}
	return tx.DeleteMessage(m)
}

// rebuildMessage sets a message's body again from its own event and the
// edits and deletions of it that still stand, in room order. Reactions
// are kept as they are.
func (n *Node) rebuildMessage(tx Tx, s *RoomState, m *Message) error {
	me, err := tx.Event(m.ID)
	if err != nil {
		return err
	}
	mc, err := decodeContent[MessageContent](me)
	if err != nil {
		return err
	}
	m.Body, m.Attachments, m.Encrypted = mc.Body, mc.Attachments, mc.Encrypted
	if m.Mentions, err = checkMentions(m.Sender, mc.Mentions); err != nil {
		m.Mentions = nil
	}
	m.MentionsRoom = mc.MentionsRoom
	m.EditedAt, m.EditOrder, m.Deleted = 0, nil, false
	var ids []EventID
	if err := tx.EachEventAfter(s.ID, m.Order, func(id EventID, _ OrderKey) bool {
		ids = append(ids, id)
		return true
	}); err != nil {
		return err
	}
	for _, id := range ids {
		e, err := tx.Event(id)
		if err != nil {
			continue
		}
		switch e.Type {
		case EventEdit:
			c, err := decodeContent[EditContent](e)
			if err != nil || c.Target != m.ID || e.Sender != m.Sender || m.Deleted || s.Authorize(e) != nil {
				continue
			}
			m.Body, m.Encrypted, m.EditedAt, m.EditOrder = c.Body, c.Encrypted, e.TS, e.Order()
		case EventDelete:
			c, err := decodeContent[DeleteContent](e)
			if err != nil || c.Target != m.ID || s.Authorize(e) != nil || s.MayDelete(e.Sender, m.Sender, e.Order()) != nil {
				continue
			}
			m.Deleted, m.Body, m.Attachments, m.Reactions, m.Encrypted = true, "", nil, nil, nil
			m.Mentions, m.MentionsRoom = nil, false
		}
	}
	if err := n.searchMark(tx, m); err != nil {
		return err
	}
	return tx.PutMessage(m)
}

// revalidationNotes tell local users what judging again changed: the
// users whose membership changed get the room and the others a member
// frame, everyone the room when something every member sees changed, and
// the messages that went (as deleted) or were rebuilt (room views read
// their newest message from the store, so a deleted one is not shown).
// r.mu is held.
func (n *Node) revalidationNotes(r *roomEntry, rv *revalidation) []note {
	s := r.state
	var notes []note
	if rv.roomWide {
		notes = append(notes, n.roomNotes(r)...)
	}
	idx := r.index()
	for _, u := range rv.users {
		st, _ := s.At(u, nil)
		if n.IsLocal(u) {
			notes = append(notes, note{to: []UserID{u}, n: &Notification{Kind: NoteRoom, Room: s.View(u)}})
		}
		if st == "" {
			st = MemberLeave
		}
		if others := removeUser(idx.local, u); len(others) > 0 {
			notes = append(notes, note{to: others, n: &Notification{
				Kind: NoteMember, RoomID: s.ID, User: u, Membership: st, MemberCount: idx.count,
			}})
		}
	}
	for _, m := range rv.messages {
		notes = append(notes, note{to: idx.local, n: &Notification{Kind: NoteUpdate, Message: m}})
	}
	return notes
}
