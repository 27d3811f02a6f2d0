package node_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
)

func TestValidReactionKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"👍", true},
		{"❤️", true},      // heart + VS16
		{"❤", true},       // the text-default form
		{"👍🏽", true},      // skin tone
		{"👨‍👩‍👧‍👦", true}, // ZWJ family
		{"👩🏻‍❤️‍💋‍👨🏼", true},     // the longest kind: ZWJ, VS16 and two tones
		{"🏳️‍🌈", true},           // flag + VS16 + ZWJ
		{"🇫🇷", true},             // regional indicator pair
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true},        // subdivision flag (tag sequence)
		{"1️⃣", true},            // keycap
		{"#⃣", true},             // keycap without VS16
		{"©️", true},             // copyright sign
		{"🏽", true},              // a skin tone swatch alone
		{":party_parrot:", true}, // shortcode
		{":+1:", true},
		{"", false},
		{"a", false},
		{"1", false},
		{"ok", false},
		{"👍👍", false},      // two graphemes
		{"👍 ", false},      // trailing space
		{" 👍", false},      // leading space
		{"🇫", false},       // half a flag
		{"🇫🇷🇩", false},     // a flag and a half
		{"👍\u200d", false}, // dangling joiner
		{"\u200d👍", false},
		{"👍\u0301", false}, // a combining mark
		{"👍\x00", false},
		{"\xff", false},
		{"::", false},
		{":Party:", false},
		{":a b:", false},
		{":" + strings.Repeat("a", 33) + ":", false},
		{"1\u20e3\u20e3", false},
		{"🏴\U000E0067\U000E0062", false},        // tags without their end
		{strings.Repeat("👨‍", 15) + "👨", false}, // over 64 bytes
		{"<script>", false},
	}
	for _, tc := range tests {
		if got := node.ValidReactionKey(tc.key); got != tc.want {
			t.Errorf("ValidReactionKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// emojiN returns n distinct valid reaction keys.
func emojiN(n int) []string {
	var out []string
	for i := range n {
		out = append(out, string(rune(0x1F600+i)))
	}
	return out
}

// TestReactionCaps: a user may show at most MaxUserReactions different
// reactions on a message, and a message at most MaxReactionKeys; past
// either the answer is ErrLimit, and the message's record and view stay
// small however many reactions arrive.
func TestReactionCaps(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice := mustRegister(t, n, "alice")
	room, err := n.CreateRoom(ctx, alice, "caps", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	m, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "react to me"})
	if err != nil {
		t.Fatal(err)
	}
	keys := emojiN(node.MaxReactionKeys + 5)
	for i, k := range keys[:node.MaxUserReactions] {
		if _, err := n.React(ctx, alice, room.ID, m.ID, k, true); err != nil {
			t.Fatalf("reaction %d: %v", i, err)
		}
	}
	if _, err := n.React(ctx, alice, room.ID, m.ID, keys[node.MaxUserReactions], true); !errors.Is(err, node.ErrLimit) {
		t.Fatalf("reaction %d of one user = %v, want ErrLimit", node.MaxUserReactions+1, err)
	}
	// Removing one does not free the user's slot (docs/api.md).
	if _, err := n.React(ctx, alice, room.ID, m.ID, keys[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := n.React(ctx, alice, room.ID, m.ID, keys[node.MaxUserReactions], true); !errors.Is(err, node.ErrLimit) {
		t.Fatalf("after a removal = %v, want ErrLimit", err)
	}
	if _, err := n.React(ctx, alice, room.ID, m.ID, keys[0], true); err != nil {
		t.Fatalf("re-adding a used reaction: %v", err)
	}
	bob := mustRegister(t, n, "bob")
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[node.MaxUserReactions:node.MaxReactionKeys] {
		if _, err := n.React(ctx, bob, room.ID, m.ID, k, true); err != nil {
			t.Fatalf("bob's %s: %v", k, err)
		}
	}
	carol := mustRegister(t, n, "carol")
	if _, err := n.Join(ctx, carol, room.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.React(ctx, carol, room.ID, m.ID, keys[node.MaxReactionKeys], true); !errors.Is(err, node.ErrLimit) {
		t.Fatalf("key %d on a message = %v, want ErrLimit", node.MaxReactionKeys+1, err)
	}
	got, err := n.React(ctx, carol, room.ID, m.ID, keys[3], true)
	if err != nil {
		t.Fatalf("an existing key on a full message: %v", err)
	}
	if len(got.Reactions) != node.MaxReactionKeys {
		t.Fatalf("view has %d reactions, want %d", len(got.Reactions), node.MaxReactionKeys)
	}
	for i, r := range got.Reactions {
		if r.Emoji != keys[i] {
			t.Fatalf("reaction %d is %s, want %s (first reaction first)", i, r.Emoji, keys[i])
		}
		if want := 1 + btoi(i == 3); r.Count != want || len(r.Users) != want {
			t.Fatalf("reaction %s = %+v, want count %d", r.Emoji, r, want)
		}
		if r.Me != (i == 3) {
			t.Fatalf("reaction %s: me = %v for carol", r.Emoji, r.Me)
		}
	}
	// A duplicate "on" and a removal of what is not shown send nothing.
	want := node.MaxReactionKeys + 2 + 1 // everyone's adds, alice's removal and re-add, carol's
	poll.Until(t, 5*time.Second, func() error {
		if got := rec.kinds(alice, node.NoteReaction); got != want {
			return fmt.Errorf("%d reaction notes, want %d", got, want)
		}
		return nil
	})
	before := rec.kinds(alice, node.NoteReaction)
	if _, err := n.React(ctx, carol, room.ID, m.ID, keys[3], true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.React(ctx, carol, room.ID, m.ID, keys[4], false); err != nil {
		t.Fatal(err)
	}
	// Notes go out in the order of the writes: once a real change's note
	// is there, a no-op's would be too.
	if _, err := n.React(ctx, carol, room.ID, m.ID, keys[5], true); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, func() error {
		if after := rec.kinds(alice, node.NoteReaction); after != before+1 {
			return fmt.Errorf("%d notes after two no-ops and a change, want 1", after-before)
		}
		return nil
	})
	// Bad keys are refused before anything is stored.
	for _, k := range []string{"x", "👍👍", strings.Repeat("a", 40), ""} {
		if _, err := n.React(ctx, carol, room.ID, m.ID, k, true); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("key %q = %v, want ErrInvalid", k, err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestReactionNotesAreDeltas: a reaction tells the room's members what
// changed (key, user, on, count), not the whole message.
func TestReactionNotesAreDeltas(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	room, _ := n.CreateRoom(ctx, alice, "deltas", "", node.Public)
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	m, _ := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: strings.Repeat("long body ", 1000)})
	if _, err := n.React(ctx, bob, room.ID, m.ID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.React(ctx, alice, room.ID, m.ID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%s %s %s true 1", room.ID, m.ID, bob),
		fmt.Sprintf("%s %s %s true 2", room.ID, m.ID, alice),
	}
	// Notes go out after the write is durable, maybe after React returns.
	poll.Until(t, 5*time.Second, func() error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var got []string
		for _, note := range rec.notes[alice] {
			switch note.Kind {
			case node.NoteReaction:
				if note.Message != nil {
					t.Error("a reaction note carries the message")
				}
				got = append(got, fmt.Sprintf("%s %s %s %v %d", note.RoomID, note.MessageID, note.User, note.On, note.Count))
			case node.NoteUpdate:
				t.Errorf("a reaction sent an update of the whole message")
			}
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("reaction notes = %q, want %q", got, want)
		}
		return nil
	})
}

// TestReactionsConvergeOutOfOrder: two nodes that receive the same remote
// reactions in different orders, past both caps and with removals, show
// the same reactions, and neither shows more than the caps allow.
func TestReactionsConvergeOutOfOrder(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	owner := w.user("owner", "R")
	room := node.RoomID("gconverge")
	setup := []*node.Event{w.event(room, owner, node.EventCreate, node.CreateContent{Name: "c", Kind: node.KindGroup, Visibility: node.Public})}
	var users []node.UserID
	for i := range 4 {
		u := w.user(fmt.Sprint("user", i), "R")
		users = append(users, u)
		setup = append(setup, w.member(room, u, u, node.MemberJoin))
	}
	target := w.msg(room, owner)
	setup = append(setup, target)
	keys := emojiN(30)
	var reactions []*node.Event
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		u := users[rng.IntN(len(users))]
		reactions = append(reactions, w.event(room, u, node.EventReaction, node.ReactionContent{
			Target: target.ID, Emoji: keys[rng.IntN(len(keys))], On: rng.IntN(4) != 0,
		}))
	}
	var views [][]node.Reaction
	for trial := range 3 {
		n, _ := newTestNode(t, "")
		for _, e := range setup {
			if err := n.Ingest(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		order := append([]*node.Event(nil), reactions...)
		if trial > 0 {
			rand.New(rand.NewPCG(uint64(trial), 9)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, e := range order {
			if err := n.Ingest(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		reader := mustRegister(t, n, "reader")
		m, err := n.Message(ctx, reader, room, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		perUser := map[node.UserID]int{}
		for i := range m.Reactions {
			if len(m.Reactions[i].Users) > node.ReactionSample {
				t.Fatalf("sample of %d users", len(m.Reactions[i].Users))
			}
			for _, u := range m.Reactions[i].Users {
				perUser[u]++
			}
			m.Reactions[i].Users = nil // a sample: it may differ with arrival order
		}
		if len(m.Reactions) > node.MaxReactionKeys {
			t.Fatalf("%d keys shown", len(m.Reactions))
		}
		views = append(views, m.Reactions)
	}
	for i := 1; i < len(views); i++ {
		if !reflect.DeepEqual(views[0], views[i]) {
			t.Fatalf("arrival order %d shows\n%+v\nin order it shows\n%+v", i, views[i], views[0])
		}
	}
	total := 0
	for _, r := range views[0] {
		total += r.Count
	}
	if total == 0 || total > len(users)*node.MaxUserReactions {
		t.Fatalf("%d reactions shown by %d users", total, len(users))
	}
}
