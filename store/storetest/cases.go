package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

var bg = context.Background()

func mustUpdate(t *testing.T, s Store, fn func(node.Tx) error) {
	t.Helper()
	if err := s.Update(bg, fn); err != nil {
		t.Fatal(err)
	}
}

func mustView(t *testing.T, s Store, fn func(node.Tx) error) {
	t.Helper()
	if err := s.View(bg, fn); err != nil {
		t.Fatal(err)
	}
}

// order is the order key of the i-th test event.
// testCountMentions: bob is mentioned by name in 2, 5 and 9, the room as
// a whole in 4, 5 and 7 (7 by bob himself), 9 is deleted later, and the
// entries of another room and user do not count.
func testCountMentions(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		for i := range 12 {
			sender := node.UserID("alice@N")
			m := message("room1", i, sender)
			switch i {
			case 2, 9:
				m.Mentions = []node.UserID{"bob@N"}
			case 3:
				m.Mentions = []node.UserID{"carol@N"}
			case 4:
				m.MentionsRoom = true
			case 5:
				m.Mentions, m.MentionsRoom = []node.UserID{"carol@N", "bob@N"}, true
			case 7:
				m.Sender, m.MentionsRoom = "bob@N", true
			}
			if err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		other := message("room10", 1, "alice@N")
		other.Mentions = []node.UserID{"bob@N"}
		return tx.PutMessage(other)
	})
	count := func(from node.OrderKey, u node.UserID, max int) int {
		var n int
		mustView(t, s, func(tx node.Tx) error {
			var err error
			n, err = tx.CountMentionsAfter("room1", u, from, max)
			return err
		})
		return n
	}
	for _, c := range []struct {
		from node.OrderKey
		u    node.UserID
		max  int
		want int
	}{
		{nil, "bob@N", 100, 4},      // 2, 4, 5 (once), 9; not his own 7
		{order(4), "bob@N", 100, 2}, // 5, 9 (from is exclusive)
		{nil, "bob@N", 2, 2},
		{nil, "carol@N", 100, 4}, // 3, 4, 5, 7
		{nil, "dave@N", 100, 3},  // 4, 5, 7: the room-wide ones
	} {
		if n := count(c.from, c.u, c.max); n != c.want {
			t.Errorf("CountMentionsAfter(%x, %s, %d) = %d; want %d", c.from, c.u, c.max, n, c.want)
		}
	}
	// Deleting 9 (the node clears a deleted message's mentions) takes it
	// out of bob's count.
	mustUpdate(t, s, func(tx node.Tx) error {
		m, err := tx.Message("room1-m9")
		if err != nil {
			return err
		}
		m.Deleted, m.Body, m.Mentions = true, "", nil
		return tx.PutMessage(m)
	})
	if n := count(nil, "bob@N", 100); n != 3 {
		t.Errorf("after deleting a mention, bob's count = %d; want 3", n)
	}
}

func order(i int) node.OrderKey {
	return node.MakeOrderKey(node.Stamp{Wall: int64(1_000_000 + i)}, node.EventID(fmt.Sprintf("e%06d", i)))
}

func message(room node.RoomID, i int, sender node.UserID) *node.Message {
	return &node.Message{
		ID: node.EventID(fmt.Sprintf("%s-m%d", room, i)), Room: room, Sender: sender,
		Body: fmt.Sprint(i), TS: int64(i), Order: order(i),
	}
}

// signer signs test events as a node of its own.
type signer struct {
	s    *node.Signer
	user node.UserID
}

func newSigner(t *testing.T) *signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := node.NewSigner(key)
	return &signer{s: s, user: node.NewUserID("alice", s.NodeID())}
}

func (g *signer) event(t *testing.T, typ node.EventType, room node.RoomID, ts int64, content any) *node.Event {
	t.Helper()
	c, err := json.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	e := &node.Event{Type: typ, Room: room, Sender: g.user, TS: ts, Content: c}
	if err := g.s.Seal(e); err != nil {
		t.Fatal(err)
	}
	return e
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, node.ErrNotFound) {
		t.Errorf("%s on an empty store: %v, want ErrNotFound", what, err)
	}
}

func testNotFound(t *testing.T, s Store) {
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Account("nobody")
		wantNotFound(t, "Account", err)
		_, err = tx.Profile("nobody@N")
		wantNotFound(t, "Profile", err)
		_, err = tx.Session("s")
		wantNotFound(t, "Session", err)
		wantNotFound(t, "DeleteSession", tx.DeleteSession("s"))
		_, err = tx.Refresh("h")
		wantNotFound(t, "Refresh", err)
		_, err = tx.Event("e")
		wantNotFound(t, "Event", err)
		if ok, err := tx.HasEvent("e"); ok || err != nil {
			t.Errorf("HasEvent = %v, %v", ok, err)
		}
		_, err = tx.RoomState("r")
		wantNotFound(t, "RoomState", err)
		_, err = tx.Message("m")
		wantNotFound(t, "Message", err)
		_, err = tx.ClientMessage("u@N", "r", "c")
		wantNotFound(t, "ClientMessage", err)
		_, err = tx.Aggregates("m")
		wantNotFound(t, "Aggregates", err)
		_, err = tx.UserReactions("m", "u@N")
		wantNotFound(t, "UserReactions", err)
		_, err = tx.ReactionState("m", "👍", "u@N")
		wantNotFound(t, "ReactionState", err)
		_, err = tx.Receipt("r", "u@N")
		wantNotFound(t, "Receipt", err)
		_, err = tx.RoomKeyRef("r", 1)
		wantNotFound(t, "RoomKeyRef", err)
		_, err = tx.LatestRoomKeyRef("r")
		wantNotFound(t, "LatestRoomKeyRef", err)
		msgs, more, err := tx.Messages("r", nil, 10)
		if len(msgs) != 0 || more || err != nil {
			t.Errorf("Messages = %d, %v, %v", len(msgs), more, err)
		}
		return nil
	})
}

func testAccounts(t *testing.T, s Store) {
	a := &node.Account{Username: "alice", PasswordHash: "h1", CreatedAt: time.Unix(1700000000, 0).UTC()}
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutAccount(a) })
	a.PasswordHash = "changed after the put"
	mustView(t, s, func(tx node.Tx) error {
		got, err := tx.Account("alice")
		if err != nil {
			return err
		}
		if got.PasswordHash != "h1" || !got.CreatedAt.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("Account = %+v", got)
		}
		return nil
	})
}

func testProfiles(t *testing.T, s Store) {
	ids := []node.UserID{"carol@N", "alice@N", "bob@M"}
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, id := range ids {
			if err := tx.PutProfile(&node.User{ID: id, DisplayName: string(id), Presence: "online", LastSeen: 7}); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		u, err := tx.Profile("bob@M")
		if err != nil {
			return err
		}
		if u.Presence != "" || u.LastSeen != 7 || u.DisplayName != "bob@M" {
			t.Errorf("Profile = %+v (presence is live state and must not be stored)", u)
		}
		var seen []node.UserID
		if err := tx.EachProfile(func(u *node.User) bool { seen = append(seen, u.ID); return true }); err != nil {
			return err
		}
		if want := []node.UserID{"alice@N", "bob@M", "carol@N"}; !slices.Equal(seen, want) {
			t.Errorf("EachProfile visited %v, want %v in ID order", seen, want)
		}
		seen = nil
		_ = tx.EachProfile(func(u *node.User) bool { seen = append(seen, u.ID); return false })
		if len(seen) != 1 {
			t.Errorf("EachProfile went on after false: %v", seen)
		}
		return nil
	})
}

func testSessions(t *testing.T, s Store) {
	exp := time.Now().Add(time.Hour)
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, ss := range []*node.Session{
			{ID: "s1", User: "alice@N", ExpiresAt: exp, Refresh: "r1"},
			{ID: "s2", User: "alice@N", ExpiresAt: exp},
			{ID: "s3", User: "alice@NN", ExpiresAt: exp},
		} {
			if err := tx.PutSession(ss); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(bg, func(tx node.Tx) error {
		return tx.PutSession(&node.Session{ID: "old", User: "alice@N", ExpiresAt: time.Now().Add(-time.Second)})
	})
	if !errors.Is(err, node.ErrInvalid) {
		t.Errorf("PutSession of an expired session = %v, want ErrInvalid", err)
	}
	sessionsOf := func(tx node.Tx, u node.UserID) []string {
		var out []string
		if err := tx.EachSessionOf(u, func(s *node.Session) bool { out = append(out, s.ID); return true }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	mustView(t, s, func(tx node.Tx) error {
		if got := sessionsOf(tx, "alice@N"); !slices.Equal(got, []string{"s1", "s2"}) {
			t.Errorf("EachSessionOf(alice@N) = %v (a user whose ID extends another's must not leak in)", got)
		}
		got, err := tx.Session("s1")
		if err != nil || got.Refresh != "r1" || got.User != "alice@N" {
			t.Errorf("Session = %+v, %v", got, err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error { return tx.DeleteSession("s1") })
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Session("s1")
		wantNotFound(t, "Session after DeleteSession", err)
		if got := sessionsOf(tx, "alice@N"); !slices.Equal(got, []string{"s2"}) {
			t.Errorf("EachSessionOf after delete = %v", got)
		}
		return nil
	})
}

func testRefresh(t *testing.T, s Store) {
	r := &node.RefreshRecord{Session: "s1", Expires: time.Now().Add(time.Hour)}
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutRefresh("h1", r) })
	mustUpdate(t, s, func(tx node.Tx) error {
		got, err := tx.Refresh("h1")
		if err != nil {
			return err
		}
		got.Used = true
		return tx.PutRefresh("h1", got)
	})
	mustView(t, s, func(tx node.Tx) error {
		got, err := tx.Refresh("h1")
		if err != nil || !got.Used || got.Session != "s1" {
			t.Errorf("Refresh = %+v, %v", got, err)
		}
		return nil
	})
}

// testSessionRefreshRecords: ending a session deletes the refresh
// records it names (the current token and the spent ones it keeps).
func testSessionRefreshRecords(t *testing.T, s Store) {
	exp := time.Now().Add(time.Hour)
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, h := range []string{"r0", "r1", "r9"} {
			if err := tx.PutRefresh(h, &node.RefreshRecord{Session: "s1", Expires: exp}); err != nil {
				return err
			}
		}
		return tx.PutSession(&node.Session{ID: "s1", User: "alice@N", ExpiresAt: exp, Refresh: "r1", Spent: []string{"r0"}})
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		got, err := tx.Session("s1")
		if err != nil || !slices.Equal(got.Spent, []string{"r0"}) {
			t.Errorf("Session = %+v, %v", got, err)
		}
		if err := tx.DeleteRefresh("nothing"); err != nil {
			t.Errorf("DeleteRefresh of an absent record = %v", err)
		}
		return tx.DeleteSession("s1")
	})
	mustView(t, s, func(tx node.Tx) error {
		for _, h := range []string{"r0", "r1"} {
			_, err := tx.Refresh(h)
			wantNotFound(t, "a deleted session's refresh record "+h, err)
		}
		if _, err := tx.Refresh("r9"); err != nil {
			t.Errorf("another record went with the session: %v", err)
		}
		return nil
	})
}

func testEvents(t *testing.T, s Store) {
	g := newSigner(t)
	e := g.event(t, node.EventMessage, "room1", 1_000_000, node.MessageContent{Body: "hello"})
	prof := g.event(t, node.EventProfile, "", 1_000_001, node.ProfileContent{DisplayName: "A"})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutEvent(e); err != nil {
			return err
		}
		return tx.PutEvent(prof)
	})
	mustView(t, s, func(tx node.Tx) error {
		for _, want := range []*node.Event{e, prof} {
			got, err := tx.Event(want.ID)
			if err != nil {
				return err
			}
			if got.ID != want.ID || string(got.Raw) != string(want.Raw) || got.Type != want.Type ||
				got.Room != want.Room || got.Sender != want.Sender || got.TS != want.TS || string(got.Content) != string(want.Content) {
				t.Errorf("Event(%s) = %+v, want %+v", want.ID, got, want)
			}
			if ok, err := tx.HasEvent(want.ID); !ok || err != nil {
				t.Errorf("HasEvent(%s) = %v, %v", want.ID, ok, err)
			}
		}
		got, _ := tx.Event(e.ID)
		got.Raw[0] = 0xEE // the caller's copy, not the store's
		again, _ := tx.Event(e.ID)
		if again.Raw[0] != node.EventVersion {
			t.Error("changing a returned event's wire form changed the stored one")
		}
		return nil
	})
}

func testTimeline(t *testing.T, s Store) {
	g := newSigner(t)
	var evs []*node.Event
	for _, ts := range []int64{5, 1, 4, 2, 3} { // stored out of order
		evs = append(evs, g.event(t, node.EventMessage, "room1", 1_000_000+ts, node.MessageContent{Body: fmt.Sprint(ts)}))
	}
	other := g.event(t, node.EventMessage, "room10", 1_000_003, node.MessageContent{Body: "other room"})
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, e := range append(evs, other) {
			if err := tx.PutEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	sorted := slices.Clone(evs)
	slices.SortFunc(sorted, func(a, b *node.Event) int { return int(a.TS - b.TS) })
	after := func(tx node.Tx, from node.OrderKey, max int) []node.EventID {
		var out []node.EventID
		err := tx.EachEventAfter("room1", from, func(id node.EventID, o node.OrderKey) bool {
			if node.IDFromOrder(o) != id {
				t.Errorf("order key %x does not end in its event ID %s", o, id)
			}
			out = append(out, id)
			return len(out) < max
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ids := func(es []*node.Event) []node.EventID {
		var out []node.EventID
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	mustView(t, s, func(tx node.Tx) error {
		if got := after(tx, nil, 100); !slices.Equal(got, ids(sorted)) {
			t.Errorf("EachEventAfter(nil) = %v, want room order %v (and nothing of room10)", got, ids(sorted))
		}
		if got := after(tx, sorted[1].Order(), 100); !slices.Equal(got, ids(sorted[2:])) {
			t.Errorf("EachEventAfter(second) = %v, want %v (from is exclusive)", got, ids(sorted[2:]))
		}
		if got := after(tx, nil, 2); len(got) != 2 {
			t.Errorf("EachEventAfter went on after false: %v", got)
		}
		return nil
	})
}

func testRoomStates(t *testing.T, s Store) {
	st := node.NewRoomState("room1")
	st.Name, st.Visibility, st.Complete = "general", node.Private, true
	st.History["alice@N"] = []node.MemberChange{{Order: order(1), State: node.MemberJoin, Role: node.RoleOwner}}
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutRoomState(st); err != nil {
			return err
		}
		// Member histories are kept one per member, apart from the
		// room's record; a nil history deletes one.
		if err := tx.PutMember("room1", "alice@N", st.History["alice@N"]); err != nil {
			return err
		}
		if err := tx.PutMember("room1", "bob@N", []node.MemberChange{{Order: order(2), State: node.MemberJoin}}); err != nil {
			return err
		}
		if err := tx.PutMember("room10", "carol@N", []node.MemberChange{{Order: order(3), State: node.MemberJoin}}); err != nil {
			return err
		}
		if err := tx.PutMember("room1", "bob@N", nil); err != nil {
			return err
		}
		return tx.PutRoomState(node.NewRoomState("room0"))
	})
	st.History["alice@N"][0].State = node.MemberBan // after the put
	mustView(t, s, func(tx node.Tx) error {
		got, err := tx.RoomState("room1")
		if err != nil {
			return err
		}
		if got.Name != "general" || !got.Complete || got.Visibility != node.Private {
			t.Errorf("RoomState = %+v", got)
		}
		if h := got.History["alice@N"]; len(h) != 1 || h[0].State != node.MemberJoin || string(h[0].Order) != string(order(1)) {
			t.Errorf("history = %+v", h)
		}
		if len(got.History) != 1 || !got.IsMember("alice@N") || got.MemberCount() != 1 {
			t.Errorf("histories = %+v: want alice's alone (bob's deleted, room10's carol elsewhere)", got.History)
		}
		var seen []node.RoomID
		err = tx.EachRoomState(func(s *node.RoomState) bool {
			if s.History == nil {
				t.Errorf("room %s has a nil history", s.ID)
			}
			seen = append(seen, s.ID)
			return true
		})
		if !slices.Equal(seen, []node.RoomID{"room0", "room1"}) {
			t.Errorf("EachRoomState = %v", seen)
		}
		return err
	})
}

func putMessages(t *testing.T, s Store, room node.RoomID, from, to int) {
	t.Helper()
	mustUpdate(t, s, func(tx node.Tx) error {
		for i := from; i < to; i++ {
			if err := tx.PutMessage(message(room, i, "alice@N")); err != nil {
				return err
			}
		}
		return nil
	})
}

func testMessages(t *testing.T, s Store) {
	putMessages(t, s, "room1", 0, 250)
	putMessages(t, s, "room10", 0, 5) // a room whose ID extends room1's
	mustView(t, s, func(tx node.Tx) error {
		page, more, err := tx.Messages("room1", nil, 100)
		if err != nil {
			return err
		}
		if len(page) != 100 || !more || page[0].Body != "249" || page[99].Body != "150" {
			t.Fatalf("first page: %d messages, more=%v", len(page), more)
		}
		if string(page[0].Order) != string(order(249)) {
			t.Errorf("Order not kept: %x", page[0].Order)
		}
		page, more, err = tx.Messages("room1", page[99].Order, 200)
		if err != nil {
			return err
		}
		if len(page) != 150 || more || page[0].Body != "149" || page[149].Body != "0" {
			t.Errorf("second page: %d messages, more=%v (before is exclusive)", len(page), more)
		}
		page, more, _ = tx.Messages("room1", order(10), 10)
		if len(page) != 10 || more || page[9].Body != "0" {
			t.Errorf("last exact page: %d, more=%v", len(page), more)
		}
		return nil
	})
}

func testMessageCopy(t *testing.T, s Store) {
	m := message("room1", 1, "alice@N")
	m.EditOrder = order(3)
	m.Attachments = []json.RawMessage{json.RawMessage(`{"id":"a"}`)}
	m.Thread, m.ReplyTo, m.ClientID = "root", "prev", "c1"
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutMessage(m) })
	mustUpdate(t, s, func(tx node.Tx) error {
		got, err := tx.Message(m.ID)
		if err != nil {
			return err
		}
		got.Body = "changed but not put"
		got.Attachments[0] = json.RawMessage(`{"id":"b"}`)
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		got, err := tx.Message(m.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Message = %+v,\nwant %+v (every field, bookkeeping included, and nothing changed without a put)", got, m)
		}
		return nil
	})
	m.Body, m.Deleted = "", true
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutMessage(m) })
	mustView(t, s, func(tx node.Tx) error {
		got, _ := tx.Message(m.ID)
		page, _, _ := tx.Messages("room1", nil, 10)
		if !got.Deleted || len(page) != 1 || !page[0].Deleted {
			t.Errorf("a rewritten message: %+v, page %d", got, len(page))
		}
		return nil
	})
}

func testThreads(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		for i := range 30 {
			m := message("room1", i, "alice@N")
			if i%3 == 0 {
				m.Thread = "root"
			}
			if err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		page, more, err := tx.ThreadMessages("room1", "root", nil, 4)
		if err != nil {
			return err
		}
		if len(page) != 4 || !more || page[0].Body != "27" || page[3].Body != "18" {
			t.Fatalf("thread page: %d, more=%v", len(page), more)
		}
		page, more, _ = tx.ThreadMessages("room1", "root", page[3].Order, 100)
		if len(page) != 6 || more || page[5].Body != "0" {
			t.Errorf("thread rest: %d, more=%v", len(page), more)
		}
		return nil
	})
}

func testCountAfter(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		for i := range 20 {
			sender := node.UserID("alice@N")
			if i%2 == 1 {
				sender = "bob@N"
			}
			m := message("room1", i, sender)
			m.Deleted = i == 18
			if err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		return tx.PutMessage(message("room10", 1, "alice@N"))
	})
	mustView(t, s, func(tx node.Tx) error {
		for _, c := range []struct {
			from node.OrderKey
			skip node.UserID
			max  int
			want int
		}{
			{nil, "bob@N", 100, 9},      // alice's ten, less the deleted one
			{order(9), "bob@N", 100, 4}, // 10..19 by alice, from exclusive: 10 12 14 16 (18 deleted)
			{nil, "carol@N", 100, 19},
			{nil, "carol@N", 5, 5},
		} {
			n, err := tx.CountMessagesAfter("room1", c.from, c.skip, c.max)
			if err != nil || n != c.want {
				t.Errorf("CountMessagesAfter(%x, %s, %d) = %d, %v; want %d", c.from, c.skip, c.max, n, err, c.want)
			}
		}
		return nil
	})
}

func testClientMessages(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutClientMessage("alice@N", "room1", "c1", "m1", time.Hour) })
	mustView(t, s, func(tx node.Tx) error {
		id, err := tx.ClientMessage("alice@N", "room1", "c1")
		if err != nil || id != "m1" {
			t.Errorf("ClientMessage = %q, %v", id, err)
		}
		_, err = tx.ClientMessage("bob@N", "room1", "c1")
		wantNotFound(t, "another user's client ID", err)
		_, err = tx.ClientMessage("alice@N", "room2", "c1")
		wantNotFound(t, "a client ID of another room", err)
		return nil
	})
}

// testAggregates: a message's thread count and reactions live in records
// of their own, which the message views show (reactions with a count,
// none once deleted) and PutMessage neither writes nor clears.
func testAggregates(t *testing.T, s Store) {
	m := message("room1", 1, "alice@N")
	m.Reactions, m.ThreadCount = []node.Reaction{{Emoji: "🎉", Count: 9}}, 9 // not a message's to store
	agg := &node.Aggregates{ThreadCount: 2, Slots: []node.ReactionSlot{
		{Key: "👍", First: order(2), Count: 2, Users: []node.UserID{"bob@N", "carol@N"}},
		{Key: "🎉", First: order(3)}, // a slot whose count fell to zero
	}}
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutMessage(m); err != nil {
			return err
		}
		return tx.PutAggregates(m.ID, agg)
	})
	agg.Slots[0].Users[0] = "changed after the put"
	want := []node.Reaction{{Emoji: "👍", Count: 2, Users: []node.UserID{"bob@N", "carol@N"}}}
	check := func(tx node.Tx, deleted bool) {
		t.Helper()
		got, err := tx.Message(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, _, _ := tx.Messages("room1", nil, 10)
		for _, v := range []*node.Message{got, page[0]} {
			wantR := want
			if deleted {
				wantR = nil
			}
			if v.ThreadCount != 2 || !reflect.DeepEqual(v.Reactions, wantR) {
				t.Errorf("view: thread count %d, reactions %+v; want 2, %+v", v.ThreadCount, v.Reactions, wantR)
			}
		}
	}
	mustView(t, s, func(tx node.Tx) error {
		check(tx, false)
		a, err := tx.Aggregates(m.ID)
		if err != nil || len(a.Slots) != 2 || a.Slots[0].Users[0] != "bob@N" || a.Slots[1].Key != "🎉" {
			t.Errorf("Aggregates = %+v, %v", a, err)
		}
		return nil
	})
	m.Body, m.Deleted = "", true
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutMessage(m) })
	mustView(t, s, func(tx node.Tx) error { check(tx, true); return nil })
}

// testReactionRecords: one user's keys on a message and the registers of
// (message, key, user), listed per key in user order.
func testReactionRecords(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutUserReactions("m1", "bob@N", &node.UserReactions{Keys: []node.UserReaction{{Key: "👍", First: order(1), On: true}}}); err != nil {
			return err
		}
		for _, r := range []struct {
			key  string
			user node.UserID
			on   bool
		}{{"👍", "carol@N", true}, {"👍", "bob@N", false}, {"👍🏽", "alice@N", true}, {"👍", "alice@NN", true}} {
			if err := tx.PutReactionState("m1", r.key, r.user, &node.ReactionState{Order: order(5), On: r.on}); err != nil {
				return err
			}
		}
		return tx.PutReactionState("m10", "👍", "dan@N", &node.ReactionState{Order: order(6), On: true})
	})
	mustView(t, s, func(tx node.Tx) error {
		ur, err := tx.UserReactions("m1", "bob@N")
		if err != nil || len(ur.Keys) != 1 || ur.Keys[0].Key != "👍" || !ur.Keys[0].On || string(ur.Keys[0].First) != string(order(1)) {
			t.Errorf("UserReactions = %+v, %v", ur, err)
		}
		st, err := tx.ReactionState("m1", "👍", "bob@N")
		if err != nil || st.On || string(st.Order) != string(order(5)) {
			t.Errorf("ReactionState = %+v, %v", st, err)
		}
		var seen []string
		err = tx.EachReactionState("m1", "👍", func(u node.UserID, st *node.ReactionState) bool {
			seen = append(seen, fmt.Sprintf("%s %v", u, st.On))
			return true
		})
		if want := []string{"alice@NN true", "bob@N false", "carol@N true"}; err != nil || !slices.Equal(seen, want) {
			t.Errorf("EachReactionState = %v, %v; want %v (one key of one message, in user order)", seen, err, want)
		}
		seen = nil
		_ = tx.EachReactionState("m1", "👍", func(u node.UserID, _ *node.ReactionState) bool { seen = append(seen, string(u)); return false })
		if len(seen) != 1 {
			t.Errorf("EachReactionState went on after false: %v", seen)
		}
		return nil
	})
}

// testExpiry checks that records written with a lifetime disappear: the
// stores count in whole seconds, so this waits about two.
func testExpiry(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutClientMessage("alice@N", "room1", "short", "m1", time.Second) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		mustView(t, s, func(tx node.Tx) error {
			_, err = tx.ClientMessage("alice@N", "room1", "short")
			return nil
		})
		if errors.Is(err, node.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a one-second record is still there after 10s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testReceipts(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, u := range []node.UserID{"bob@N", "alice@N"} {
			if err := tx.PutReceipt("room1", &node.Receipt{User: u, UpTo: "m1", Kind: "read", TS: 5, Order: order(1)}); err != nil {
				return err
			}
		}
		return tx.PutReceipt("room10", &node.Receipt{User: "carol@N", UpTo: "x", Order: order(2)})
	})
	mustView(t, s, func(tx node.Tx) error {
		r, err := tx.Receipt("room1", "bob@N")
		if err != nil || r.UpTo != "m1" || string(r.Order) != string(order(1)) {
			t.Errorf("Receipt = %+v, %v (with its order key)", r, err)
		}
		all, err := tx.Receipts("room1")
		if err != nil || len(all) != 2 {
			t.Errorf("Receipts(room1) = %d, %v (and nothing of room10)", len(all), err)
		}
		return nil
	})
}

func testRoomKeyRefs(t *testing.T, s Store) {
	ref := func(room node.RoomID, epoch uint32, ev string) *node.RoomKeyRef {
		return &node.RoomKeyRef{Room: room, Epoch: epoch, Event: node.EventID(ev), Order: order(int(epoch)), Nodes: []node.NodeID{"A", "B"}}
	}
	mustUpdate(t, s, func(tx node.Tx) error {
		// 256 and 47 have a '/' in a byte of their big-endian form; 300
		// must sort after 2 although its low byte is smaller.
		for _, r := range []*node.RoomKeyRef{ref("r", 2, "e2"), ref("r", 300, "e300"), ref("r", 1, "e1"), ref("r", 47, "e47"), ref("r", 256, "e256"), ref("r1", 9999, "other")} {
			if err := tx.PutRoomKeyRef(r); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		got, err := tx.LatestRoomKeyRef("r")
		if err != nil || got.Epoch != 300 || got.Event != "e300" {
			t.Errorf("LatestRoomKeyRef(r) = %+v, %v; want epoch 300 (and nothing of room r1)", got, err)
		}
		got, err = tx.RoomKeyRef("r", 47)
		if err != nil || !reflect.DeepEqual(got, ref("r", 47, "e47")) {
			t.Errorf("RoomKeyRef(r, 47) = %+v, %v", got, err)
		}
		_, err = tx.RoomKeyRef("r", 3)
		wantNotFound(t, "an epoch never put", err)
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error { return tx.PutRoomKeyRef(ref("r", 47, "replaced")) })
	mustView(t, s, func(tx node.Tx) error {
		got, _ := tx.RoomKeyRef("r", 47)
		if got == nil || got.Event != "replaced" {
			t.Errorf("a rewritten epoch = %+v", got)
		}
		return nil
	})
}

var errBoom = errors.New("boom")

func testUpdateAtomic(t *testing.T, s Store) {
	err := s.Update(bg, func(tx node.Tx) error {
		if err := tx.PutAccount(&node.Account{Username: "ghost"}); err != nil {
			return err
		}
		if err := tx.PutMessage(message("room1", 1, "ghost@N")); err != nil {
			return err
		}
		if _, err := tx.Account("ghost"); err != nil {
			t.Errorf("an Update does not see its own write: %v", err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Account("ghost")
		wantNotFound(t, "a failed Update's account", err)
		_, err = tx.Message("room1-m1")
		wantNotFound(t, "a failed Update's message", err)
		return nil
	})
	// The next Update starts from the state before the failed one.
	mustUpdate(t, s, func(tx node.Tx) error {
		if _, err := tx.Account("ghost"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("the next Update sees the failed one's write: %v", err)
		}
		return tx.PutAccount(&node.Account{Username: "real"})
	})
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Account("real")
		return err
	})
}

func testCommitAnyway(t *testing.T, s Store) {
	err := s.Update(bg, func(tx node.Tx) error {
		if err := tx.PutAccount(&node.Account{Username: "kept"}); err != nil {
			return err
		}
		return fmt.Errorf("revoked: %w", node.ErrCommitAnyway)
	})
	if !errors.Is(err, node.ErrCommitAnyway) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Account("kept")
		return err
	})
}

func testViewCannotWrite(t *testing.T, s Store) {
	err := s.View(bg, func(tx node.Tx) error { return tx.PutAccount(&node.Account{Username: "sneaky"}) })
	if err == nil {
		t.Fatal("a write in a View succeeded")
	}
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Account("sneaky")
		wantNotFound(t, "a View's write", err)
		return nil
	})
}

// testViewSnapshot: a View sees the state of one moment, not an Update
// that commits while it runs.
func testViewSnapshot(t *testing.T, s Store) {
	putMessages(t, s, "room1", 0, 3)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.View(bg, func(tx node.Tx) error {
			before, _, _ := tx.Messages("room1", nil, 100)
			close(started)
			<-release
			after, _, _ := tx.Messages("room1", nil, 100)
			if len(before) != 3 || len(after) != 3 {
				return fmt.Errorf("a View saw %d then %d messages, want 3 and 3", len(before), len(after))
			}
			return nil
		})
	}()
	<-started
	putMessages(t, s, "room1", 3, 6)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func testConcurrentUpdates(t *testing.T, s Store) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := s.Update(bg, func(tx node.Tx) error {
					return tx.PutMessage(message("room1", w*100+i, "alice@N"))
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mustView(t, s, func(tx node.Tx) error {
		n, err := tx.CountMessagesAfter("room1", nil, "", 1000)
		if n != 200 {
			t.Errorf("%d messages after 200 concurrent Updates", n)
		}
		return err
	})
}

// testDurableOrder: Durable callbacks run in the order Durable was called,
// each after the Updates that returned before its call, whatever goroutine
// calls. The node's delivery order rests on this.
func testDurableOrder(t *testing.T, s Store) {
	var mu sync.Mutex // serialises each Update with its Durable call
	var got []int
	var seenMu sync.Mutex
	var wg sync.WaitGroup
	const n = 200
	wg.Add(n)
	for i := range n {
		go func() {
			mu.Lock()
			defer mu.Unlock()
			if err := s.Update(bg, func(tx node.Tx) error { return tx.PutMessage(message("room1", i, "alice@N")) }); err != nil {
				t.Error(err)
			}
			seenMu.Lock()
			ticket := len(got)
			got = append(got, -1)
			seenMu.Unlock()
			s.Durable(func(err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("Durable: %v", err)
				}
				// The Update before this call is readable.
				var ok bool
				_ = s.View(bg, func(tx node.Tx) error {
					_, e := tx.Message(message("room1", i, "alice@N").ID)
					ok = e == nil
					return nil
				})
				if !ok {
					t.Errorf("callback %d ran before its Update was stored", ticket)
				}
				seenMu.Lock()
				got[ticket] = ticket
				for j := range ticket {
					if got[j] != j {
						t.Errorf("callback %d ran before callback %d", ticket, j)
					}
				}
				seenMu.Unlock()
			})
		}()
	}
	wg.Wait()
}

func testCanceled(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	ran := false
	if err := s.Update(ctx, func(node.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a canceled context = %v (ran %v)", err, ran)
	}
	if err := s.View(ctx, func(node.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with a canceled context = %v (ran %v)", err, ran)
	}
}

// testClose: Close runs the callbacks already queued; later Updates and
// Durable calls fail with ErrClosed.
func testClose(t *testing.T, s Store) {
	putMessages(t, s, "room1", 0, 1)
	done := make(chan error, 1)
	s.Durable(func(err error) { done <- err })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("a callback queued before Close got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not run the queued callback")
	}
	if err := s.Update(bg, func(node.Tx) error { return nil }); !errors.Is(err, node.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	late := make(chan error, 1)
	s.Durable(func(err error) { late <- err })
	select {
	case err := <-late:
		if !errors.Is(err, node.ErrClosed) {
			t.Errorf("Durable after Close = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Durable after Close never called back")
	}
}
