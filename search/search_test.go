package search_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/search"
	"github.com/hearth-chat/hearth/store"
)

// env is a node on real Badger files with a real index, in one data
// directory, that a test can stop and start again.
type env struct {
	t   *testing.T
	dir string
	key ed25519.PrivateKey
	db  *store.DB
	idx *search.Index
	n   *node.Node
	now func() time.Time // the node's clock; time.Now when nil
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir(), key: k}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "db"), store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	idx, err := search.Open(filepath.Join(e.dir, "search"), nil)
	if err != nil {
		db.Close()
		e.t.Fatal(err)
	}
	n, err := node.New(context.Background(), node.Config{
		Store: db, Key: e.key, HashConcurrency: 4, Search: idx, SearchDelay: 5 * time.Millisecond, Now: e.now,
	})
	if err != nil {
		idx.Close()
		db.Close()
		e.t.Fatal(err)
	}
	e.db, e.idx, e.n = db, idx, n
}

func (e *env) stop() {
	if e.n == nil {
		return
	}
	e.n.Close()
	e.idx.Close()
	e.db.Close()
	e.n = nil
}

func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// settled waits until the index has been built and has taken every
// queued change.
func (e *env) settled() {
	e.t.Helper()
	poll.Until(e.t, 10*time.Second, func() error {
		q, built, ok, err := e.n.SearchBacklog(context.Background())
		if err != nil || !ok {
			return fmt.Errorf("backlog: %v %v", ok, err)
		}
		if q > 0 || !built {
			return fmt.Errorf("%d queued, built %v", q, built)
		}
		return nil
	})
}

func (e *env) user(name string) node.UserID {
	e.t.Helper()
	u, err := e.n.Register(context.Background(), name, "password123", "")
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func (e *env) room(u node.UserID, name, visibility string, o node.RoomOptions) node.RoomID {
	e.t.Helper()
	r, err := e.n.CreateRoomWith(context.Background(), u, name, "", visibility, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.ID
}

func (e *env) send(u node.UserID, room node.RoomID, body string) *node.Message {
	e.t.Helper()
	m, err := e.n.Send(context.Background(), u, node.SendParams{Room: room, Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) search(u node.UserID, p node.SearchParams) ([]*node.Message, bool) {
	e.t.Helper()
	msgs, more, err := e.n.Search(context.Background(), u, p)
	if err != nil {
		e.t.Fatalf("search %+v: %v", p, err)
	}
	return msgs, more
}

func bodies(msgs []*node.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

// found waits until the search finds exactly want (bodies, in order).
func (e *env) found(u node.UserID, p node.SearchParams, want ...string) {
	e.t.Helper()
	poll.Until(e.t, 10*time.Second, func() error {
		msgs, _, err := e.n.Search(context.Background(), u, p)
		if err != nil {
			return poll.Stop(err)
		}
		if got := bodies(msgs); !slices.Equal(got, want) {
			return fmt.Errorf("search %q found %q, want %q", p.Text, got, want)
		}
		return nil
	})
}

func TestSearchFindsEditedByNewTextAndNotDeleted(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	first := e.send(alice, room, "the quick brown fox")
	e.send(alice, room, "a lazy dog sleeps")
	gone := e.send(alice, room, "brown bread for breakfast")
	e.found(alice, node.SearchParams{Text: "brown"}, "brown bread for breakfast", "the quick brown fox")

	ctx := context.Background()
	if _, err := e.n.Edit(ctx, alice, room, first.ID, "the quick red panda"); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Delete(ctx, alice, room, gone.ID); err != nil {
		t.Fatal(err)
	}
	e.found(alice, node.SearchParams{Text: "panda"}, "the quick red panda")
	e.settled()
	e.found(alice, node.SearchParams{Text: "brown"})
	e.found(alice, node.SearchParams{Text: "breakfast"})
	msgs, _ := e.search(alice, node.SearchParams{Text: "quick"})
	if len(msgs) != 1 || msgs[0].EditedAt == 0 || msgs[0].Body != "the quick red panda" {
		t.Fatalf("quick found %+v, want the edited message with its current text", msgs)
	}
}

func TestSearchQueryKinds(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	bob := e.user("bobby")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	other := e.room(alice, "random", node.Public, node.RoomOptions{})
	if _, err := e.n.Join(context.Background(), bob, room); err != nil {
		t.Fatal(err)
	}
	e.send(alice, room, "Deploying the new release tonight")
	e.send(bob, room, "the release notes are ready")
	e.send(alice, other, "notes on the café menu")
	e.send(alice, room, "東京都に行きます")
	e.send(bob, room, "Ünïcödé release")
	e.settled()
	cases := []struct {
		name string
		p    node.SearchParams
		want []string
	}{
		{"word, any case", node.SearchParams{Text: "RELEASE"}, []string{"Ünïcödé release", "the release notes are ready", "Deploying the new release tonight"}},
		{"all words", node.SearchParams{Text: "release notes"}, []string{"the release notes are ready"}},
		{"phrase", node.SearchParams{Text: `"new release"`}, []string{"Deploying the new release tonight"}},
		{"phrase in other order", node.SearchParams{Text: `"release new"`}, nil},
		{"prefix", node.SearchParams{Text: "deploy*"}, []string{"Deploying the new release tonight"}},
		{"excluded word", node.SearchParams{Text: "release -notes -tonight"}, []string{"Ünïcödé release"}},
		{"folded accents", node.SearchParams{Text: "cafe"}, []string{"notes on the café menu"}},
		{"accents in the query", node.SearchParams{Text: "unicode"}, []string{"Ünïcödé release"}},
		{"CJK", node.SearchParams{Text: "東京"}, []string{"東京都に行きます"}},
		{"room filter", node.SearchParams{Text: "notes", Room: other}, []string{"notes on the café menu"}},
		{"sender filter", node.SearchParams{Text: "release", Sender: bob}, []string{"Ünïcödé release", "the release notes are ready"}},
		{"punctuation only", node.SearchParams{Text: "?!"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, _ := e.search(alice, c.p)
			if got := bodies(msgs); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("found %q, want %q", got, c.want)
			}
		})
	}
}

func TestSearchPagesNewestFirstAndByRelevance(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	var want []string
	for i := range 25 {
		b := fmt.Sprintf("match number %02d", i)
		e.send(alice, room, b)
		want = append([]string{b}, want...)
	}
	e.send(alice, room, "match match match match")
	e.settled()
	var got []string
	var before node.EventID
	for {
		msgs, more := e.search(alice, node.SearchParams{Text: "number", Before: before, Limit: 10})
		got = append(got, bodies(msgs)...)
		if !more {
			break
		}
		before = msgs[len(msgs)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %q, want %q", got, want)
	}
	msgs, more := e.search(alice, node.SearchParams{Text: "match", Relevance: true, Limit: 1})
	if len(msgs) != 1 || msgs[0].Body != "match match match match" || !more {
		t.Fatalf("most relevant = %q (more %v)", bodies(msgs), more)
	}
	msgs, _ = e.search(alice, node.SearchParams{Text: "match", Relevance: true, Skip: 1, Limit: 1})
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Body, "match number") {
		t.Fatalf("second most relevant = %q, want one of the equally relevant others", bodies(msgs))
	}
}

// TestSearchAcrossTime: messages months and days apart are found newest
// first, page by page, whatever window of time the index looks in first,
// and date filters keep to their bounds.
func TestSearchAcrossTime(t *testing.T) {
	var clock atomic.Int64
	start := time.Now().Add(-800 * 24 * time.Hour)
	clock.Store(start.UnixMilli())
	e := &env{t: t, dir: t.TempDir(), now: func() time.Time { return time.UnixMilli(clock.Load()) }}
	_, e.key, _ = ed25519.GenerateKey(rand.Reader)
	e.start()
	t.Cleanup(e.stop)
	search.SetWindowsForTest(e.idx, 0, 3)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	// 12 messages, each older one further back: minutes, then days, then
	// hundreds of days apart.
	gaps := []time.Duration{0, time.Minute, time.Hour, 20 * time.Hour, 3 * 24 * time.Hour, 10 * 24 * time.Hour,
		30 * 24 * time.Hour, 100 * 24 * time.Hour, 200 * 24 * time.Hour, 300 * 24 * time.Hour, time.Minute, time.Second}
	var want []string
	var sent []*node.Message
	for i, g := range gaps {
		clock.Add(g.Milliseconds())
		m := e.send(alice, room, fmt.Sprintf("era %02d", i))
		sent = append(sent, m)
		want = append([]string{m.Body}, want...)
	}
	e.settled()
	for _, limit := range []int{1, 2, 5, 20} {
		var got []string
		var before node.EventID
		for {
			msgs, more := e.search(alice, node.SearchParams{Text: "era", Before: before, Limit: limit})
			got = append(got, bodies(msgs)...)
			if !more {
				break
			}
			before = msgs[len(msgs)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: pages = %q, want %q", limit, got, want)
		}
	}
	e.found(alice, node.SearchParams{Text: "era", Since: sent[3].TS, Until: sent[8].TS}, "era 07", "era 06", "era 05", "era 04", "era 03")
	// Relevance ranks among about the newest 3 matches here (a window
	// sized for them), widened until it holds a page.
	msgs, _ := e.search(alice, node.SearchParams{Text: "era", Relevance: true, Limit: 2})
	for _, m := range msgs {
		if !slices.Contains(want[:6], m.Body) {
			t.Fatalf("relevance found %q, want among the newest", bodies(msgs))
		}
	}
	if msgs, _ := e.search(alice, node.SearchParams{Text: "era", Relevance: true, Limit: 20}); len(msgs) != len(want) {
		t.Fatalf("relevance, page of 20: %d found, want all %d", len(msgs), len(want))
	}
	e.found(alice, node.SearchParams{Text: "era", Until: sent[1].TS}, "era 00")
	e.found(alice, node.SearchParams{Text: "era", Since: sent[10].TS, Limit: 1}, "era 11")
}

func TestSearchFilters(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	a := e.send(alice, room, "report one")
	b := e.send(alice, room, "report two")
	c := e.send(alice, room, "report three")
	e.settled()
	e.found(alice, node.SearchParams{Text: "report", Since: b.TS, Until: c.TS + 1}, filterTS([]*node.Message{c, b, a}, b.TS, c.TS+1)...)
	e.found(alice, node.SearchParams{Text: "report", Until: a.TS + 1}, filterTS([]*node.Message{c, b, a}, 0, a.TS+1)...)
	e.found(alice, node.SearchParams{Text: "report", HasFile: true})
	e.found(alice, node.SearchParams{Sender: alice, Limit: 2}, "report three", "report two")
}

// filterTS is what a date filter must keep of msgs (newest first), given
// that several may share a ms.
func filterTS(msgs []*node.Message, since, until int64) []string {
	var out []string
	for _, m := range msgs {
		if m.TS >= since && m.TS < until {
			out = append(out, m.Body)
		}
	}
	return out
}

func TestSearchOnlyReadableRooms(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	bob := e.user("bobby")
	carol := e.user("carol")
	private := e.room(alice, "secret", node.Private, node.RoomOptions{})
	public := e.room(bob, "lobby", node.Public, node.RoomOptions{})
	if err := e.n.Invite(context.Background(), alice, private, carol); err != nil {
		t.Fatal(err)
	}
	e.send(alice, private, "the launch code is 1234")
	e.send(bob, public, "launch party on friday")
	e.settled()
	// Alice is a member of the private room and may read the public one.
	e.found(alice, node.SearchParams{Text: "launch"}, "launch party on friday", "the launch code is 1234")
	// Bob is in neither the private room nor invited: only the public one.
	e.found(bob, node.SearchParams{Text: "launch"}, "launch party on friday")
	// An invitee does not read the room yet.
	e.found(carol, node.SearchParams{Text: "launch"}, "launch party on friday")
	if _, _, err := e.n.Search(context.Background(), bob, node.SearchParams{Text: "launch", Room: private}); !errors.Is(err, node.ErrForbidden) && !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("bob searching the private room: %v, want forbidden or not found", err)
	}
	// Paging from a message bob cannot read is refused like one that
	// does not exist.
	msgs, _ := e.search(alice, node.SearchParams{Text: "code"})
	if _, _, err := e.n.Search(context.Background(), bob, node.SearchParams{Text: "launch", Before: msgs[0].ID}); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("bob paging from a private message: %v, want invalid", err)
	}
	// Once carol joins she finds it; once alice leaves she does not.
	if _, err := e.n.Join(context.Background(), carol, private); err != nil {
		t.Fatal(err)
	}
	e.found(carol, node.SearchParams{Text: "launch"}, "launch party on friday", "the launch code is 1234")
	if err := e.n.Leave(context.Background(), alice, private); err != nil {
		t.Fatal(err)
	}
	e.found(alice, node.SearchParams{Text: "launch"}, "launch party on friday")
}

func TestSearchNeverIndexesEncryptedRooms(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	enc := e.room(alice, "e2ee", node.Private, node.RoomOptions{Encrypted: true})
	later := e.room(alice, "later", node.Public, node.RoomOptions{})
	plain := e.room(alice, "plain", node.Public, node.RoomOptions{})
	ct := json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEhBxsecret","session_id":"S"}`)
	if _, err := e.n.Send(context.Background(), alice, node.SendParams{Room: enc, Encrypted: ct}); err != nil {
		t.Fatal(err)
	}
	e.send(alice, later, "said before encryption")
	e.send(alice, plain, "said in the clear")
	e.settled()
	if n, err := e.idx.Count(); err != nil || n != 2 {
		t.Fatalf("index holds %d messages (%v), want the 2 plain ones", n, err)
	}
	if _, err := e.n.EnableEncryption(context.Background(), alice, later); err != nil {
		t.Fatal(err)
	}
	e.found(alice, node.SearchParams{Text: "said"}, "said in the clear")
	msgs, _ := e.search(alice, node.SearchParams{Text: "said", Room: later})
	if len(msgs) != 0 {
		t.Fatalf("an encrypted room was searched: %q", bodies(msgs))
	}
	// A build from the store leaves encrypted rooms out too.
	e.stop()
	if err := os.RemoveAll(filepath.Join(e.dir, "search")); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.settled()
	if n, err := e.idx.Count(); err != nil || n != 1 {
		t.Fatalf("rebuilt index holds %d messages (%v), want the 1 of the plain room", n, err)
	}
}

func TestSearchSurvivesRestartAndRebuilds(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	other := e.room(alice, "other", node.Public, node.RoomOptions{})
	// More than a page of history in one room (the build reads rooms a
	// page at a time, merging them newest first).
	for i := range node.MaxPageLimit + 10 {
		e.send(alice, other, fmt.Sprintf("filler %d", i))
		if i%8 == 0 {
			e.send(alice, room, fmt.Sprintf("persistent message %d", i/8))
		}
	}
	for i := range 3 {
		e.send(alice, room, fmt.Sprintf("persistent message %d", 27+i))
	}
	edited := e.send(alice, room, "original wording")
	if _, err := e.n.Edit(context.Background(), alice, room, edited.ID, "revised wording"); err != nil {
		t.Fatal(err)
	}
	e.settled()
	e.restart()
	e.settled()
	msgs, _ := e.search(alice, node.SearchParams{Text: "persistent", Limit: 100})
	if len(msgs) != 30 {
		t.Fatalf("after a restart %d found, want 30", len(msgs))
	}

	// The index directory deleted: built again from the store.
	e.stop()
	if err := os.RemoveAll(filepath.Join(e.dir, "search")); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.settled()
	msgs, _ = e.search(alice, node.SearchParams{Text: "persistent", Limit: 100})
	if len(msgs) != 30 {
		t.Fatalf("after a rebuild %d found, want 30", len(msgs))
	}
	if n, err := e.idx.Count(); err != nil || n != 30+node.MaxPageLimit+10+1 {
		t.Fatalf("rebuilt index holds %d messages (%v), want every one", n, err)
	}
	e.found(alice, node.SearchParams{Text: "wording"}, "revised wording")
	e.found(alice, node.SearchParams{Text: "original"})

	// An index of another format is thrown away and built again.
	e.stop()
	if err := search.SetFormatForTest(filepath.Join(e.dir, "search"), "0"); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.settled()
	e.found(alice, node.SearchParams{Text: "revised"}, "revised wording")
}

// TestSearchCatchesUpAfterCrash: changes queued in the store but not yet
// indexed (the node stopped before its worker ran) are indexed on the
// next start.
func TestSearchCatchesUpAfterCrash(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	e.send(alice, room, "before the crash")
	e.settled()
	// A node whose worker never gets to index: its delay is longer than
	// the test.
	e.stop()
	db, err := store.Open(filepath.Join(e.dir, "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(filepath.Join(e.dir, "search"), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(context.Background(), node.Config{Store: db, Key: e.key, Search: idx, SearchDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m, err := n.Send(context.Background(), alice, node.SendParams{Room: room, Body: "queued while the index slept"})
	if err != nil {
		t.Fatal(err)
	}
	q, _, _, err := n.SearchBacklog(context.Background())
	if err != nil || q != 1 {
		t.Fatalf("backlog = %d (%v), want 1", q, err)
	}
	n.Close()
	idx.Close()
	db.Close()
	e.start()
	e.found(alice, node.SearchParams{Text: "slept"}, m.Body)
	e.settled()
}

func TestSearchRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	room := e.room(alice, "general", node.Public, node.RoomOptions{})
	long := make([]byte, node.MaxSearchQuery+1)
	for i := range long {
		long[i] = 'a'
	}
	cases := map[string]node.SearchParams{
		"empty":              {},
		"too long":           {Text: string(long)},
		"invalid UTF-8":      {Text: "bad \xff text"},
		"NUL":                {Text: "a\x00b"},
		"short prefix":       {Text: "ab*"},
		"only exclusions":    {Text: "-spam"},
		"limit too large":    {Text: "x", Limit: node.MaxSearchLimit + 1},
		"negative limit":     {Text: "x", Limit: -1},
		"skip newest first":  {Text: "x", Skip: 5},
		"before relevance":   {Text: "x", Before: "abc", Relevance: true},
		"skip too deep":      {Text: "x", Relevance: true, Skip: node.MaxSearchSkip + 1},
		"bad sender":         {Text: "x", Sender: "not a user"},
		"until before since": {Text: "x", Since: 2000, Until: 1000},
		"unknown before":     {Text: "x", Before: "nosuchmessage"},
		"too many words":     {Text: "a b c d e f g h i j k l m n o p q"},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := e.n.Search(context.Background(), alice, p); !errors.Is(err, node.ErrInvalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
		})
	}
	if _, _, err := e.n.Search(context.Background(), alice, node.SearchParams{Text: "x", Room: "nosuchroom"}); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("unknown room: %v, want not found", err)
	}
	_ = room
}

// TestRelevanceScoresOnlyTheWords checks that who may see what and the
// filters do not add to a relevance score: the same words in a quiet
// room and a busy one score the same (ties are newest first), where a
// scored room term would rank the quiet room's rarer term first.
func TestRelevanceScoresOnlyTheWords(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	quiet := e.room(alice, "quiet", node.Private, node.RoomOptions{})
	busy := e.room(alice, "busy", node.Private, node.RoomOptions{})
	e.send(alice, quiet, "apple pie tonight")
	for i := range 30 {
		e.send(alice, busy, fmt.Sprintf("chatter %d", i))
	}
	e.send(alice, busy, "apple pie tonight?")
	e.settled()
	msgs, _ := e.search(alice, node.SearchParams{Text: "apple pie", Relevance: true})
	if len(msgs) != 2 || msgs[0].Room != busy {
		t.Fatalf("relevance found %q in rooms %v, want the newer (busy room) first", bodies(msgs), []node.RoomID{msgs[0].Room})
	}
}
