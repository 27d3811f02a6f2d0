package node_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// The state-machine test drives a real Badger-backed node with random
// sequences of valid (and some refused) operations by several users, and
// checks it against a model after every step:
//
//   - every operation is allowed or refused as the model says, so no
//     user reads or writes what they may not;
//   - history, single messages, room views and room lists show each user
//     exactly what they may see (invitees and strangers no content);
//   - reactions and thread counts are what the model computes, within
//     their caps, and records stay small (a message view is its body plus
//     a bounded summary; a room snapshot grows with membership changes,
//     never with messages or reactions);
//   - a node reopened from the same directory shows the same state.

// smUsers are the users of a run.
var smUsers = []string{"ann", "ben", "cat", "dan"}

// smKeys are reaction keys: more than MaxReactionKeys, a few invalid.
var smKeys = func() []string {
	var ks []string
	for i := range 26 {
		ks = append(ks, string(rune(0x1F600+i)))
	}
	return append(ks, ":party:", "not emoji", "👍👍")
}()

type smMessage struct {
	id      node.EventID
	sender  node.UserID
	body    string
	deleted bool
	thread  node.EventID
	replies int
	slots   []string
	keys    map[node.UserID][]string
	on      map[string]map[node.UserID]bool
}

type smRoom struct {
	id      node.RoomID
	public  bool
	members map[node.UserID]string // join, invite, leave
	msgs    []*smMessage
	rc      int // membership changes applied
}

type smWorld struct {
	t     testing.TB
	ctx   context.Context
	dir   string
	key   []byte
	db    *store.DB
	n     *node.Node
	users []node.UserID
	rooms []*smRoom
	step  int
	ops   []int // operations to choose from, repeated by weight (do)
	focus bool  // act in the first room and on its first message
}

// Operation mixes: mixed is create 1, join 2, invite 1, leave 1, send 4,
// edit or delete 2, react 4, read 1; reactive piles reactions on a few
// message (with focus), to reach the caps.
var (
	smMixed    = []int{0, 1, 1, 2, 3, 4, 4, 4, 4, 6, 6, 7, 7, 7, 7, 9}
	smReactive = []int{0, 1, 1, 1, 4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}
)

func newSMWorld(t testing.TB) *smWorld {
	w := &smWorld{t: t, ctx: context.Background(), dir: t.TempDir(), key: mustKey(t), ops: smMixed}
	w.open()
	for _, name := range smUsers {
		u, err := w.n.Register(w.ctx, name, "correct horse", "")
		if err != nil {
			t.Fatal(err)
		}
		w.users = append(w.users, u.ID)
	}
	return w
}

// clone starts a world from a copy of w's closed directory, which saves
// the password hashes of registering its users again.
func (w *smWorld) clone(t testing.TB) *smWorld {
	c := &smWorld{t: t, ctx: w.ctx, dir: t.TempDir(), key: w.key, ops: w.ops, users: w.users}
	if err := os.CopyFS(c.dir, os.DirFS(w.dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c.open()
	return c
}

func (w *smWorld) open() {
	db, err := store.Open(w.dir, store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	n, err := node.New(w.ctx, node.Config{Store: db, Key: w.key, HashConcurrency: 4})
	if err != nil {
		w.t.Fatal(err)
	}
	w.db, w.n = db, n
}

func (w *smWorld) close() {
	w.n.Close()
	if err := w.db.Close(); err != nil {
		w.t.Fatal(err)
	}
}

// expect checks an operation's outcome against the model's verdict.
func (w *smWorld) expect(op string, allowed bool, err error) bool {
	w.t.Helper()
	if allowed && err != nil {
		w.t.Fatalf("step %d: %s refused: %v", w.step, op, err)
	}
	if !allowed && err == nil {
		w.t.Fatalf("step %d: %s allowed, the model refuses it", w.step, op)
	}
	return allowed
}

func (r *smRoom) state(u node.UserID) string { return r.members[u] }

// readable reports whether u may read r's messages.
func (r *smRoom) readable(u node.UserID) bool { return r.public || r.state(u) == "join" }

// do runs one operation chosen by c (a source of choices).
func (w *smWorld) do(c func(n int) int) {
	w.step++
	u := w.users[c(len(w.users))]
	var r *smRoom
	if len(w.rooms) > 0 {
		r = w.rooms[c(len(w.rooms))]
		if w.focus {
			r = w.rooms[0]
		}
		// Mostly act as a member, so that most operations do something;
		// the rest try what the rules must refuse.
		var in []node.UserID
		for _, v := range w.users {
			if r.state(v) == "join" {
				in = append(in, v)
			}
		}
		if len(in) > 0 && c(4) != 0 {
			u = in[c(len(in))]
		}
	}
	pickMsg := func() *smMessage {
		if r == nil || len(r.msgs) == 0 {
			return nil
		}
		if w.focus {
			return r.msgs[0]
		}
		return r.msgs[max(0, len(r.msgs)-1-c(4))] // the newest few
	}
	op := w.ops[c(len(w.ops))]
	switch {
	case op == 0 || r == nil:
		vis := node.Public
		if c(2) == 0 {
			vis = node.Private
		}
		room, err := w.n.CreateRoom(w.ctx, u, fmt.Sprint("room ", len(w.rooms)), "", vis)
		w.expect("create", true, err)
		w.rooms = append(w.rooms, &smRoom{id: room.ID, public: vis == node.Public, members: map[node.UserID]string{u: "join"}, rc: 1})
	case op == 1:
		_, err := w.n.Join(w.ctx, u, r.id)
		st := r.state(u)
		if w.expect("join", r.public || st == "invite" || st == "join", err) && st != "join" {
			r.members[u] = "join"
			r.rc++
		}
	case op == 2:
		target := w.users[c(len(w.users))]
		err := w.n.Invite(w.ctx, u, r.id, target)
		// Inviting a member or invitee again is a no-op, not an error.
		if w.expect("invite", r.state(u) == "join", err) && r.state(target) != "join" && r.state(target) != "invite" {
			r.members[target] = "invite"
			r.rc++
		}
	case op == 3:
		err := w.n.Leave(w.ctx, u, r.id)
		st := r.state(u)
		if w.expect("leave", st == "join" || st == "invite", err) {
			r.members[u] = "leave"
			r.rc++
		}
	case op <= 5:
		p := node.SendParams{Room: r.id, Body: fmt.Sprintf("message %d by %s", w.step, u)}
		var root *smMessage
		if m := pickMsg(); m != nil && c(3) == 0 && m.thread == "" {
			root, p.Thread = m, m.id
		}
		m, err := w.n.Send(w.ctx, u, p)
		if w.expect("send", r.state(u) == "join", err) {
			r.msgs = append(r.msgs, &smMessage{id: m.ID, sender: u, body: p.Body, thread: p.Thread,
				keys: map[node.UserID][]string{}, on: map[string]map[node.UserID]bool{}})
			if root != nil {
				root.replies++
			}
		}
	case op == 6:
		m := pickMsg()
		if m == nil {
			return
		}
		body := fmt.Sprintf("edited at %d", w.step)
		if c(2) == 0 {
			_, err := w.n.Edit(w.ctx, u, r.id, m.id, body)
			if w.expect("edit", r.state(u) == "join" && m.sender == u && !m.deleted, err) {
				m.body = body
			}
		} else {
			err := w.n.Delete(w.ctx, u, r.id, m.id)
			if w.expect("delete", r.state(u) == "join" && m.sender == u, err) {
				m.deleted, m.body = true, ""
			}
		}
	case op == 7:
		m := pickMsg()
		if m == nil {
			return
		}
		key, on := smKeys[c(len(smKeys))], c(4) != 0
		_, err := w.n.React(w.ctx, u, r.id, m.id, key, on)
		allowed, ok := m.react(u, key, on, r.state(u) == "join")
		if !ok {
			if err == nil {
				w.t.Fatalf("step %d: react %q allowed, the model refuses it", w.step, key)
			}
			return
		}
		w.expect("react", allowed, err)
	default:
		m := pickMsg()
		if m == nil {
			return
		}
		err := w.n.MarkRead(w.ctx, u, r.id, m.id)
		w.expect("read", r.state(u) == "join", err)
	}
}

// react applies a reaction change to the model: ok is false when the
// node must refuse it (a bad key, past a cap, not a member, deleted).
func (m *smMessage) react(u node.UserID, key string, on, member bool) (allowed, ok bool) {
	if !node.ValidReactionKey(key) || !member || m.deleted {
		return false, false
	}
	inSlots, inKeys := slices.Contains(m.slots, key), slices.Contains(m.keys[u], key)
	active := inSlots && inKeys && m.on[key][u]
	if !on || active {
		if active && !on {
			m.on[key][u] = false
		}
		return true, true
	}
	if !inSlots && len(m.slots) >= node.MaxReactionKeys || !inKeys && len(m.keys[u]) >= node.MaxUserReactions {
		return false, false
	}
	if !inSlots {
		m.slots = append(m.slots, key)
	}
	if !inKeys {
		m.keys[u] = append(m.keys[u], key)
	}
	if m.on[key] == nil {
		m.on[key] = map[node.UserID]bool{}
	}
	m.on[key][u] = true
	return true, true
}

// wantReactions is the model's view of m's reactions for viewer.
func (m *smMessage) wantReactions(viewer node.UserID) []node.Reaction {
	if m.deleted {
		return nil
	}
	var out []node.Reaction
	for _, k := range m.slots {
		r := node.Reaction{Emoji: k}
		for u, on := range m.on[k] {
			if on {
				r.Count++
				r.Me = r.Me || u == viewer
			}
		}
		if r.Count > 0 {
			out = append(out, r)
		}
	}
	return out
}

// check compares what every user sees with the model.
func (w *smWorld) check() {
	w.t.Helper()
	for _, u := range w.users {
		rooms, err := w.n.Rooms(w.ctx, u)
		if err != nil {
			w.t.Fatal(err)
		}
		var got, want []node.RoomID
		for _, r := range rooms {
			got = append(got, r.ID)
		}
		for _, r := range w.rooms {
			if st := r.state(u); st == "join" || st == "invite" {
				want = append(want, r.id)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			w.t.Fatalf("step %d: %s's rooms %v, want %v", w.step, u, got, want)
		}
		for _, r := range w.rooms {
			w.checkRoom(u, r)
		}
	}
}

func (w *smWorld) checkRoom(u node.UserID, r *smRoom) {
	w.t.Helper()
	view, err := w.n.Room(w.ctx, u, r.id)
	st := r.state(u)
	visible := r.public || st == "join" || st == "invite"
	if visible != (err == nil) {
		w.t.Fatalf("step %d: %s sees room %s: %v (state %q, public %v)", w.step, u, r.id, err, st, r.public)
	}
	if err == nil && st != "join" && (view.LastMessage != nil || view.Unread != nil || len(view.Invited) > 1) {
		w.t.Fatalf("step %d: %s (%q) sees content of %s: %+v", w.step, u, st, r.id, view)
	}
	page, _, err := w.n.History(w.ctx, u, r.id, "", "", node.MaxPageLimit)
	if r.readable(u) != (err == nil) {
		w.t.Fatalf("step %d: %s reads %s: %v (state %q, public %v)", w.step, u, r.id, err, st, r.public)
	}
	if err != nil {
		for _, m := range r.msgs {
			if _, err := w.n.Message(w.ctx, u, r.id, m.id); err == nil {
				w.t.Fatalf("step %d: %s read message %s of %s", w.step, u, m.id, r.id)
			}
		}
		return
	}
	byID := map[node.EventID]*node.Message{}
	for _, m := range page {
		byID[m.ID] = m
	}
	if len(page) != min(len(r.msgs), node.MaxPageLimit) {
		w.t.Fatalf("step %d: %d messages in %s, want %d", w.step, len(page), r.id, len(r.msgs))
	}
	for _, want := range r.msgs {
		got := byID[want.id]
		if got == nil {
			continue // beyond the page
		}
		if got.Body != want.body || got.Deleted != want.deleted || got.ThreadCount != want.replies {
			w.t.Fatalf("step %d: message %s = %q deleted %v replies %d, want %q %v %d",
				w.step, want.id, got.Body, got.Deleted, got.ThreadCount, want.body, want.deleted, want.replies)
		}
		rs := slices.Clone(got.Reactions)
		for i := range rs {
			if len(rs[i].Users) > node.ReactionSample || len(rs[i].Users) > rs[i].Count {
				w.t.Fatalf("step %d: sample %v of %d", w.step, rs[i].Users, rs[i].Count)
			}
			rs[i].Users = nil
		}
		same := func(a, b node.Reaction) bool { return a.Emoji == b.Emoji && a.Count == b.Count && a.Me == b.Me }
		if wantR := want.wantReactions(u); !slices.EqualFunc(rs, wantR, same) {
			w.t.Fatalf("step %d: %s sees reactions %+v on %s, want %+v", w.step, u, rs, want.id, wantR)
		}
		if b, _ := json.Marshal(got); len(b) > len(got.Body)+4<<10 {
			w.t.Fatalf("step %d: message view of %d bytes", w.step, len(b))
		}
	}
}

// snapshot is what users see, for comparing a node with its reopened self.
func (w *smWorld) snapshot() string {
	w.t.Helper()
	type seen struct {
		Rooms   []*node.Room
		History map[node.RoomID][]*node.Message
	}
	out := map[node.UserID]seen{}
	for _, u := range w.users {
		rooms, err := w.n.Rooms(w.ctx, u)
		if err != nil {
			w.t.Fatal(err)
		}
		s := seen{Rooms: rooms, History: map[node.RoomID][]*node.Message{}}
		for _, r := range w.rooms {
			if page, _, err := w.n.History(w.ctx, u, r.id, "", "", node.MaxPageLimit); err == nil {
				for _, m := range page {
					for i := range m.Reactions {
						slices.Sort(m.Reactions[i].Users) // a sample: its order may follow arrival
					}
				}
				s.History[r.id] = page
			}
		}
		out[u] = s
	}
	b, err := json.Marshal(out)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// checkRecords checks that stored records stay small: a room snapshot
// grows with membership changes only, and a message's aggregates stay
// within the caps.
func (w *smWorld) checkRecords() {
	w.t.Helper()
	err := w.db.View(w.ctx, func(tx node.Tx) error {
		for _, r := range w.rooms {
			s, err := tx.RoomState(r.id)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(s)
			if limit := 1024 + 256*r.rc; len(b) > limit {
				return fmt.Errorf("room %s snapshot is %d bytes after %d membership changes", r.id, len(b), r.rc)
			}
			for _, m := range r.msgs {
				a, err := tx.Aggregates(m.id)
				if errors.Is(err, node.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if len(a.Slots) > node.MaxReactionKeys {
					return fmt.Errorf("message %s has %d slots", m.id, len(a.Slots))
				}
				for _, u := range w.users {
					ur, err := tx.UserReactions(m.id, u)
					if err == nil && len(ur.Keys) > node.MaxUserReactions {
						return fmt.Errorf("%s has %d keys on %s", u, len(ur.Keys), m.id)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatalf("step %d: %v", w.step, err)
	}
}

// run drives steps operations with choices from c, then reopens the node.
func (w *smWorld) run(steps int, c func(n int) int) {
	for range steps {
		w.do(c)
		if w.step%10 == 0 {
			w.check()
		}
	}
	w.check()
	w.checkRecords()
	msgs, reacted, invited := 0, 0, 0
	for _, r := range w.rooms {
		msgs += len(r.msgs)
		for _, m := range r.msgs {
			if len(m.slots) > 0 {
				reacted++
			}
		}
		for _, st := range r.members {
			if st == "invite" {
				invited++
			}
		}
	}
	w.t.Logf("%d steps: %d rooms, %d messages (%d with reactions), %d pending invites", w.step, len(w.rooms), msgs, reacted, invited)
	before := w.snapshot()
	w.close()
	w.open()
	defer w.close()
	if after := w.snapshot(); after != before {
		w.t.Fatalf("reopened node differs:\nbefore %s\nafter  %s", before, after)
	}
	w.check()
}

func TestStateMachine(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			w := newSMWorld(t)
			steps := 120
			if seed%2 == 1 {
				w.ops, w.focus, steps = smReactive, true, 240
			}
			w.run(steps, func(n int) int { return rng.IntN(n) })
		})
	}
}

// FuzzStateMachine lets the fuzzer choose the operations.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 4, 2, 3, 7, 7, 7, 9, 3, 1, 1, 6})
	f.Add([]byte("reactions past the caps: ::::::::8888888888888888888888"))
	template := newSMWorld(f)
	template.close()
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		i := 0
		choose := func(n int) int {
			if i+2 > len(ops) {
				i = len(ops)
				return 0
			}
			v := int(binary.BigEndian.Uint16(ops[i:]))
			i += 2
			return v % n
		}
		w := template.clone(t)
		for steps := 0; i < len(ops) && steps < 100; steps++ {
			w.do(choose)
		}
		w.run(0, choose)
	})
}
