package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// clientIDTTL is how long a (user, clientId) pair is remembered for
// idempotent retries.
const clientIDTTL = 7 * 24 * time.Hour

// maxReceiptNotifyMembers bounds the rooms in which per-recipient delivered
// receipts are computed; in larger rooms they would cost more than they say.
const maxReceiptNotifyMembers = 64

// applyOneLocked authorises e against the room, writes it and its derived
// state in one transaction, and updates the in-memory state. r.mu must be
// held. It returns the notifications to send once the write is durable.
func (n *Node) applyOneLocked(ctx context.Context, r *roomEntry, e *Event) (*result, []note, error) {
	if err := r.state.Authorize(e); err != nil {
		return nil, nil, err
	}
	a := &applied{res: &result{}}
	err := n.store.Update(ctx, func(tx Tx) error {
		if ok, err := tx.HasEvent(e.ID); err != nil {
			return err
		} else if ok {
			return ErrDuplicate
		}
		if err := n.applyEventTx(tx, r, e, a); err != nil {
			return err
		}
		return tx.PutEvent(e)
	})
	if err != nil {
		if a.rv != nil && a.rv.undo != nil {
			a.rv.undo()
		}
		if a.undo != nil {
			a.undo()
		}
		return nil, nil, fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
	}
	n.appliedLocked(r, e, a)
	return a.res, a.notes, nil
}

// applied is what applying one event in its transaction produced, for
// the in-memory work done once the write succeeded (appliedLocked).
type applied struct {
	res       *result
	notes     []note
	changed   bool        // the room's state changed
	touched   []UserID    // users whose membership history e changed
	wasEnc    bool        // the room was end-to-end encrypted before e
	wasMember bool        // the user a member event names was joined before e
	undo      func()      // puts the state back if the write fails
	keyRef    *RoomKeyRef // set when a room.key event takes its epoch
	// rv is what a state event made of the events that follow it in room
	// order (revalidateLocked): what no longer passes, and its undo.
	rv *revalidation
}

// applyEventTx writes what e derives, by event type, in tx. r.mu is held.
func (n *Node) applyEventTx(tx Tx, r *roomEntry, e *Event, a *applied) error {
	switch e.Type {
	case EventCreate, EventMember, EventUpdate, EventEncryption, EventPowers, EventPin:
		if err := n.applyStateTx(tx, r.state, e, a); err != nil || !a.changed {
			return err
		}
		// What follows e in room order may no longer pass.
		rv, err := n.revalidateLocked(tx, r, e)
		a.rv = rv
		return err
	case EventMessage:
		return n.applyMessageTx(tx, r, e, a)
	case EventEdit, EventDelete:
		m, err := n.applyChange(tx, r.state, e)
		if err != nil {
			return err
		}
		a.res.msg = m
		if e.Type == EventDelete && m != nil && m.Sender != e.Sender {
			// A moderator's deletion goes in the room's moderation log.
			s := r.state
			old := s.Removals
			a.undo = func() { s.Removals = old }
			s.logRemoval(RemovalChange{Order: e.Order(), By: e.Sender, Target: m.ID, User: m.Sender})
			if err := tx.PutRoomState(s); err != nil {
				return err
			}
		}
		if m != nil {
			a.notes = append(a.notes, note{to: r.localMembers(), n: &Notification{Kind: NoteUpdate, Message: m}})
		}
	case EventReaction:
		m, nt, err := n.applyReactionEvent(tx, e)
		if err != nil {
			return err
		}
		a.res.msg = m
		if nt != nil {
			a.notes = append(a.notes, note{to: r.localMembers(), n: nt})
		}
	case EventReceipt:
		rc, err := n.applyReceipt(tx, e)
		if err != nil {
			return err
		}
		if rc != nil {
			a.notes = append(a.notes, note{to: n.receiptAudience(r, rc.User), n: &Notification{
				Kind: NoteReceipt, RoomID: r.state.ID, User: rc.User, UpTo: rc.UpTo, Receipt: "read",
			}})
		}
	case EventRoomKey:
		// Indexed by room and epoch (roomkeys.go).
		ref, err := indexRoomKey(tx, e)
		if err != nil {
			return err
		}
		a.keyRef = ref
	default:
		return errorf(ErrInvalid, "unknown event type "+string(e.Type))
	}
	return nil
}

// applyStateTx applies a state event (create, member, update, encryption,
// powers, pin).
// The state changes in place (the room's lock is held) and only what
// changed is written: the room's record for its metadata, one key per
// member whose history changed.
func (n *Node) applyStateTx(tx Tx, s *RoomState, e *Event, a *applied) error {
	a.wasEnc, a.wasMember = s.Encrypted, memberNamed(s, e)
	a.touched = s.touches(e)
	a.undo = s.saver(a.touched)
	wasCreated, oldAvatar := s.Created(), s.Avatar
	if !s.Apply(e) {
		a.touched = nil
		return nil
	}
	a.changed = true
	if e.Type == EventCreate && !wasCreated {
		// Holding the create event means holding the room from its
		// start; federation clears this for windowed joins.
		s.Complete = true
	}
	if e.Type != EventMember {
		if err := tx.PutRoomState(s); err != nil {
			return err
		}
	}
	if s.Avatar != oldAvatar {
		if err := n.setRoomAvatarRef(tx, s.ID, e.Origin, oldAvatar, s.Avatar); err != nil {
			return err
		}
	}
	for _, u := range a.touched {
		if err := tx.PutMember(s.ID, u, s.History[u]); err != nil {
			return err
		}
	}
	return nil
}

// applyMessageTx stores a message and notes it for the room's local
// members, with the thread root's new count when it is a reply in one.
func (n *Node) applyMessageTx(tx Tx, r *roomEntry, e *Event, a *applied) error {
	m, err := n.applyMessage(tx, r.state, e)
	if err != nil {
		return err
	}
	a.res.msg = m
	members := r.localMembers()
	a.notes = append(a.notes, note{to: members, n: &Notification{
		Kind: NoteMessage, Message: m, Delivered: r.index().count <= maxReceiptNotifyMembers,
	}, push: n.pushOfferLocked(r, members, m)})
	if m.Thread != "" {
		if root, err := n.bumpThread(tx, m); err == nil && root != nil {
			a.notes = append(a.notes, note{to: members, n: &Notification{Kind: NoteUpdate, Message: root}})
		}
	}
	return nil
}

// appliedLocked updates the in-memory state once e is written: the room's
// version, member index and views, what end-to-end encryption follows,
// the room key index and the last activity. r.mu is held.
func (n *Node) appliedLocked(r *roomEntry, e *Event, a *applied) {
	s := r.state
	if a.changed {
		r.version++
		if a.rv != nil {
			for _, u := range a.rv.users {
				if !slices.Contains(a.touched, u) {
					a.touched = append(a.touched, u)
				}
			}
		}
		if len(a.touched) > 0 {
			n.reindexLocked(r, a.touched)
			n.federation().RoomsChanged()
		}
		// The caller adds its own unread count to res.room while the hub
		// encodes the notifications: each gets its own view.
		a.res.room = s.View(e.Sender)
		a.notes = append(a.notes, n.stateNotes(r, e)...)
		if a.rv != nil {
			a.notes = append(a.notes, n.revalidationNotes(r, a.rv)...)
		}
		n.e2eeStateChanged(a.wasEnc, a.wasMember, s, e)
	}
	if a.keyRef != nil {
		r.learnKeyLocked(a.keyRef)
	}
	if a.res.msg != nil && e.Type == EventMessage {
		s.LastActivity = max(s.LastActivity, a.res.msg.TS)
	}
}

// receiptAudience is who hears of u's read marker in room r: every local
// member in a room whose members are all listed, and in a larger one only
// u's own other connections, so that a room where everyone reads does
// not cost the square of its size.
func (n *Node) receiptAudience(r *roomEntry, u UserID) []UserID {
	idx := r.index()
	if idx.count <= MaxListedMembers {
		return idx.local
	}
	if n.IsLocal(u) {
		return []UserID{u}
	}
	return nil
}

// stateNotes are the notifications of a change to a room's state (e was
// applied and changed it). For each recipient they cost the same whatever
// the room's size: the user whose membership changed gets the room (whose
// view lists at most MaxListedMembers members), the other local members a
// small member frame with the new count.
func (n *Node) stateNotes(r *roomEntry, e *Event) []note {
	s := r.state
	idx := r.index()
	switch e.Type {
	case EventCreate:
		var to []UserID
		for _, u := range s.touches(e) {
			if n.IsLocal(u) && s.IsMember(u) {
				to = append(to, u)
			}
		}
		// Members are all listed in a new room: one view serves them all.
		return []note{{to: to, n: &Notification{Kind: NoteRoom, Room: s.View("")}}}
	case EventUpdate, EventPowers, EventPin:
		return n.roomNotes(r)
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		if err != nil {
			return nil
		}
		if c.Membership == MemberRole {
			// Roles are in every member's view of the room.
			return n.roomNotes(r)
		}
		var notes []note
		if n.IsLocal(c.User) {
			v := s.View(c.User)
			if !s.IsMember(c.User) {
				redact(v, c.User) // an invitee, or who left: no content, only their own invite
			}
			notes = append(notes, note{to: []UserID{c.User}, n: &Notification{Kind: NoteRoom, Room: v}})
		}
		others := idx.local
		if _, ok := slices.BinarySearch(others, c.User); ok {
			others = removeUser(others, c.User)
		}
		if len(others) > 0 {
			notes = append(notes, note{to: others, n: &Notification{
				Kind: NoteMember, RoomID: s.ID, User: c.User, Membership: c.Membership, MemberCount: idx.count,
			}})
		}
		return notes
	}
	return nil
}

// roomNotes are the room frames of a change every member sees (a rename,
// a new topic, avatar, powers table, pin or role), one per local member.
// They cost each member the same whatever the room's size.
func (n *Node) roomNotes(r *roomEntry) []note {
	s, idx := r.state, r.index()
	if idx.count <= MaxListedMembers {
		return []note{{to: idx.local, n: &Notification{Kind: NoteRoom, Room: s.View("")}}}
	}
	// In a large room each member's room frame lists only them, so a
	// rename costs each member a few hundred bytes, not the list.
	notes := make([]note, 0, len(idx.local))
	for _, u := range idx.local {
		v := s.View("")
		v.Members, v.Invited = []UserID{u}, nil
		notes = append(notes, note{to: []UserID{u}, n: &Notification{Kind: NoteRoom, Room: v}})
	}
	return notes
}

// saver records what applying an event that touches users may change in
// s, and returns the function that puts it back.
func (s *RoomState) saver(users []UserID) func() {
	meta := *s
	old := make(map[UserID][]MemberChange, len(users))
	for _, u := range users {
		old[u] = s.History[u]
	}
	return func() {
		s.CreateID, s.CreateOrder, s.Name, s.Topic, s.MetaOrder = meta.CreateID, meta.CreateOrder, meta.Name, meta.Topic, meta.MetaOrder
		s.Avatar, s.NameOrder, s.TopicOrder, s.AvatarOrder = meta.Avatar, meta.NameOrder, meta.TopicOrder, meta.AvatarOrder
		s.Updates, s.PowersLog, s.PowersBase, s.Pins = meta.Updates, meta.PowersLog, meta.PowersBase, meta.Pins
		s.EncryptionOrder, s.CreateEncrypted = meta.EncryptionOrder, meta.CreateEncrypted
		s.settleEncryption()
		s.Kind, s.Visibility, s.CreatedBy, s.CreatedAt = meta.Kind, meta.Visibility, meta.CreatedBy, meta.CreatedAt
		s.LastActivity, s.Complete = meta.LastActivity, meta.Complete
		s.Updates = meta.Updates // logUpdate replaces the slice, never writes into it
		for u, h := range old {
			s.setHistory(u, h)
		}
	}
}

// validBody checks a message body: UTF-8, no NUL, at most 16 KiB.
func validBody(body string, allowEmpty bool) error {
	switch {
	case len(body) > MaxBodyBytes:
		return errorf(ErrTooLarge, "message body is over 16 KiB")
	case !utf8.ValidString(body):
		return errorf(ErrInvalid, "message body is not valid UTF-8")
	case !allowEmpty && len(bytes.TrimSpace([]byte(body))) == 0:
		return errorf(ErrInvalid, "message body is empty")
	case bytes.IndexByte([]byte(body), 0) >= 0:
		return errorf(ErrInvalid, "message body contains a NUL character")
	}
	return nil
}

func (n *Node) applyMessage(tx Tx, s *RoomState, e *Event) (*Message, error) {
	c, err := decodeContent[MessageContent](e)
	if err != nil {
		return nil, err
	}
	if err := s.checkContent(e, c.Body, c.Encrypted, len(c.Attachments) > 0); err != nil {
		return nil, err
	}
	if len(c.ClientID) > MaxIDLen {
		return nil, errorf(ErrInvalid, "clientId is over 128 characters")
	}
	mentions, err := checkMentions(e.Sender, c.Mentions)
	if err != nil {
		return nil, err
	}
	atts, err := n.indexAttachments(tx, e, c.Attachments) // media.go
	if err != nil {
		return nil, err
	}
	m := &Message{
		ID: e.ID, Room: e.Room, Sender: e.Sender, Body: c.Body, TS: e.TS,
		ReplyTo: c.ReplyTo, Thread: c.Thread, ClientID: c.ClientID,
		Attachments: atts, Encrypted: c.Encrypted, Order: e.Order(),
		Mentions: mentions, MentionsRoom: c.MentionsRoom,
	}
	if err := tx.PutMessage(m); err != nil {
		return nil, err
	}
	if err := n.searchMark(tx, m); err != nil {
		return nil, err
	}
	if c.ClientID != "" && n.IsLocal(e.Sender) {
		if err := tx.PutClientMessage(e.Sender, e.Room, c.ClientID, e.ID, clientIDTTL); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// bumpThread counts a reply on its thread root, in the root's aggregates
// (a reply does not rewrite the root message).
func (n *Node) bumpThread(tx Tx, reply *Message) (*Message, error) {
	root, err := tx.Message(reply.Thread)
	if err != nil || root.Room != reply.Room {
		return nil, err
	}
	agg, err := aggregatesOf(tx, root.ID)
	if err != nil {
		return nil, err
	}
	agg.ThreadCount++
	root.ThreadCount = agg.ThreadCount
	return root, tx.PutAggregates(root.ID, agg)
}

// applyChange applies an edit or a deletion to its target message. A
// change whose target has not arrived yet is stored as an event only; the
// target's later arrival does not replay it (history sync delivers targets
// before changes in room order, so this is rare).
func (n *Node) applyChange(tx Tx, s *RoomState, e *Event) (*Message, error) {
	var target EventID
	switch e.Type {
	case EventEdit:
		c, err := decodeContent[EditContent](e)
		if err != nil {
			return nil, err
		}
		if err := s.checkContent(e, c.Body, c.Encrypted, false); err != nil {
			return nil, err
		}
		target = c.Target
	case EventDelete:
		c, err := decodeContent[DeleteContent](e)
		if err != nil {
			return nil, err
		}
		target = c.Target
	}
	m, err := tx.Message(target)
	if errors.Is(err, ErrNotFound) {
		if !n.IsLocal(e.Sender) {
			return nil, nil
		}
		return nil, errorf(ErrNotFound, "no such message")
	}
	if err != nil {
		return nil, err
	}
	if m.Room != e.Room {
		return nil, errorf(ErrNotFound, "no such message in this room")
	}
	o := e.Order()
	switch e.Type {
	case EventEdit:
		if m.Sender != e.Sender {
			return nil, errorf(ErrForbidden, "only the sender may edit a message")
		}
		if m.Deleted {
			return nil, errorf(ErrNotFound, "message was deleted")
		}
		if bytes.Compare(o, m.EditOrder) < 0 {
			return nil, nil // a newer edit already won
		}
		c, _ := decodeContent[EditContent](e)
		m.Body, m.Encrypted, m.EditedAt, m.EditOrder = c.Body, c.Encrypted, e.TS, o
	case EventDelete:
		// A moderator's deletion works as the sender's own (API.md §8).
		if err := s.MayDelete(e.Sender, m.Sender, o); err != nil {
			return nil, err
		}
		if m.Deleted {
			return m, nil
		}
		if err := unindexAttachments(tx, m); err != nil {
			return nil, err
		}
		m.Deleted, m.Body, m.Attachments, m.Reactions, m.Encrypted = true, "", nil, nil, nil
		m.Mentions, m.MentionsRoom = nil, false
	}
	if err := n.searchMark(tx, m); err != nil {
		return nil, err
	}
	return m, tx.PutMessage(m)
}

func (n *Node) applyReceipt(tx Tx, e *Event) (*Receipt, error) {
	c, err := decodeContent[ReceiptContent](e)
	if err != nil {
		return nil, err
	}
	m, err := tx.Message(c.UpTo)
	if errors.Is(err, ErrNotFound) {
		if n.IsLocal(e.Sender) {
			return nil, errorf(ErrNotFound, "no such message")
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Room != e.Room {
		return nil, errorf(ErrNotFound, "no such message in this room")
	}
	prev, err := tx.Receipt(e.Room, e.Sender)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if prev != nil && bytes.Compare(m.Order, prev.Order) <= 0 {
		return nil, nil // markers only move forward
	}
	rc := &Receipt{User: e.Sender, UpTo: m.ID, Kind: "read", TS: e.TS, Order: m.Order}
	return rc, tx.PutReceipt(e.Room, rc)
}
