package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Room quota defaults (Config).
const (
	// DefaultRoomsPerUser bounds the rooms (DMs included) a local user
	// may ever create: rooms are never deleted, and each one the node
	// holds costs memory, a gossip topic and a directory entry.
	DefaultRoomsPerUser = 500
	// DefaultJoinedRoomsPerUser bounds the rooms a local user is in,
	// joined or invited.
	DefaultJoinedRoomsPerUser = 1000
)

// quotas counts what local users hold against their room quotas. Its
// lock is taken after a room's and before Node.mu (it reads userRooms).
type quotas struct {
	mu      sync.Mutex
	created map[UserID]int // rooms each local user created
	pending map[UserID]int // joins and creations under way
}

// reserveRoom reserves one more room for u (a join, or a creation when
// create is set) before the event is emitted, so that concurrent
// requests cannot pass the quota together. release gives the reservation
// back: ok says whether the room was joined or created.
func (n *Node) reserveRoom(u UserID, create bool) (release func(ok bool), err error) {
	q := &n.quota
	q.mu.Lock()
	defer q.mu.Unlock()
	n.mu.RLock()
	in := len(n.userRooms[u])
	n.mu.RUnlock()
	if in+q.pending[u] >= n.cfg.JoinedRoomsPerUser {
		return nil, errorf(ErrLimit, fmt.Sprintf("you are in %d rooms (invites included), the most a user may be in: leave some first", n.cfg.JoinedRoomsPerUser))
	}
	if create && q.created[u] >= n.cfg.RoomsPerUser {
		return nil, errorf(ErrLimit, fmt.Sprintf("you have created %d rooms, the most a user may create", n.cfg.RoomsPerUser))
	}
	q.pending[u]++
	if create {
		q.created[u]++
	}
	return func(ok bool) {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.pending[u]--; q.pending[u] <= 0 {
			delete(q.pending, u)
		}
		if create && !ok {
			q.created[u]--
		}
	}, nil
}

// MaxMembershipChanges bounds the membership changes of one user in one
// room that this node makes (joins, invites; leaving is always allowed).
// Each is kept in the room's snapshot, which is rewritten on every
// membership change, so joining and leaving in a loop would grow it
// without end.
const MaxMembershipChanges = 100

// churnLocked refuses a join or an invite of u past MaxMembershipChanges.
// The room's lock must be held.
func churnLocked(s *RoomState, u UserID) error {
	if len(s.History[u]) >= MaxMembershipChanges {
		return errorf(ErrLimit, "this user has joined and left this room too often")
	}
	return nil
}

// inviteRoom checks that a local user may be invited to one more room.
func (n *Node) inviteRoom(target UserID) error {
	if !n.IsLocal(target) {
		return nil // their own node decides
	}
	n.mu.RLock()
	in := len(n.userRooms[target])
	n.mu.RUnlock()
	if in >= n.cfg.JoinedRoomsPerUser {
		return errorf(ErrLimit, "that user is in as many rooms as a user may be in")
	}
	return nil
}

// countCreated counts the rooms local users created, at load.
func (n *Node) countCreated(s *RoomState) {
	if s.Created() && n.IsLocal(s.CreatedBy) {
		n.quota.created[s.CreatedBy]++
	}
}

// Directory paging (GET /api/v1/rooms/public).
const (
	DefaultDirectoryLimit = 50
	MaxDirectoryLimit     = 200
	maxDirectoryQuery     = 100
	// directoryTTL is how long a sorted directory is reused: a page is
	// then a slice of it, not a scan and a sort of every room held.
	directoryTTL = time.Second
)

// DirectoryQuery asks for one page of the public room directory.
type DirectoryQuery struct {
	// Q, when set, keeps rooms whose name or topic contains it (case
	// insensitive).
	Q string
	// After is the Next of the previous page; empty for the first.
	After string
	// Limit is the page size, 1 to MaxDirectoryLimit; 0 means
	// DefaultDirectoryLimit.
	Limit int
}

// DirectoryPage is one page of public rooms, most recent activity first.
// Next, when not empty, asks for the following page.
type DirectoryPage struct {
	Rooms []*Room
	Next  string
}

type dirItem struct {
	view *Room
	act  int64
}

// dirCache is the sorted directory of the last directoryTTL.
type dirCache struct {
	mu    sync.Mutex
	at    time.Time
	items []dirItem
}

// PublicRoomsPage returns a page of the public rooms known to this node,
// from here and from the federation directory, most recent activity
// first. Views carry no message content.
func (n *Node) PublicRoomsPage(ctx context.Context, q DirectoryQuery) (*DirectoryPage, error) {
	if q.Limit == 0 {
		q.Limit = DefaultDirectoryLimit
	}
	if q.Limit < 1 || q.Limit > MaxDirectoryLimit {
		return nil, errorf(ErrInvalid, fmt.Sprintf("limit must be 1 to %d", MaxDirectoryLimit))
	}
	if len(q.Q) > maxDirectoryQuery {
		return nil, errorf(ErrInvalid, fmt.Sprintf("q must be at most %d bytes", maxDirectoryQuery))
	}
	start := 0
	items := n.sortedDirectory()
	if q.After != "" {
		act, id, ok := parseDirCursor(q.After)
		if !ok {
			return nil, errorf(ErrInvalid, "after is not a cursor this node gave")
		}
		start, _ = slices.BinarySearchFunc(items, dirItem{view: &Room{ID: id}, act: act}, compareDirItems)
		for start < len(items) && compareDirItems(items[start], dirItem{view: &Room{ID: id}, act: act}) <= 0 {
			start++
		}
	}
	lq := strings.ToLower(strings.TrimSpace(q.Q))
	page := &DirectoryPage{Rooms: []*Room{}}
	last := -1 // index of the last room on the page
	for i := start; i < len(items); i++ {
		v := items[i].view
		if lq != "" && !strings.Contains(strings.ToLower(v.Name), lq) && !strings.Contains(strings.ToLower(v.Topic), lq) {
			continue
		}
		if len(page.Rooms) == q.Limit {
			page.Next = dirCursor(items[last].act, items[last].view.ID)
			break
		}
		c := *v
		page.Rooms = append(page.Rooms, &c)
		last = i
	}
	return page, nil
}

// PublicRooms lists every public room known here, most recent activity
// first: for tests and tools; the API pages with PublicRoomsPage.
func (n *Node) PublicRooms(ctx context.Context) ([]*Room, error) {
	items := n.sortedDirectory()
	out := make([]*Room, len(items))
	for i, it := range items {
		c := *it.view
		out[i] = &c
	}
	return out, nil
}

func compareDirItems(a, b dirItem) int {
	if a.act != b.act {
		if a.act > b.act {
			return -1
		}
		return 1
	}
	return strings.Compare(string(a.view.ID), string(b.view.ID))
}

// sortedDirectory returns the directory in page order; callers copy the
// views they hand out.
func (n *Node) sortedDirectory() []dirItem {
	c := &n.dirCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items != nil && time.Since(c.at) < directoryTTL {
		return c.items
	}
	var items []dirItem
	for _, r := range n.roomEntries() {
		r.mu.Lock()
		if r.state.Created() && r.state.Visibility == Public && r.state.Kind == KindGroup {
			v := r.state.View("")
			v.Invited = nil
			items = append(items, dirItem{v, r.state.LastActivity})
		}
		r.mu.Unlock()
	}
	for _, d := range n.directory() {
		if !n.roomCreated(d.ID) {
			items = append(items, dirItem{d, d.CreatedAt})
		}
	}
	slices.SortFunc(items, compareDirItems)
	c.items, c.at = items, time.Now()
	return items
}

func dirCursor(act int64, id RoomID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(act, 10) + ":" + string(id)))
}

func parseDirCursor(s string) (int64, RoomID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", false
	}
	a, id, ok := strings.Cut(string(b), ":")
	act, err := strconv.ParseInt(a, 10, 64)
	if !ok || err != nil || !ValidOpaqueID(id) {
		return 0, "", false
	}
	return act, RoomID(id), true
}
