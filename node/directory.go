package node

import (
	"context"
	"sync"
)

// maxDirectory bounds the public rooms remembered from other nodes'
// announcements, so a hostile node cannot grow it without limit.
const maxDirectory = 10000

// dirState is the federated public room directory: announcements of
// public rooms held elsewhere, newest per room.
type dirState struct {
	mu    sync.Mutex
	rooms map[RoomID]*Room
}

// AnnounceRoom records a public room announced by another node. Rooms held
// here are listed from their own state instead.
func (n *Node) AnnounceRoom(r *Room) {
	if r == nil || r.Kind != KindGroup || r.Visibility != Public || !ValidOpaqueID(string(r.ID)) || r.ID.IsDM() {
		return
	}
	if len(r.Name) > MaxRoomNameLen || len(r.Topic) > MaxRoomTopicLen {
		return
	}
	c := *r
	c.LastMessage, c.Unread, c.Mentions, c.Invited = nil, nil, nil, nil
	// A node from before memberCount listed every member and no count.
	c.MemberCount = max(c.MemberCount, len(c.Members))
	if len(c.Members) > MaxListedMembers {
		c.Members = c.Members[:MaxListedMembers]
	}
	d := &n.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rooms == nil {
		d.rooms = map[RoomID]*Room{}
	}
	if _, ok := d.rooms[c.ID]; !ok && len(d.rooms) >= maxDirectory {
		return
	}
	d.rooms[c.ID] = &c
}

func (n *Node) directory() []*Room {
	d := &n.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*Room, 0, len(d.rooms))
	for _, r := range d.rooms {
		c := *r
		out = append(out, &c)
	}
	return out
}

// PublicRoomViews lists the public rooms held here, for announcing.
func (n *Node) PublicRoomViews() []*Room {
	var out []*Room
	for _, id := range n.HeldRooms() {
		if s, ok := n.RoomState(id); ok && s.Visibility == Public && s.Kind == KindGroup {
			v := s.View("")
			v.LastMessage, v.Invited = nil, nil
			out = append(out, v)
		}
	}
	return out
}

func (n *Node) fetchRoom(ctx context.Context, id RoomID) error {
	return n.federation().FetchRoom(ctx, id)
}
