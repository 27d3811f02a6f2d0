package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Timeline event page limits.
const (
	DefaultTimelineLimit = 100
	MaxTimelineLimit     = 500
	// maxUpdateLog bounds RoomState.Updates: a room renamed thousands of
	// times lists only its newest changes.
	maxUpdateLog = 256
)

// TimelineEvent is a change to a room that a client shows as a quiet line
// between messages, or in a room's moderation log: the room's creation, a
// membership change (join, leave, invite, kick, ban, unban), a role
// change, a new name, topic or avatar, a new powers table, a pin, or a
// moderator's deletion of someone else's message.
type TimelineEvent struct {
	ID     EventID   `json:"id"`
	Room   RoomID    `json:"room"`
	Type   EventType `json:"type"` // room.create, member, room.update, room.powers, room.pin or message.delete
	Sender UserID    `json:"sender,omitempty"`
	TS     int64     `json:"ts"`
	// User and Membership are set on member events: membership is join,
	// leave, invite, kick, ban, unban (a ban lifted by Sender) or role
	// (Role is then the new role). User is also the sender of a message
	// a moderator deleted.
	User       UserID `json:"user,omitempty"`
	Membership string `json:"membership,omitempty"`
	Role       string `json:"role,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Name, Topic and Avatar are set on room.create and on room.update
	// when the event changed them (an empty topic was cleared).
	Name   *string `json:"name,omitempty"`
	Topic  *string `json:"topic,omitempty"`
	Avatar *string `json:"avatar,omitempty"`
	// Powers is a room.powers event's whole table.
	Powers Powers `json:"powers,omitempty"`
	// Target is the message a pin or a deletion names; On says whether a
	// pin pinned or unpinned it.
	Target EventID `json:"target,omitempty"`
	On     *bool   `json:"on,omitempty"`

	order OrderKey
}

// TimelineQuery selects timeline events by time, both ends inclusive (ms
// since the epoch; 0 means open). Limit 0 means DefaultTimelineLimit.
// Moderation keeps only what moderators and admins did: kicks, bans,
// unbans, role changes, name, topic, avatar and powers changes, pins and
// deletions of others' messages.
type TimelineQuery struct {
	Since, Until int64
	Limit        int
	Moderation   bool
}

// wall is the wall-clock part of an order key, in ms.
func (o OrderKey) wall() int64 {
	if len(o) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(o))
}

// eventID is the event ID part of an order key.
func (o OrderKey) eventID() EventID {
	if len(o) <= 12 {
		return ""
	}
	return EventID(o[12:])
}

// logUpdate records a name, topic or avatar change, keeping the newest
// maxUpdateLog. It copies rather than inserting in place, because cloned
// states share their slices. It reports whether the change was new.
func (s *RoomState) logUpdate(c UpdateChange) bool {
	i, found := slices.BinarySearchFunc(s.Updates, c.Order, func(a UpdateChange, b OrderKey) int { return bytes.Compare(a.Order, b) })
	if found {
		return false
	}
	next := make([]UpdateChange, 0, len(s.Updates)+1)
	next = append(append(append(next, s.Updates[:i]...), c), s.Updates[i:]...)
	if len(next) > maxUpdateLog {
		next = next[len(next)-maxUpdateLog:]
	}
	s.Updates = next
	return true
}

// Timeline returns a room's timeline events in the query's time range,
// newest first, and whether older ones in the range were left out by the
// limit. Whoever may read the room's messages may read these. Events this
// node does not hold (a room joined with a window of recent history) are
// left out.
//
// The membership changes come from the room state, which lists every
// change; the event itself is read only where the actor matters (invites,
// kicks and bans), so a page costs a few reads, not a scan of the room.
// Kept whole (over 80 lines): one short loop per kind of logged change (membership, renames, powers, pins, removals), then one sort and page.
func (n *Node) Timeline(ctx context.Context, u UserID, room RoomID, q TimelineQuery) ([]*TimelineEvent, bool, error) {
	if q.Limit == 0 {
		q.Limit = DefaultTimelineLimit
	}
	if q.Limit < 1 || q.Limit > MaxTimelineLimit {
		return nil, false, errorf(ErrInvalid, fmt.Sprintf("limit must be 1 to %d", MaxTimelineLimit))
	}
	if q.Since < 0 || q.Until < 0 || q.Until != 0 && q.Until < q.Since {
		return nil, false, errorf(ErrInvalid, "since and until must be timestamps with since <= until")
	}
	r, err := n.readableRoom(u, room)
	if err != nil {
		return nil, false, fmt.Errorf("timeline: %w", err)
	}
	in := func(o OrderKey) bool {
		w := o.wall()
		return w >= q.Since && (q.Until == 0 || w <= q.Until)
	}

	// Collect candidates under the room lock, then read events without it.
	r.mu.Lock()
	s := r.state
	dm := s.Kind == KindDM
	var out []*TimelineEvent
	if !dm && !q.Moderation && in(s.CreateOrder) {
		out = append(out, &TimelineEvent{Type: EventCreate, Sender: s.CreatedBy, order: s.CreateOrder})
	}
	for user, h := range s.History {
		for _, c := range h {
			if !in(c.Order) || bytes.Equal(c.Order, s.CreateOrder) {
				continue // joins at creation are the create line
			}
			te := &TimelineEvent{Type: EventMember, User: user, Membership: c.State, Role: c.Role, Sender: c.By, order: c.Order}
			switch {
			case c.State == MemberLeave && c.By != "":
				te.Membership = MemberUnban
			case c.By == "" && (c.State == MemberJoin || c.State == MemberLeave || c.State == MemberRole):
				te.Sender = user // users join, leave and step down only themselves
			}
			if q.Moderation && !moderation(te) {
				continue
			}
			out = append(out, te)
		}
	}
	for _, c := range s.Updates {
		if in(c.Order) {
			out = append(out, &TimelineEvent{Type: EventUpdate, Sender: c.By, order: c.Order})
		}
	}
	for _, c := range s.PowersLog {
		if in(c.Order) {
			out = append(out, &TimelineEvent{Type: EventPowers, Sender: c.By, Powers: c.Powers.Full(), order: c.Order})
		}
	}
	for _, c := range s.Pins {
		if in(c.Order) {
			on := c.On
			out = append(out, &TimelineEvent{Type: EventPin, Sender: c.By, Target: c.Target, On: &on, order: c.Order})
		}
	}
	for _, c := range s.Removals {
		if in(c.Order) {
			out = append(out, &TimelineEvent{Type: EventDelete, Sender: c.By, User: c.User, Target: c.Target, order: c.Order})
		}
	}
	r.mu.Unlock()

	slices.SortFunc(out, func(a, b *TimelineEvent) int { return bytes.Compare(b.order, a.order) })
	more := len(out) > q.Limit
	out = out[:min(len(out), q.Limit)]

	kept := out[:0]
	err = n.store.View(ctx, func(tx Tx) error {
		for _, te := range out {
			te.ID, te.Room, te.TS = te.order.eventID(), room, te.order.wall()
			if te.Sender != "" && (te.Type == EventMember && te.Membership != MemberKick && te.Membership != MemberBan ||
				te.Type == EventPowers || te.Type == EventPin) {
				kept = append(kept, te) // all there is to show is in the state
				continue
			}
			e, err := tx.Event(te.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !fillTimelineEvent(te, e) {
				continue
			}
			kept = append(kept, te)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("timeline: %w", err)
	}
	return kept, more, nil
}

// fillTimelineEvent copies what the line shows from the stored event. It
// reports false for an event whose content cannot be read.
func fillTimelineEvent(te *TimelineEvent, e *Event) bool {
	te.Sender = e.Sender
	switch te.Type {
	case EventCreate:
		c, err := decodeContent[CreateContent](e)
		if err != nil {
			return false
		}
		te.Name, te.Topic = &c.Name, nil
		if c.Topic != "" {
			te.Topic = &c.Topic
		}
	case EventUpdate:
		c, err := decodeContent[RoomUpdateContent](e)
		if err != nil {
			return false
		}
		te.Name, te.Topic, te.Avatar = c.Name, c.Topic, c.Avatar
	case EventMember:
		c, err := decodeContent[MemberContent](e)
		if err != nil {
			return false
		}
		te.Reason = c.Reason
	}
	return true
}

// MemberUnban is how the timeline names a ban lifted by a moderator (a
// leave sent by someone other than the user).
const MemberUnban = "unban"

// moderation reports whether a membership line is a moderator's action.
func moderation(te *TimelineEvent) bool {
	switch te.Membership {
	case MemberKick, MemberBan, MemberUnban:
		return true
	case MemberRole:
		return te.Sender != te.User
	}
	return false
}

// RemovalChange is a moderator's deletion of another user's message, kept
// for the room's moderation log (the message itself keeps no trace of who
// deleted it).
type RemovalChange struct {
	Order  OrderKey `json:"o"`
	By     UserID   `json:"b"`
	Target EventID  `json:"t"`
	User   UserID   `json:"u"`
}

// maxRemovalLog bounds the deletions a room's log keeps.
const maxRemovalLog = 128

// logRemoval records a moderator's deletion, keeping the newest
// maxRemovalLog. It copies, as the other logs do.
func (s *RoomState) logRemoval(c RemovalChange) {
	i, found := slices.BinarySearchFunc(s.Removals, c.Order, func(a RemovalChange, b OrderKey) int { return bytes.Compare(a.Order, b) })
	if found {
		return
	}
	next := make([]RemovalChange, 0, len(s.Removals)+1)
	next = append(append(append(next, s.Removals[:i]...), c), s.Removals[i:]...)
	if len(next) > maxRemovalLog {
		next = next[len(next)-maxRemovalLog:]
	}
	s.Removals = next
}
