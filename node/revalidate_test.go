package node_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// offerAll ingests evs into n in the given order and then offers what is
// not held again until nothing changes, as gossip and history sync do.
func offerAll(t *testing.T, n *node.Node, evs []*node.Event, order []int) {
	t.Helper()
	ctx := context.Background()
	offer := func(e *node.Event) bool {
		err := n.Ingest(ctx, e)
		switch {
		case err == nil:
			return true
		case errors.Is(err, node.ErrDuplicate), errors.Is(err, node.ErrPending),
			errors.Is(err, node.ErrForbidden), errors.Is(err, node.ErrConflict):
			return false
		default:
			t.Fatalf("ingest %s: %v", e.Type, err)
			return false
		}
	}
	for _, i := range order {
		offer(evs[i])
	}
	for progress := true; progress; {
		progress = false
		for _, e := range evs {
			if ok, _ := n.HasEvent(ctx, e.ID); !ok && offer(e) {
				progress = true
			}
		}
	}
}

// roomOutcome is what a node shows of a room: membership, roles, name,
// powers, pins, the messages and their bodies, and which events it holds.
type roomOutcome struct {
	History map[node.UserID][]node.MemberChange
	Name    string
	Topic   string
	Powers  node.Powers
	Pinned  []node.EventID
	Bodies  []string
	Held    []bool
}

func outcomeOf(t *testing.T, n *node.Node, reader node.UserID, id node.RoomID, evs []*node.Event) roomOutcome {
	t.Helper()
	ctx := context.Background()
	var out roomOutcome
	st, ok := n.RoomState(id)
	if !ok {
		t.Fatal("room not held")
	}
	out.Name, out.Topic, out.Powers, out.Pinned = st.Name, st.Topic, st.Powers(), st.Pinned()
	full := n.FullRoomState(id)
	out.History = full.History
	msgs, _, err := n.History(ctx, reader, id, "", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		b := m.Body
		if m.Deleted {
			b = "(deleted)"
		}
		out.Bodies = append(out.Bodies, string(m.Sender.Node()[:12])+":"+b)
	}
	for _, e := range evs {
		ok, _ := n.HasEvent(ctx, e.ID)
		out.Held = append(out.Held, ok)
	}
	return out
}

// TestLateStateEventsConverge: nodes that receive the same events in any
// order end with the same room, messages and stored events. A ban's
// position decides: a message ordered after it is refused (or taken out
// again) everywhere, one ordered before it stands. A demotion that
// arrives after the demoted admin's later actions undoes them, and what
// hung on them.
func TestLateStateEventsConverge(t *testing.T) {
	w := newWorld(t)
	owner, admin, mod := w.user("owner", "A"), w.user("adam", "B"), w.user("mona", "C")
	bob, carl, dina := w.user("bob", "D"), w.user("carl", "E"), w.user("dina", "F")
	const id node.RoomID = "rlate"
	role := func(actor, u node.UserID, r string) *node.Event {
		return w.event(id, actor, node.EventMember, node.MemberContent{User: u, Membership: node.MemberRole, Role: r})
	}
	say := func(u node.UserID, body string) *node.Event {
		return w.event(id, u, node.EventMessage, node.MessageContent{Body: body})
	}
	evs := []*node.Event{
		w.event(id, owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: node.Public}),
		w.member(id, admin, admin, node.MemberJoin),
		w.member(id, mod, mod, node.MemberJoin),
		w.member(id, bob, bob, node.MemberJoin),
		w.member(id, carl, carl, node.MemberJoin),
		w.member(id, dina, dina, node.MemberJoin),
		role(owner, admin, node.RoleAdmin),
		role(owner, mod, node.RoleModerator),
	}
	before := say(bob, "before the ban") // ordered before the ban: stands
	ban := w.event(id, mod, node.EventMember, node.MemberContent{User: bob, Membership: node.MemberBan, Reason: "spam"})
	after := say(bob, "after the ban") // ordered after it: refused everywhere
	dinaMsg := say(dina, "hello")
	demote := role(owner, admin, node.RoleMember)
	// Everything adam does after his demotion is void, and so is what
	// carl does with the role adam gave him.
	kick := w.event(id, admin, node.EventMember, node.MemberContent{User: dina, Membership: node.MemberKick})
	promote := role(admin, carl, node.RoleModerator)
	carlDeletes := w.event(id, carl, node.EventDelete, node.DeleteContent{Target: dinaMsg.ID})
	rename := w.event(id, admin, node.EventUpdate, node.RoomUpdateContent{Topic: strp("adam's topic")})
	pin := w.event(id, admin, node.EventPin, node.PinContent{Target: dinaMsg.ID, On: true})
	dinaAfter := say(dina, "still here")
	evs = append(evs, before, ban, after, dinaMsg, demote, kick, promote, carlDeletes, rename, pin, dinaAfter)

	var want *roomOutcome
	rng := rand.New(rand.NewPCG(7, 8))
	orders := [][]int{
		nil, // in room order (filled below)
		// Everything adam and bob sent arrives before what refutes it.
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 14, 15, 16, 17, 18, 9, 12},
	}
	for i := range evs {
		orders[0] = append(orders[0], i)
	}
	for range 6 {
		orders = append(orders, rng.Perm(len(evs)))
	}
	for round, order := range orders {
		n, _ := newTestNode(t, "")
		reader := mustRegister(t, n, "reader")
		offerAll(t, n, evs, order)
		got := outcomeOf(t, n, reader, id, evs)
		if want == nil {
			want = &got
			continue
		}
		if !reflect.DeepEqual(got, *want) {
			t.Fatalf("order %d (%v) differs:\n%+v\nwant\n%+v", round, order, got, *want)
		}
	}
	held := func(e *node.Event) bool { return want.Held[slices.Index(evs, e)] }
	switch {
	case !held(before) || held(after):
		t.Fatalf("ban race: before held %v, after held %v", held(before), held(after))
	case held(kick) || held(promote) || held(carlDeletes) || held(rename) || held(pin):
		t.Fatal("an action of the demoted admin, or one resting on it, stands")
	case want.Topic != "" || len(want.Pinned) != 0:
		t.Fatalf("topic %q, pinned %v", want.Topic, want.Pinned)
	}
	if !slices.Contains(want.Bodies, string(dina.Node()[:12])+":hello") || !slices.Contains(want.Bodies, string(dina.Node()[:12])+":still here") {
		t.Fatalf("bodies = %v", want.Bodies)
	}
}
