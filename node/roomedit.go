package node

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// RoomPatch changes a room's settings; a nil field is left as it is. An
// empty topic or avatar clears it; a name cannot be empty. PostingRole
// and Powers change the powers table (Powers names only the powers to
// change; PostingRole is the "post" power).
type RoomPatch struct {
	Name        *string
	Topic       *string
	Avatar      *string
	PostingRole *string
	Powers      Powers
}

// UpdateRoom changes a group room's name, topic, avatar or powers (API.md
// §8 PATCH /rooms/{id}). Each needs its power (RoomState.Authorize
// decides, so every node agrees); others get ErrForbidden. Members learn
// the change from the room notification the events produce. Fields equal
// to the room's make no event.
// Kept whole (over 80 lines): one short block per field of the patch, each building its event the same way.
func (n *Node) UpdateRoom(ctx context.Context, u UserID, id RoomID, p RoomPatch) (*Room, error) {
	var c RoomUpdateContent
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		if err := validRoomName(name); err != nil {
			return nil, err
		}
		c.Name = &name
	}
	if p.Topic != nil {
		topic := strings.TrimSpace(*p.Topic)
		if err := validRoomTopic(topic); err != nil {
			return nil, err
		}
		c.Topic = &topic
	}
	if p.Avatar != nil {
		// The same rule as a user's avatar: an image the caller may read
		// (so members can be shown it), or "" to clear it.
		if err := n.checkAvatar(ctx, u, *p.Avatar); err != nil {
			return nil, err
		}
		c.Avatar = p.Avatar
	}
	change := Powers{}
	for k, v := range p.Powers {
		change[k] = v
	}
	if p.PostingRole != nil {
		change[PowerPost] = *p.PostingRole
	}
	if err := change.validate(); err != nil {
		return nil, err
	}
	if c.Name == nil && c.Topic == nil && c.Avatar == nil && len(change) == 0 {
		return nil, errorf(ErrInvalid, "nothing to change: give a name, topic, avatar, postingRole or powers")
	}
	r, err := n.memberRoom(u, id)
	if err != nil {
		return nil, fmt.Errorf("update room: %w", err)
	}
	r.mu.Lock()
	s := r.state
	if s.Kind == KindDM {
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "direct message rooms have no name, topic, avatar or powers")
	}
	// Leave out what would not change, so saving an unchanged form adds
	// no event (and no line to the timeline).
	if c.Name != nil && *c.Name == s.Name {
		c.Name = nil
	}
	if c.Topic != nil && *c.Topic == s.Topic {
		c.Topic = nil
	}
	if c.Avatar != nil && *c.Avatar == s.Avatar {
		c.Avatar = nil
	}
	table := s.Powers()
	changed := false
	for k, v := range change {
		if table[k] != v {
			table[k], changed = v, true
		}
	}
	var view *Room
	if changed {
		// The table goes out whole, so that it reads the same whatever
		// older tables a node has seen.
		res, err := n.emitNew(ctx, r, EventPowers, u, PowersContent{Powers: table})
		if err != nil {
			return nil, fmt.Errorf("update room: %w", err)
		}
		view = res.room
		r.mu.Lock()
	}
	if c.Name == nil && c.Topic == nil && c.Avatar == nil {
		if view == nil {
			view = s.View(u)
		}
		r.mu.Unlock()
		return n.viewFor(ctx, view, u), nil
	}
	res, err := n.emitNew(ctx, r, EventUpdate, u, c)
	if err != nil {
		return nil, fmt.Errorf("update room: %w", err)
	}
	// A new name or topic is what the public directory lists: let the
	// transport announce it now rather than at its next tick. (Membership
	// changes tell it already; a rename changes no membership.)
	n.federation().RoomsChanged()
	return n.viewFor(ctx, res.room, u), nil
}

// validRoomName applies the rules CreateRoom applies to a name.
func validRoomName(name string) error {
	switch {
	case name == "":
		return errorf(ErrInvalid, "room name is required")
	case len(name) > MaxRoomNameLen || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\n\r"):
		return errorf(ErrInvalid, fmt.Sprintf("room name must be at most %d bytes on one line", MaxRoomNameLen))
	}
	return nil
}

// validRoomTopic applies the rules CreateRoom applies to a topic.
func validRoomTopic(topic string) error {
	if len(topic) > MaxRoomTopicLen || !utf8.ValidString(topic) || strings.ContainsRune(topic, 0) {
		return errorf(ErrInvalid, fmt.Sprintf("room topic must be at most %d bytes", MaxRoomTopicLen))
	}
	return nil
}
