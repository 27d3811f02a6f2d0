package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// line renders a timeline event the way a test can compare it.
func line(e *node.TimelineEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s by %s", e.Type, userName(e.Sender))
	if e.Membership != "" || e.User != "" {
		fmt.Fprintf(&b, ": %s %s", userName(e.User), e.Membership)
	}
	if e.Name != nil {
		fmt.Fprintf(&b, " name=%q", *e.Name)
	}
	if e.Topic != nil {
		fmt.Fprintf(&b, " topic=%q", *e.Topic)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", e.Reason)
	}
	return b.String()
}

func userName(u node.UserID) string {
	name, _, _ := u.Split()
	return name
}

func lines(evs []*node.TimelineEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = line(e)
	}
	return out
}

func TestUpdateRoom(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice, bob, eve := mustRegister(t, n, "alice"), mustRegister(t, n, "bob"), mustRegister(t, n, "eve")
	room, err := n.CreateRoom(ctx, alice, "lobby", "old topic", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	bobRoomNotes := rec.kinds(bob, node.NoteRoom)

	t.Run("owner renames and retopics", func(t *testing.T) {
		r, err := n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Name: ptr("  hall  "), Topic: ptr("new topic")})
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "hall" || r.Topic != "new topic" {
			t.Fatalf("updated room = %q / %q", r.Name, r.Topic)
		}
		got, _ := n.Room(ctx, bob, room.ID)
		if got.Name != "hall" || got.Topic != "new topic" {
			t.Fatalf("bob sees %q / %q", got.Name, got.Topic)
		}
		if rec.kinds(bob, node.NoteRoom) <= bobRoomNotes {
			t.Fatal("bob was not told of the rename")
		}
	})
	t.Run("an empty topic clears it", func(t *testing.T) {
		r, err := n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Topic: ptr("")})
		if err != nil || r.Topic != "" || r.Name != "hall" {
			t.Fatalf("clear topic = %+v, %v", r, err)
		}
	})
	t.Run("an unchanged patch adds no event", func(t *testing.T) {
		before, _, _ := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{})
		if _, err := n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Name: ptr("hall")}); err != nil {
			t.Fatal(err)
		}
		after, _, _ := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{})
		if len(after) != len(before) {
			t.Fatalf("timeline grew from %d to %d on a no-op", len(before), len(after))
		}
	})
	for _, c := range []struct {
		name string
		u    node.UserID
		room node.RoomID
		p    node.RoomPatch
		want error
	}{
		{"members below admin may not", bob, room.ID, node.RoomPatch{Name: ptr("bob's")}, node.ErrForbidden},
		{"non-members may not", eve, room.ID, node.RoomPatch{Topic: ptr("x")}, node.ErrForbidden},
		{"empty name", alice, room.ID, node.RoomPatch{Name: ptr("   ")}, node.ErrInvalid},
		{"name on two lines", alice, room.ID, node.RoomPatch{Name: ptr("a\nb")}, node.ErrInvalid},
		{"long name", alice, room.ID, node.RoomPatch{Name: ptr(strings.Repeat("n", node.MaxRoomNameLen+1))}, node.ErrInvalid},
		{"long topic", alice, room.ID, node.RoomPatch{Topic: ptr(strings.Repeat("t", node.MaxRoomTopicLen+1))}, node.ErrInvalid},
		{"invalid UTF-8", alice, room.ID, node.RoomPatch{Topic: ptr("\xff")}, node.ErrInvalid},
		{"nothing to change", alice, room.ID, node.RoomPatch{}, node.ErrInvalid},
		{"unknown room", alice, "nosuchroom", node.RoomPatch{Name: ptr("x")}, node.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := n.UpdateRoom(ctx, c.u, c.room, c.p); !errors.Is(err, c.want) {
				t.Fatalf("UpdateRoom = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("direct messages have no name", func(t *testing.T) {
		dm, err := n.DM(ctx, alice, bob)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.UpdateRoom(ctx, alice, dm.ID, node.RoomPatch{Name: ptr("ours")}); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("rename a DM = %v, want ErrForbidden", err)
		}
	})
}

func TestTimeline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := mustKey(t)
	// Each reading of the clock is a second later, so no two events share
	// a millisecond and the time ranges below are exact.
	var tick atomic.Int64
	now := func() time.Time { return time.UnixMilli(1_700_000_000_000 + tick.Add(1000)) }
	open := func() (*node.Node, *store.DB) {
		db, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.New(ctx, node.Config{Store: db, Key: key, HashConcurrency: 4, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return n, db
	}
	n, db := open()
	alice, bob, carol, eve := mustRegister(t, n, "alice"), mustRegister(t, n, "bob"), mustRegister(t, n, "carol"), mustRegister(t, n, "eve")
	room, err := n.CreateRoom(ctx, alice, "lobby", "hello", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(n.Invite(ctx, alice, room.ID, bob))
	_, err = n.Join(ctx, bob, room.ID)
	must(err)
	must(n.Invite(ctx, alice, room.ID, carol))
	must(n.Leave(ctx, carol, room.ID)) // declines
	msg, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "a message is not a timeline event"})
	must(err)
	_, err = n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Name: ptr("hall")})
	must(err)
	_, err = n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Topic: ptr("")})
	must(err)
	must(n.Leave(ctx, bob, room.ID))

	want := []string{
		`member by bob: bob leave`,
		`room.update by alice topic=""`,
		`room.update by alice name="hall"`,
		`member by carol: carol leave`,
		`member by alice: carol invite`,
		`member by bob: bob join`,
		`member by alice: bob invite`,
		`room.create by alice name="lobby" topic="hello"`,
	}
	check := func(t *testing.T, n *node.Node) {
		t.Helper()
		evs, more, err := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := lines(evs); more || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("timeline (more=%v):\n%s\nwant:\n%s", more, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for i, e := range evs {
			if e.ID == "" || e.Room != room.ID || e.TS == 0 || i > 0 && e.TS > evs[i-1].TS {
				t.Fatalf("event %d = %+v: want an ID, the room, and newest first", i, e)
			}
		}
	}
	t.Run("lists changes newest first", func(t *testing.T) { check(t, n) })

	t.Run("pages by limit", func(t *testing.T) {
		evs, more, err := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{Limit: 3})
		if err != nil || !more || strings.Join(lines(evs), "\n") != strings.Join(want[:3], "\n") {
			t.Fatalf("first page (more=%v, %v): %q", more, err, lines(evs))
		}
	})
	t.Run("selects by time", func(t *testing.T) {
		evs, _, err := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{Since: msg.TS})
		if err != nil {
			t.Fatal(err)
		}
		if got := lines(evs); strings.Join(got, "\n") != strings.Join(want[:3], "\n") {
			t.Fatalf("since the message: %q", got)
		}
		evs, _, err = n.Timeline(ctx, alice, room.ID, node.TimelineQuery{Until: msg.TS})
		if err != nil {
			t.Fatal(err)
		}
		if got := lines(evs); strings.Join(got, "\n") != strings.Join(want[3:], "\n") {
			t.Fatalf("until the message: %q", got)
		}
	})
	t.Run("refuses what the messages refuse", func(t *testing.T) {
		if _, _, err := n.Timeline(ctx, eve, room.ID, node.TimelineQuery{}); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("a stranger read a private room's timeline: %v", err)
		}
		if _, _, err := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{Limit: node.MaxTimelineLimit + 1}); !errors.Is(err, node.ErrInvalid) {
			t.Fatalf("limit over the maximum: %v", err)
		}
		if _, _, err := n.Timeline(ctx, alice, room.ID, node.TimelineQuery{Since: 10, Until: 5}); !errors.Is(err, node.ErrInvalid) {
			t.Fatalf("since after until: %v", err)
		}
	})
	t.Run("DMs list no creation", func(t *testing.T) {
		dm, err := n.DM(ctx, alice, eve)
		must(err)
		evs, _, err := n.Timeline(ctx, alice, dm.ID, node.TimelineQuery{})
		if err != nil || len(evs) != 0 {
			t.Fatalf("a new DM's timeline = %q, %v", lines(evs), err)
		}
	})

	n.Close()
	db.Close()
	n, db = open()
	defer db.Close()
	defer n.Close()
	t.Run("survives a restart", func(t *testing.T) { check(t, n) })
}
