package node_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// largeRoom is a public room created by a local user, with remote members
// joined by ingesting their signed events (remote users need no accounts
// and no password hashing, so a room of hundreds is cheap to build).
type largeRoom struct {
	n      *node.Node
	db     *store.DB
	key    ed25519.PrivateKey
	rec    *recorder
	w      *world
	id     node.RoomID
	owner  node.UserID
	remote []node.UserID
}

func newLargeRoom(t *testing.T, dir string, remote int) *largeRoom {
	t.Helper()
	ctx := context.Background()
	lr := &largeRoom{key: mustKey(t), w: newWorld(t)}
	lr.open(t, dir)
	owner := mustRegister(t, lr.n, "owner")
	room, err := lr.n.CreateRoom(ctx, owner, "big", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	lr.id, lr.owner = room.ID, owner
	lr.w.ts = time.Now().UnixMilli() // remote events follow the create
	for i := range remote {
		u := lr.w.user(fmt.Sprintf("r%03d", i), "R")
		lr.join(t, u)
		lr.remote = append(lr.remote, u)
	}
	return lr
}

// open starts the node on dir (in memory when empty) with the room's key,
// closing the one running before.
func (lr *largeRoom) open(t *testing.T, dir string) {
	t.Helper()
	if lr.n != nil {
		lr.n.Close()
		if err := lr.db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(dir, store.Options{InMemory: dir == ""})
	if err != nil {
		t.Fatal(err)
	}
	lr.rec = &recorder{}
	n, err := node.New(context.Background(), node.Config{Store: db, Key: lr.key, Notifier: lr.rec})
	if err != nil {
		t.Fatal(err)
	}
	lr.n, lr.db = n, db
	t.Cleanup(func() {
		if lr.n == n {
			n.Close()
			db.Close()
		}
	})
}

func (lr *largeRoom) join(t *testing.T, u node.UserID) {
	t.Helper()
	if err := lr.n.Ingest(context.Background(), lr.w.member(lr.id, u, u, node.MemberJoin)); err != nil {
		t.Fatalf("ingest join of %s: %v", u, err)
	}
}

// notes returns what u was told of the given kind.
func (r *recorder) notesOf(u node.UserID, kind string) []*node.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*node.Notification
	for _, n := range r.notes[u] {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func TestLargeRoomMembership(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lr := newLargeRoom(t, dir, 150)
	n, owner := lr.n, lr.owner
	bob := mustRegister(t, n, "bob")
	if _, err := n.Join(ctx, bob, lr.id); err != nil {
		t.Fatal(err)
	}
	const count = 152 // owner, bob and 150 remote members

	t.Run("view lists some members and counts all", func(t *testing.T) {
		for _, u := range []node.UserID{owner, bob} {
			v, err := n.Room(ctx, u, lr.id)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Members) != node.MaxListedMembers || v.MemberCount != count || !slices.Contains(v.Members, u) {
				t.Fatalf("view for %s: %d members listed (caller listed: %v), memberCount %d; want %d listed with the caller, count %d",
					u, len(v.Members), slices.Contains(v.Members, u), v.MemberCount, node.MaxListedMembers, count)
			}
		}
	})

	t.Run("members page in ID order", func(t *testing.T) {
		var all []node.UserID
		after := node.UserID("")
		for pages := 0; ; pages++ {
			page, more, err := n.Members(ctx, owner, lr.id, after, 60)
			if err != nil {
				t.Fatal(err)
			}
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			for _, u := range page {
				all = append(all, u.ID)
			}
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if len(all) != count || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != count {
			t.Fatalf("paged %d members (sorted %v), want %d distinct in order", len(all), slices.IsSorted(all), count)
		}
		if _, _, err := n.Members(ctx, owner, lr.id, "", node.MaxMembersLimit+1); err == nil {
			t.Fatal("a limit over the maximum is accepted")
		}
	})

	t.Run("others get member deltas, the joiner the room", func(t *testing.T) {
		// The owner saw every join after its own as a member frame with
		// the count at that point, and no room frame after the create.
		deltas := lr.rec.notesOf(owner, node.NoteMember)
		if len(deltas) != count-1 {
			t.Fatalf("owner got %d member notes, want %d", len(deltas), count-1)
		}
		for i, d := range deltas {
			if d.Membership != node.MemberJoin || d.MemberCount != i+2 || d.RoomID != lr.id {
				t.Fatalf("member note %d = %+v, want a join with count %d", i, d, i+2)
			}
		}
		if rooms := lr.rec.notesOf(owner, node.NoteRoom); len(rooms) != 1 {
			t.Fatalf("owner got %d room notes, want only its create's", len(rooms))
		}
		rooms := lr.rec.notesOf(bob, node.NoteRoom)
		if len(rooms) != 1 || rooms[0].Room.MemberCount != count || !slices.Contains(rooms[0].Room.Members, bob) ||
			len(rooms[0].Room.Members) > node.MaxListedMembers {
			t.Fatalf("bob's join gave him %d room notes: %+v", len(rooms), rooms)
		}
		// A leave is a delta too, and the leaver gets the room without them.
		if err := n.Leave(ctx, bob, lr.id); err != nil {
			t.Fatal(err)
		}
		// Notes go out once the leave is on disk, which may be after
		// Leave returns: wait for them (make test-stress caught the
		// owner's last note still being bob's join).
		poll.Until(t, 10*time.Second, func() error {
			last := lr.rec.notesOf(owner, node.NoteMember)
			if d := last[len(last)-1]; d.User != bob || d.Membership != node.MemberLeave || d.MemberCount != count-1 {
				return fmt.Errorf("owner's last member note = %+v, want bob's leave", d)
			}
			rooms := lr.rec.notesOf(bob, node.NoteRoom)
			if r := rooms[len(rooms)-1].Room; slices.Contains(r.Members, bob) || r.MemberCount != count-1 {
				return fmt.Errorf("the leaver's last room note still lists them: %+v", r)
			}
			return nil
		})
	})

	t.Run("membership survives a restart", func(t *testing.T) {
		lr.open(t, dir)
		n2 := lr.n
		v, err := n2.Room(ctx, owner, lr.id)
		if err != nil {
			t.Fatal(err)
		}
		if v.MemberCount != count-1 || !slices.Contains(v.Members, owner) {
			t.Fatalf("after restart: count %d, owner listed %v", v.MemberCount, slices.Contains(v.Members, owner))
		}
		page, _, err := n2.Members(ctx, owner, lr.id, lr.remote[148], 10)
		if err != nil || len(page) != 1 || page[0].ID != lr.remote[149] {
			t.Fatalf("page after the second to last remote member = %v, %v", page, err)
		}
	})
}

func TestPresenceGoesToWhoShowsIt(t *testing.T) {
	ctx := context.Background()
	lr := newLargeRoom(t, "", 150)
	n, owner := lr.n, lr.owner
	bob := mustRegister(t, n, "bob")
	if _, err := n.Join(ctx, bob, lr.id); err != nil {
		t.Fatal(err)
	}
	presenceOf := func(to, about node.UserID) int {
		c := 0
		for _, p := range lr.rec.notesOf(to, node.NotePresence) {
			if p.User == about {
				c++
			}
		}
		return c
	}
	n.Connect(owner)
	n.Connect(bob)
	n.Disconnect(bob)
	if c := presenceOf(owner, bob); c != 0 {
		t.Fatalf("owner was told %d times of bob's presence in a room of %d without listing him", c, 152)
	}
	// Listing a page of members that holds bob subscribes the owner.
	if _, _, err := n.Members(ctx, owner, lr.id, "", 200); err != nil {
		t.Fatal(err)
	}
	n.Connect(bob)
	if c := presenceOf(owner, bob); c != 1 {
		t.Fatalf("owner listed bob, then was told %d times of his coming online, want 1", c)
	}
	// The owner's last connection ends its subscriptions.
	n.Disconnect(owner)
	n.Disconnect(bob)
	if c := presenceOf(owner, bob); c != 1 {
		t.Fatalf("owner offline, still told of bob (%d)", c)
	}

	// In a small room every member sees every member's presence.
	carol := mustRegister(t, n, "carol")
	small, err := n.CreateRoom(ctx, carol, "small", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, small.ID); err != nil {
		t.Fatal(err)
	}
	n.Connect(bob)
	if c := presenceOf(carol, bob); c != 1 {
		t.Fatalf("carol shares a small room with bob and was told %d times, want 1", c)
	}
}

func TestTypingAndReceiptsBoundedInLargeRooms(t *testing.T) {
	ctx := context.Background()
	lr := newLargeRoom(t, "", 150)
	n, owner := lr.n, lr.owner
	for _, u := range lr.remote[:6] {
		n.RemoteTyping(lr.id, u, true)
	}
	if c := len(lr.rec.notesOf(owner, node.NoteTyping)); c != 3 {
		t.Fatalf("six remote members typing gave the owner %d typing notes, want 3", c)
	}
	n.RemoteTyping(lr.id, lr.remote[0], false)
	n.RemoteTyping(lr.id, lr.remote[5], true) // a place is free again
	notes := lr.rec.notesOf(owner, node.NoteTyping)
	if c := len(notes); c != 5 || notes[4].User != lr.remote[5] || !notes[4].Typing {
		t.Fatalf("after one stopped and another started: %d notes, last %+v", c, notes[len(notes)-1])
	}

	// A remote member's read marker is not told to every member.
	m, err := n.Send(ctx, owner, node.SendParams{Room: lr.id, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	rc := lr.w.event(lr.id, lr.remote[1], node.EventReceipt, node.ReceiptContent{UpTo: m.ID})
	if err := n.Ingest(ctx, rc); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		t.Fatal(err)
	}
	if c := len(lr.rec.notesOf(owner, node.NoteReceipt)); c != 0 {
		t.Fatalf("owner got %d read receipts of others in a large room", c)
	}
	// The owner's own marker reaches the owner's other connections.
	if err := n.MarkRead(ctx, owner, lr.id, m.ID); err != nil {
		t.Fatal(err)
	}
	if c := len(lr.rec.notesOf(owner, node.NoteReceipt)); c != 1 {
		t.Fatalf("owner got %d notes of its own read marker, want 1", c)
	}
}

// TestLocalRoomsFollowsLocalMembers: a room is local while a local user is
// joined or invited, and stops being local when the last one leaves.
func TestLocalRoomsFollowsLocalMembers(t *testing.T) {
	ctx := context.Background()
	lr := newLargeRoom(t, "", 3)
	n := lr.n
	if !slices.Contains(n.LocalRooms(), lr.id) {
		t.Fatalf("LocalRooms = %v, want the owner's room", n.LocalRooms())
	}
	if err := n.Leave(ctx, lr.owner, lr.id); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(n.LocalRooms(), lr.id) {
		t.Fatalf("the room is still local with only remote members: %v", n.LocalRooms())
	}
}

// TestDirectoryEntriesListSomeAndCountAll: a public room announced by
// another node lists at most MaxListedMembers members and counts them all,
// also when the announcing node sent no count.
func TestDirectoryEntriesListSomeAndCountAll(t *testing.T) {
	n, _ := newTestNode(t, "")
	w := newWorld(t)
	var members []node.UserID
	for i := range 150 {
		members = append(members, w.user(fmt.Sprintf("m%03d", i), "R"))
	}
	n.AnnounceRoom(&node.Room{ID: "rannounced", Name: "far", Kind: node.KindGroup, Visibility: node.Public, Members: members, CreatedAt: 1})
	rooms, err := n.PublicRooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || len(rooms[0].Members) != node.MaxListedMembers || rooms[0].MemberCount != 150 {
		t.Fatalf("directory = %+v", rooms)
	}
}

// TestRenameOfALargeRoom: a room update reaches every local member as a
// room whose members list only that member once the room is large, and as
// one shared view with every member while it is small.
func TestRenameOfALargeRoom(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	w := newWorld(t)
	w.ts = time.Now().UnixMilli()
	owner := w.user("owner", "R")
	const id node.RoomID = "rremote"
	if err := n.Ingest(ctx, w.event(id, owner, node.EventCreate, node.CreateContent{Name: "old", Kind: node.KindGroup, Visibility: node.Public})); err != nil {
		t.Fatal(err)
	}
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	for _, u := range []node.UserID{alice, bob} {
		if _, err := n.Join(ctx, u, id); err != nil {
			t.Fatal(err)
		}
	}
	name := "small"
	if err := n.Ingest(ctx, w.event(id, owner, node.EventUpdate, node.RoomUpdateContent{Name: &name})); err != nil {
		t.Fatal(err)
	}
	last := func(u node.UserID) *node.Room {
		rs := rec.notesOf(u, node.NoteRoom)
		return rs[len(rs)-1].Room
	}
	// Notifications go out once the write is durable, which may be just
	// after Ingest returns.
	poll.Until(t, 5*time.Second, func() error {
		if r := last(alice); r.Name != "small" || len(r.Members) != 3 || r != last(bob) {
			return fmt.Errorf("small room rename: %+v (shared with bob: %v)", r, r == last(bob))
		}
		return nil
	})
	for i := range 120 {
		u := w.user(fmt.Sprintf("r%03d", i), "R")
		if err := n.Ingest(ctx, w.member(id, u, u, node.MemberJoin)); err != nil {
			t.Fatal(err)
		}
	}
	name = "large"
	if err := n.Ingest(ctx, w.event(id, owner, node.EventUpdate, node.RoomUpdateContent{Name: &name})); err != nil {
		t.Fatal(err)
	}
	for _, u := range []node.UserID{alice, bob} {
		poll.Until(t, 5*time.Second, func() error {
			if r := last(u); r.Name != "large" || r.MemberCount != 123 || len(r.Members) != 1 || r.Members[0] != u {
				return fmt.Errorf("large room rename for %s: name %q, count %d, members %v", u, r.Name, r.MemberCount, r.Members)
			}
			return nil
		})
	}
}
