package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// TestMentions: mentions travel in the message, the node counts a user's
// unread mentions per room (by name and room-wide, never their own),
// reading resets the count, a deleted message stops counting, and the
// counts are the same after a restart (they are kept on disk, not in
// memory). Bad mention lists are refused with a reason.
func TestMentions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := mustKey(t)
	open := func() (*node.Node, func()) {
		db, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.New(ctx, node.Config{Store: db, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		return n, func() { n.Close(); db.Close() }
	}
	n, closeN := open()
	alice := mustRegister(t, n, "alice")
	bob := mustRegister(t, n, "bob")
	carol := mustRegister(t, n, "carol")
	room, err := n.CreateRoom(ctx, alice, "general", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []node.UserID{bob, carol} {
		if _, err := n.Join(ctx, u, room.ID); err != nil {
			t.Fatal(err)
		}
	}
	send := func(u node.UserID, body string, mentions []node.UserID, all bool) *node.Message {
		t.Helper()
		m, err := n.Send(ctx, u, node.SendParams{Room: room.ID, Body: body, Mentions: mentions, MentionsRoom: all})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	counts := func(n *node.Node, u node.UserID) (unread, mentions int) {
		t.Helper()
		r, err := n.Room(ctx, u, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Unread == nil || r.Mentions == nil {
			t.Fatalf("room view for %s has no counts: %+v", u, r)
		}
		return *r.Unread, *r.Mentions
	}

	m1 := send(alice, "hi @bob", []node.UserID{bob, bob, alice}, false)
	if !slices.Equal(m1.Mentions, []node.UserID{bob}) || m1.MentionsRoom {
		t.Fatalf("message mentions = %v / %v; want [bob] without duplicates or the sender", m1.Mentions, m1.MentionsRoom)
	}
	send(alice, "plain", nil, false)
	send(carol, "everyone, lunch", nil, true)
	m4 := send(alice, "@bob and @carol", []node.UserID{bob, carol}, false)
	send(bob, "@room from bob", nil, true)

	if u, m := counts(n, bob); u != 4 || m != 3 {
		t.Errorf("bob's counts = %d unread, %d mentions; want 4, 3", u, m)
	}
	if u, m := counts(n, carol); u != 4 || m != 2 { // m4 and bob's @room; not her own
		t.Errorf("carol's counts = %d unread, %d mentions; want 4, 2", u, m)
	}
	if u, m := counts(n, alice); u != 2 || m != 2 { // carol's and bob's room-wide
		t.Errorf("alice's counts = %d unread, %d mentions; want 2, 2", u, m)
	}
	// History carries the mentions back (API.md §9).
	page, _, err := n.History(ctx, bob, room.ID, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page {
		got = append(got, fmt.Sprint(m.Mentions, m.MentionsRoom))
	}
	want := []string{"[] true", fmt.Sprint([]node.UserID{bob, carol}, false), "[] true", "[] false", fmt.Sprint([]node.UserID{bob}, false)}
	if !slices.Equal(got, want) {
		t.Errorf("history mentions, newest first = %v; want %v", got, want)
	}

	// Deleting m4 takes it out of bob's count; reading up to m1 leaves
	// the two room-wide mentions after it.
	if err := n.Delete(ctx, alice, room.ID, m4.ID); err != nil {
		t.Fatal(err)
	}
	if err := n.MarkRead(ctx, bob, room.ID, m1.ID); err != nil {
		t.Fatal(err)
	}
	if _, m := counts(n, bob); m != 1 {
		t.Errorf("bob's mentions after reading m1 and m4's deletion = %d; want 1 (carol's room-wide)", m)
	}

	// Bad input.
	many := make([]node.UserID, node.MaxMentions+1)
	for i := range many {
		many[i] = node.UserID(fmt.Sprintf("user%d@%s", i, n.ID()))
	}
	for _, bad := range [][]node.UserID{many, {"not a user id"}, {"@" + node.UserID(n.ID())}} {
		if _, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "x", Mentions: bad}); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("send with mentions %.40v = %v; want ErrInvalid", bad, err)
		}
	}

	// A restart keeps the counts: they are read from the store.
	closeN()
	n2, closeN2 := open()
	defer closeN2()
	if u, m := counts(n2, bob); u != 2 || m != 1 {
		t.Errorf("bob's counts after a restart = %d unread, %d mentions; want 2, 1 (plain and carol's; m4 deleted)", u, m)
	}
}
