package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// History page limits from API.md §3.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// SendParams is a new message.
type SendParams struct {
	Room        RoomID
	Body        string
	ReplyTo     EventID
	Thread      EventID
	ClientID    string
	Attachments []json.RawMessage
	// Encrypted is the m.room.encrypted content that replaces Body in
	// an end-to-end encrypted room.
	Encrypted json.RawMessage
	// Mentions and MentionsRoom are the message's mentions (mentions.go).
	Mentions     []UserID
	MentionsRoom bool
}

// Send posts a message and returns it once it is durably stored. A retry
// with the same (user, room, ClientID) returns the first message instead of
// posting a second one: the key names the room, so a clientId used in one
// room never answers with a message of another, and the caller is a
// member of the room when the first message is returned.
func (n *Node) Send(ctx context.Context, u UserID, p SendParams) (*Message, error) {
	var m *Message // written before done is sent, read after it arrives
	done := make(chan error, 1)
	err := n.SendAsync(ctx, u, p, func(sent *Message, err error) { m = sent; done <- err })
	if err != nil {
		return nil, err
	}
	if err := awaitDurable(ctx, done); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return m, nil
}

// SendAsync is Send for callers that pipeline: it returns as soon as the
// message is written and ordered (or refused), and durable runs with the
// message once it is on disk, or with the error that kept it from getting
// there; only then may it be acknowledged. durable runs on the store's
// sync goroutine, so it must not block; calls run in the order the sends
// were made, so one connection's acknowledgements keep its order. It is
// not called when SendAsync returns an error.
func (n *Node) SendAsync(ctx context.Context, u UserID, p SendParams, durable func(*Message, error)) error {
	if err := validContent(p.Body, p.Encrypted, len(p.Attachments) > 0); err != nil {
		return err
	}
	if len(p.ClientID) > MaxIDLen {
		return errorf(ErrInvalid, "clientId is over 128 characters")
	}
	mentions, err := checkMentions(u, p.Mentions)
	if err != nil {
		return err
	}
	r, err := n.memberRoom(u, p.Room)
	if err != nil {
		return err
	}
	r.mu.Lock()
	encrypted := r.state.Encrypted
	r.mu.Unlock()
	if p.Attachments, err = n.prepareAttachments(ctx, u, p.Attachments, encrypted); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	r.mu.Lock()
	if !r.state.IsMember(u) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "not a member of this room")
	}
	var prior *Message
	err = n.store.View(ctx, func(tx Tx) error {
		var err error
		if prior, err = priorSend(tx, u, p); err != nil || prior != nil {
			return err
		}
		return checkRefs(tx, p)
	})
	if err != nil {
		r.mu.Unlock()
		return fmt.Errorf("send: %w", err)
	}
	if prior != nil {
		r.mu.Unlock()
		// The first send may still be syncing: acknowledge the retry
		// only once it is durable too.
		n.store.Durable(func(err error) { durable(prior, err) })
		return nil
	}
	e, err := newEvent(EventMessage, p.Room, u, MessageContent{
		Body: p.Body, ReplyTo: p.ReplyTo, Thread: p.Thread, ClientID: p.ClientID, Attachments: p.Attachments,
		Encrypted: p.Encrypted, Mentions: mentions, MentionsRoom: p.MentionsRoom,
	})
	if err != nil {
		r.mu.Unlock()
		return err
	}
	_, err = n.emitThen(ctx, r, e, func(res *result, err error) {
		if err != nil {
			durable(nil, err)
			return
		}
		durable(res.msg, nil)
	})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// priorSend returns the message an earlier send with p's clientId made,
// if there is one and it is u's in p's room: a retry gets it back.
func priorSend(tx Tx, u UserID, p SendParams) (*Message, error) {
	if p.ClientID == "" {
		return nil, nil
	}
	id, err := tx.ClientMessage(u, p.Room, p.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	prior, err := tx.Message(id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if prior.Room != p.Room || prior.Sender != u {
		return nil, nil // not this room's: never hand it out
	}
	return prior, markMine(tx, []*Message{prior}, u)
}

// checkRefs checks that a send's replyTo and thread name messages of its
// room.
func checkRefs(tx Tx, p SendParams) error {
	for _, ref := range []EventID{p.ReplyTo, p.Thread} {
		if ref == "" {
			continue
		}
		if !ValidOpaqueID(string(ref)) {
			return errorf(ErrInvalid, "replyTo and thread must be message ids")
		}
		if _, err := orderOf(tx, p.Room, ref); errors.Is(err, ErrNotFound) {
			return errorf(ErrInvalid, "replyTo or thread names no message of this room")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// memberRoom returns a room entry that u can see; callers check
// membership under the room lock.
func (n *Node) memberRoom(u UserID, id RoomID) (*roomEntry, error) {
	if !ValidOpaqueID(string(id)) {
		return nil, errorf(ErrNotFound, "no such room")
	}
	r := n.room(id, false)
	if r == nil {
		return nil, errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	s := r.state
	created := s.Created()
	st, _ := s.At(u, nil)
	visible := created && (s.Visibility == Public || st == MemberJoin || st == MemberInvite)
	r.mu.Unlock()
	if !visible && !created {
		return nil, errorf(ErrNotFound, "no such room")
	}
	// API.md: writing to a room one is not a member of is 403, private
	// rooms included.
	if st != MemberJoin {
		return nil, errorf(ErrForbidden, "not a member of this room")
	}
	return r, nil
}

// change emits an edit, deletion or reaction by u.
func (n *Node) change(ctx context.Context, u UserID, room RoomID, t EventType, content any) (*Message, error) {
	r, err := n.memberRoom(u, room)
	if err != nil {
		return nil, err
	}
	e, err := newEvent(t, room, u, content)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	res, err := n.emit(ctx, r, e)
	if err != nil {
		return nil, err
	}
	return res.msg, nil
}

// Edit replaces the body of u's own message.
func (n *Node) Edit(ctx context.Context, u UserID, room RoomID, id EventID, body string) (*Message, error) {
	if err := validBody(body, false); err != nil {
		return nil, err
	}
	m, err := n.change(ctx, u, room, EventEdit, EditContent{Target: id, Body: body})
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	if m == nil {
		return n.Message(ctx, u, room, id)
	}
	return m, nil
}

// Delete removes the body of u's own message, leaving a tombstone.
func (n *Node) Delete(ctx context.Context, u UserID, room RoomID, id EventID) error {
	if _, err := n.change(ctx, u, room, EventDelete, DeleteContent{Target: id}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// React adds (on) or removes a reaction of u on a message. The key must
// be one emoji or a :shortcode: (ValidReactionKey). Past the caps
// (MaxReactionKeys on the message, MaxUserReactions of u's) it is refused
// with ErrLimit; a change that would show nothing new is not sent.
func (n *Node) React(ctx context.Context, u UserID, room RoomID, id EventID, emoji string, on bool) (*Message, error) {
	if !ValidReactionKey(emoji) {
		return nil, errorf(ErrInvalid, "a reaction must be one emoji or a :shortcode: (docs/api.md)")
	}
	if !ValidOpaqueID(string(id)) {
		return nil, errorf(ErrNotFound, "no such message")
	}
	r, err := n.memberRoom(u, room)
	if err != nil {
		return nil, fmt.Errorf("react: %w", err)
	}
	e, err := newEvent(EventReaction, room, u, ReactionContent{Target: id, Emoji: emoji, On: on})
	if err != nil {
		return nil, err
	}
	// Decided under the room lock, so two changes of one user cannot both
	// pass the caps.
	r.mu.Lock()
	var noop bool
	err = n.store.View(ctx, func(tx Tx) error {
		m, err := tx.Message(id)
		if errors.Is(err, ErrNotFound) || err == nil && m.Room != room {
			return errorf(ErrNotFound, "no such message")
		}
		if err != nil {
			return err
		}
		if m.Deleted {
			return errorf(ErrNotFound, "message was deleted")
		}
		noop, err = checkReaction(tx, id, emoji, u, on)
		return err
	})
	if err != nil || noop {
		r.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("react: %w", err)
		}
		return n.Message(ctx, u, room, id)
	}
	if _, err := n.emit(ctx, r, e); err != nil {
		return nil, fmt.Errorf("react: %w", err)
	}
	return n.Message(ctx, u, room, id)
}

// Message returns one message of a room u can read.
func (n *Node) Message(ctx context.Context, u UserID, room RoomID, id EventID) (*Message, error) {
	if _, err := n.readableRoom(u, room); err != nil {
		return nil, err
	}
	if !ValidOpaqueID(string(id)) {
		return nil, errorf(ErrNotFound, "no such message")
	}
	var m *Message
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		if m, err = tx.Message(id); err != nil || m.Room != room {
			return err
		}
		return markMine(tx, []*Message{m}, u)
	})
	if errors.Is(err, ErrNotFound) || err == nil && m.Room != room {
		return nil, errorf(ErrNotFound, "no such message")
	}
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// readableRoom checks that u may read a room's messages: members, and
// anyone for public rooms.
func (n *Node) readableRoom(u UserID, id RoomID) (*roomEntry, error) {
	if !ValidOpaqueID(string(id)) {
		return nil, errorf(ErrNotFound, "no such room")
	}
	r, err := n.visibleRoom(id, u)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Visibility != Public && !r.state.IsMember(u) {
		return nil, errorf(ErrForbidden, "not a member of this room")
	}
	return r, nil
}

// History returns a page of a room's messages older than before (or the
// newest), newest first. thread, when set, restricts it to one thread's
// replies.
func (n *Node) History(ctx context.Context, u UserID, room RoomID, before, thread EventID, limit int) ([]*Message, bool, error) {
	if limit == 0 {
		limit = DefaultPageLimit
	}
	if limit < 1 || limit > MaxPageLimit {
		return nil, false, errorf(ErrInvalid, fmt.Sprintf("limit must be 1 to %d", MaxPageLimit))
	}
	if _, err := n.readableRoom(u, room); err != nil {
		return nil, false, err
	}
	var (
		msgs []*Message
		more bool
	)
	err := n.store.View(ctx, func(tx Tx) error {
		var from OrderKey
		if before != "" {
			o, err := orderOf(tx, room, before)
			if errors.Is(err, ErrNotFound) {
				return errorf(ErrInvalid, "before names no message of this room")
			} else if err != nil {
				return err
			}
			from = o
		}
		var err error
		if thread != "" {
			msgs, more, err = tx.ThreadMessages(room, thread, from, limit)
		} else {
			msgs, more, err = tx.Messages(room, from, limit)
		}
		if err != nil {
			return err
		}
		return markMine(tx, msgs, u)
	})
	if err == nil && thread == "" && !more {
		if fetched, complete := n.backfill(ctx, room, limit); fetched {
			msgs, more, err = n.historyPage(ctx, room, u, before, limit)
			more = more || !complete
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	if msgs == nil {
		msgs = []*Message{}
	}
	return msgs, more, nil
}

// MarkRead moves u's read marker in a room forward to upTo.
func (n *Node) MarkRead(ctx context.Context, u UserID, room RoomID, upTo EventID) error {
	if !ValidOpaqueID(string(upTo)) {
		return errorf(ErrInvalid, "upTo must be a message id")
	}
	r, err := n.memberRoom(u, room)
	if err != nil {
		return err
	}
	var skip bool
	err = n.store.View(ctx, func(tx Tx) error {
		o, err := orderOf(tx, room, upTo)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrInvalid, "upTo names no message of this room")
		} else if err != nil {
			return err
		}
		prev, err := tx.Receipt(room, u)
		if err == nil && string(prev.Order) >= string(o) {
			skip = true // markers only move forward; nothing to say
		}
		return nil
	})
	if err != nil || skip {
		return err
	}
	e, err := newEvent(EventReceipt, room, u, ReceiptContent{UpTo: upTo})
	if err != nil {
		return err
	}
	r.mu.Lock()
	if _, err := n.emit(ctx, r, e); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// Receipts returns the read markers of a room.
func (n *Node) Receipts(ctx context.Context, u UserID, room RoomID) ([]*Receipt, error) {
	if _, err := n.readableRoom(u, room); err != nil {
		return nil, err
	}
	var out []*Receipt
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Receipts(room)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	if out == nil {
		out = []*Receipt{}
	}
	return out, nil
}
