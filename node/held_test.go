package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// TestHeldEventsAreBounded: a remote node that sends events for rooms
// this node does not hold (or cannot decide yet) makes it hold a bounded
// number of them, of their bytes and of rooms, whatever it sends.
func TestHeldEventsAreBounded(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := node.New(ctx, node.Config{Store: db, Key: mustKey(t), HeldEvents: 40, HeldBytes: 200 << 10, StrangeRooms: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	w := newWorld(t)
	mallory := w.user("mallory", "M")
	send := func(room node.RoomID, body string) {
		t.Helper()
		e := w.event(room, mallory, node.EventMessage, node.MessageContent{Body: body})
		if err := n.Ingest(ctx, e); !errors.Is(err, node.ErrPending) {
			t.Fatalf("an event for an unknown room: %v, want ErrPending", err)
		}
	}
	for i := range 50 {
		send(node.RoomID(fmt.Sprintf("gnowhere%04d", i)), "hi")
	}
	if events, _, rooms := n.Held(); rooms != 20 || events != 20 {
		t.Fatalf("holding %d events of %d unknown rooms, want 20 and 20", events, rooms)
	}
	for range 50 { // more events in the rooms already waiting
		send("gnowhere0000", "hi again")
	}
	if events, _, _ := n.Held(); events != 40 {
		t.Fatalf("holding %d events, want 40", events)
	}
	n2, err := node.New(ctx, node.Config{Store: db, Key: mustKey(t), HeldBytes: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	for range 30 {
		e := w.event("gbig", mallory, node.EventMessage, node.MessageContent{Body: strings.Repeat("y", 16<<10)})
		_ = n2.Ingest(ctx, e)
	}
	if events, bytes, _ := n2.Held(); bytes > 200<<10 || events < 10 {
		t.Fatalf("holding %d events, %d KiB; want at most 200 KiB", events, bytes>>10)
	}
}

// TestRemoteProfilesAreBounded: a remote node can mint any number of
// users; this node keeps at most RemoteProfiles of their profiles.
func TestRemoteProfilesAreBounded(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := node.New(ctx, node.Config{Store: db, Key: mustKey(t), RemoteProfiles: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	w := newWorld(t)
	for i := range 12 {
		u := w.user(fmt.Sprintf("minted%d", i), "M")
		e := w.event("", u, node.EventProfile, node.ProfileContent{DisplayName: "Minted"})
		if err := n.Ingest(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	users, err := n.SearchUsers(ctx, "minted", 100)
	if err != nil || len(users) != 5 {
		t.Fatalf("%d remote profiles kept (%v), want 5", len(users), err)
	}
	bad := w.event("", w.user("mallory", "M"), node.EventProfile, node.ProfileContent{DisplayName: "x", Avatar: strings.Repeat("a", 4000)})
	if err := n.Ingest(ctx, bad); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("a 4000-byte avatar: %v, want ErrInvalid", err)
	}
}

// TestMembershipChurnIsBounded: joining and leaving a room in a loop
// stops at MaxMembershipChanges, so the room's snapshot stops growing;
// leaving is always allowed.
func TestMembershipChurnIsBounded(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	room, err := n.CreateRoom(ctx, alice, "revolving door", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := n.Join(ctx, bob, room.ID); err != nil {
			if !errors.Is(err, node.ErrLimit) || i < node.MaxMembershipChanges/2-1 {
				t.Fatalf("join %d: %v", i, err)
			}
			break
		}
		if err := n.Leave(ctx, bob, room.ID); err != nil {
			t.Fatalf("leave %d: %v", i, err)
		}
	}
	s, _ := n.RoomState(room.ID)
	if len(s.History[bob]) > node.MaxMembershipChanges {
		t.Fatalf("%d changes kept", len(s.History[bob]))
	}
}

// TestAnnouncedDirectoryIsBounded: other nodes' public room announcements
// fill at most 10,000 directory entries.
func TestAnnouncedDirectoryIsBounded(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	for i := range 10_050 {
		n.AnnounceRoom(&node.Room{ID: node.RoomID(fmt.Sprintf("gannounced%05d", i)), Name: "spam", Kind: node.KindGroup, Visibility: node.Public, CreatedAt: int64(i)})
	}
	all, err := n.PublicRooms(ctx)
	if err != nil || len(all) != 10_000 {
		t.Fatalf("%d directory entries (%v), want 10000", len(all), err)
	}
}
