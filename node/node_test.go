package node_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
	"github.com/hearth-chat/hearth/store/memstore"
)

// recorder is a Notifier that keeps what it was told, per user.
type recorder struct {
	mu    sync.Mutex
	notes map[node.UserID][]*node.Notification
}

func (r *recorder) Notify(to []node.UserID, n *node.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notes == nil {
		r.notes = map[node.UserID][]*node.Notification{}
	}
	for _, u := range to {
		r.notes[u] = append(r.notes[u], n)
	}
}

func (r *recorder) messages(u node.UserID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notes[u] {
		if n.Kind == node.NoteMessage {
			out = append(out, n.Message.Body)
		}
	}
	return out
}

func (r *recorder) kinds(u node.UserID, kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, n := range r.notes[u] {
		if n.Kind == kind {
			c++
		}
	}
	return c
}

// newTestNode starts a node on the in-memory store (store/memstore), or
// on Badger files in dir when a test needs the disk.
func newTestNode(t testing.TB, dir string) (*node.Node, *recorder) {
	t.Helper()
	var db interface {
		node.Store
		Close() error
	}
	if dir == "" {
		db = memstore.New()
	} else {
		bdb, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db = bdb
	}
	rec := &recorder{}
	n, err := node.New(context.Background(), node.Config{Store: db, Key: mustKey(t), Notifier: rec, HashConcurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		db.Close()
	})
	return n, rec
}

func mustRegister(t *testing.T, n *node.Node, name string) node.UserID {
	t.Helper()
	u, err := n.Register(context.Background(), name, "correct horse", "")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	u, err := n.Register(ctx, "Alice", "correct horse", "Alice A.")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.DisplayName != "Alice A." || u.Node != n.ID() {
		t.Fatalf("registered %+v", u)
	}
	if _, err := n.Register(ctx, "ALICE", "correct horse", ""); !errors.Is(err, node.ErrConflict) {
		t.Fatalf("second registration = %v, want ErrConflict", err)
	}
	for _, c := range []struct{ name, pw string }{{"al", "correct horse"}, {"bob", "short"}, {"bob", string(make([]byte, 73))}} {
		if _, err := n.Register(ctx, c.name, c.pw, ""); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("Register(%q, %d-byte password) = %v, want ErrInvalid", c.name, len(c.pw), err)
		}
	}
	if _, err := n.Login(ctx, "alice", "correct horse"); err != nil {
		t.Fatalf("login: %v", err)
	}
	_, wrong := n.Login(ctx, "alice", "wrong horse")
	_, unknown := n.Login(ctx, "nobody", "wrong horse")
	if !errors.Is(wrong, node.ErrUnauthenticated) || wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password %v and unknown user %v must be the same 401", wrong, unknown)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	u := mustRegister(t, n, "alice")
	s, tok1, err := n.NewSession(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, err := n.Refresh(ctx, tok1)
	if err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if _, _, err := n.Refresh(ctx, tok1); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("reused token = %v, want ErrUnauthenticated", err)
	}
	if _, _, err := n.Refresh(ctx, tok2); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("after reuse the session must be revoked, but refresh = %v", err)
	}
	if err := n.CheckSession(ctx, s.ID, u); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("CheckSession after reuse = %v", err)
	}
}

func TestMessagesLifecycle(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	room, err := n.CreateRoom(ctx, alice, "General", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "not yet"}); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("send before join = %v, want ErrForbidden", err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	var ids []node.EventID
	for i := range 120 {
		m, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: fmt.Sprint("m", i), ClientID: fmt.Sprint("c", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	t.Run("idempotent retry", func(t *testing.T) {
		m, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "m5 again", ClientID: "c5"})
		if err != nil || m.ID != ids[5] || m.Body != "m5" {
			t.Fatalf("retry = %v %v, want the first message %s", m, err, ids[5])
		}
	})
	t.Run("paging newest first", func(t *testing.T) {
		var got []node.EventID
		before := node.EventID("")
		for {
			page, more, err := n.History(ctx, bob, room.ID, before, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.ID)
			}
			if !more {
				break
			}
			before = page[len(page)-1].ID
		}
		if len(got) != len(ids) {
			t.Fatalf("paged %d messages, want %d", len(got), len(ids))
		}
		for i := range got {
			if got[i] != ids[len(ids)-1-i] {
				t.Fatalf("page order differs at %d", i)
			}
		}
	})
	t.Run("live delivery in order", func(t *testing.T) {
		// The last Send returned once durable; its fan-out may follow.
		poll.Until(t, 5*time.Second, func() error {
			if got := rec.messages(bob); len(got) < 120 {
				return fmt.Errorf("bob got %d messages, want 120", len(got))
			}
			return nil
		})
		got := rec.messages(bob)
		if len(got) != 120 || got[0] != "m0" || got[119] != "m119" {
			t.Fatalf("bob got %d messages: first %v", len(got), got[:min(3, len(got))])
		}
	})
	t.Run("unread and read markers", func(t *testing.T) {
		r, err := n.Room(ctx, bob, room.ID)
		if err != nil || r.Unread == nil || *r.Unread != 120 {
			t.Fatalf("unread = %v, %v; want 120", r.Unread, err)
		}
		if err := n.MarkRead(ctx, bob, room.ID, ids[99]); err != nil {
			t.Fatal(err)
		}
		r, _ = n.Room(ctx, bob, room.ID)
		if *r.Unread != 20 {
			t.Fatalf("unread after reading 100 = %d, want 20", *r.Unread)
		}
		if err := n.MarkRead(ctx, bob, room.ID, ids[10]); err != nil {
			t.Fatal(err)
		}
		r, _ = n.Room(ctx, bob, room.ID)
		if *r.Unread != 20 {
			t.Fatalf("a read marker moved backwards: unread %d", *r.Unread)
		}
	})
	t.Run("edit delete react", func(t *testing.T) {
		if _, err := n.Edit(ctx, bob, room.ID, ids[0], "hijack"); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("bob edited alice's message: %v", err)
		}
		m, err := n.Edit(ctx, alice, room.ID, ids[0], "m0 edited")
		if err != nil || m.Body != "m0 edited" || m.EditedAt == 0 {
			t.Fatalf("edit = %+v, %v", m, err)
		}
		m, err = n.React(ctx, bob, room.ID, ids[0], "👍", true)
		if err != nil || len(m.Reactions) != 1 || m.Reactions[0].Count != 1 || !m.Reactions[0].Me {
			t.Fatalf("react = %+v, %v", m, err)
		}
		m, _ = n.React(ctx, bob, room.ID, ids[0], "👍", false)
		if len(m.Reactions) != 0 {
			t.Fatalf("reaction not removed: %v", m.Reactions)
		}
		if err := n.Delete(ctx, bob, room.ID, ids[1]); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("bob deleted alice's message: %v", err)
		}
		if err := n.Delete(ctx, alice, room.ID, ids[1]); err != nil {
			t.Fatal(err)
		}
		m, _ = n.Message(ctx, bob, room.ID, ids[1])
		if !m.Deleted || m.Body != "" {
			t.Fatalf("deleted message = %+v", m)
		}
		poll.Until(t, 5*time.Second, func() error {
			if u, r := rec.kinds(bob, node.NoteUpdate), rec.kinds(bob, node.NoteReaction); u < 2 || r != 2 {
				return fmt.Errorf("bob saw %d updates and %d reactions, want at least 2 and 2", u, r)
			}
			return nil
		})
	})
	t.Run("threads", func(t *testing.T) {
		root := ids[50]
		for i := range 3 {
			if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: fmt.Sprint("t", i), Thread: root}); err != nil {
				t.Fatal(err)
			}
		}
		page, _, err := n.History(ctx, alice, room.ID, "", root, 50)
		if err != nil || len(page) != 3 || page[0].Body != "t2" {
			t.Fatalf("thread page = %d messages, %v", len(page), err)
		}
		m, _ := n.Message(ctx, alice, room.ID, root)
		if m.ThreadCount != 3 {
			t.Fatalf("thread count = %d, want 3", m.ThreadCount)
		}
		if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "x", ReplyTo: "nosuchmessage"}); !errors.Is(err, node.ErrInvalid) {
			t.Fatalf("reply to a missing message = %v, want ErrInvalid", err)
		}
	})
}

func TestPrivateRoomsAndDMs(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice, bob, eve := mustRegister(t, n, "alice"), mustRegister(t, n, "bob"), mustRegister(t, n, "eve")
	room, err := n.CreateRoom(ctx, alice, "Secret", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, eve, room.ID); err == nil {
		t.Fatal("eve joined a private room uninvited")
	}
	if _, _, err := n.History(ctx, eve, room.ID, "", "", 10); err == nil {
		t.Fatal("eve read a private room's history")
	}
	if err := n.Invite(ctx, alice, room.ID, bob); err != nil {
		t.Fatal(err)
	}
	// Notifications go out after the write is durable, which is when
	// Invite returns: the fan-out may still be on its way.
	poll.Until(t, 5*time.Second, func() error {
		if rec.kinds(bob, node.NoteRoom) == 0 {
			return errors.New("bob was not told of the invite")
		}
		return nil
	})
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatalf("invited join: %v", err)
	}
	dm1, err := n.DM(ctx, alice, bob)
	if err != nil {
		t.Fatal(err)
	}
	dm2, err := n.DM(ctx, bob, alice)
	if err != nil || dm2.ID != dm1.ID || dm1.Kind != node.KindDM {
		t.Fatalf("DM rooms %v and %v (%v)", dm1.ID, dm2.ID, err)
	}
	if _, err := n.Send(ctx, eve, node.SendParams{Room: dm1.ID, Body: "hi"}); err == nil {
		t.Fatal("eve posted into alice and bob's DM")
	}
	rooms, _ := n.Rooms(ctx, bob)
	if len(rooms) != 2 {
		t.Fatalf("bob has %d rooms, want 2", len(rooms))
	}
}

// TestStateSurvivesRestart reopens the same Badger directory.
func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := mustKey(t)
	open := func() (*node.Node, *store.DB) {
		db, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.New(ctx, node.Config{Store: db, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		return n, db
	}
	n, db := open()
	u := mustRegister(t, n, "alice")
	room, _ := n.CreateRoom(ctx, u, "Keep", "", node.Public)
	m, err := n.Send(ctx, u, node.SendParams{Room: room.ID, Body: "persisted"})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	db.Close()

	n, db = open()
	defer db.Close()
	defer n.Close()
	rooms, _ := n.Rooms(ctx, u)
	if len(rooms) != 1 || rooms[0].LastMessage == nil || rooms[0].LastMessage.ID != m.ID {
		t.Fatalf("after restart rooms = %+v", rooms)
	}
	if _, err := n.Login(ctx, "alice", "correct horse"); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
}

// TestIngestValidatesRemoteBodies: a remote member's message is held to
// the same body rules as a local one, whatever extra fields it carries.
func TestIngestValidatesRemoteBodies(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice := mustRegister(t, n, "alice")
	room, err := n.CreateRoom(ctx, alice, "open", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	remote := node.NewSigner(mustKey(t))
	bob := node.NewUserID("bob", remote.NodeID())
	ts := time.Now().UnixMilli()
	ev := func(typ node.EventType, content string) *node.Event {
		ts++
		return sealed(t, remote, &node.Event{Type: typ, Room: room.ID, Sender: bob, TS: ts, Content: []byte(content)})
	}
	if err := n.Ingest(ctx, ev(node.EventMember, `{"user":"`+string(bob)+`","membership":"join"}`)); err != nil {
		t.Fatalf("remote join: %v", err)
	}
	for name, content := range map[string]string{
		"empty body":             `{"body":""}`,
		"empty body with sealed": `{"body":"","sealed":{"epoch":1,"nonce":"AA==","box":"AA=="}}`,
		"NUL in body":            `{"body":"a\u0000b"}`,
	} {
		e := ev(node.EventMessage, content)
		if err := n.Ingest(ctx, e); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("%s: Ingest = %v, want ErrInvalid", name, err)
		}
		if ok, _ := n.HasEvent(ctx, e.ID); ok {
			t.Errorf("%s: stored", name)
		}
	}
	if got := rec.messages(alice); len(got) != 0 {
		t.Fatalf("alice was shown %q", got)
	}
	if err := n.Ingest(ctx, ev(node.EventMessage, `{"body":"hello from afar"}`)); err != nil {
		t.Fatalf("valid remote message: %v", err)
	}
}
