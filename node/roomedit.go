package node

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// RoomPatch changes a room's name or topic; a nil field is left as it is.
// An empty topic clears it; a name cannot be empty.
type RoomPatch struct {
	Name  *string
	Topic *string
}

// UpdateRoom renames a group room or changes its topic (API.md §8 PATCH
// /rooms/{id}). Only admins and the owner may (RoomState.Authorize decides,
// so every node agrees); members of lower rank get ErrForbidden. Members
// learn the change from the room notification the update event produces.
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
	if c.Name == nil && c.Topic == nil {
		return nil, errorf(ErrInvalid, "nothing to change: give a name or a topic")
	}
	r, err := n.memberRoom(u, id)
	if err != nil {
		return nil, fmt.Errorf("update room: %w", err)
	}
	r.mu.Lock()
	s := r.state
	if s.Kind == KindDM {
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "direct message rooms have no name or topic")
	}
	// Leave out what would not change, so saving an unchanged form adds
	// no event (and no line to the timeline).
	if c.Name != nil && *c.Name == s.Name {
		c.Name = nil
	}
	if c.Topic != nil && *c.Topic == s.Topic {
		c.Topic = nil
	}
	if c.Name == nil && c.Topic == nil {
		view := s.View(u)
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
