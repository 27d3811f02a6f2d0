package node_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestBackdatedEventsAreBounded: a node refuses a new state event placed
// more than MaxBackdate before what it has seen from the event's node, and
// events of a banned user placed before the ban beyond the same bound or
// past MaxLateEvents; within the bounds, order-at-position decides.
func TestBackdatedEventsAreBounded(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	owner, mallory, mod, bob := w.user("owner", "A"), w.user("mallory", "M"), w.user("mona", "A"), w.user("bob", "B")
	const id node.RoomID = "rback"
	n, _ := newTestNode(t, "")
	ingest := func(e *node.Event) error { return n.Ingest(ctx, e) }
	must := func(e *node.Event) {
		t.Helper()
		if err := ingest(e); err != nil {
			t.Fatalf("ingest %s: %v", e.Type, err)
		}
	}
	role := func(actor, u node.UserID, r string) *node.Event {
		return w.event(id, actor, node.EventMember, node.MemberContent{User: u, Membership: node.MemberRole, Role: r})
	}
	must(w.event(id, owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: node.Public}))
	for _, u := range []node.UserID{mallory, mod, bob} {
		must(w.member(id, u, u, node.MemberJoin))
	}
	must(role(owner, mallory, node.RoleAdmin))
	must(role(owner, mod, node.RoleModerator))
	w.ts += 10 * 60_000
	promotedAt := w.ts
	must(w.event(id, mallory, node.EventMessage, node.MessageContent{Body: "still an admin"}))
	w.ts += 60_000
	must(role(owner, mallory, node.RoleMember)) // the demotion

	// Mallory's node back-dates a ban to before her demotion, but more
	// than MaxBackdate before what it sent last: refused.
	w.ts = promotedAt - node.MaxBackdate.Milliseconds() - 1000
	old := w.event(id, mallory, node.EventMember, node.MemberContent{User: bob, Membership: node.MemberBan})
	if err := ingest(old); !errors.Is(err, node.ErrSuperseded) {
		t.Fatalf("back-dated ban = %v, want ErrSuperseded", err)
	}
	// Placed just before the demotion, within the bound: order decides,
	// and at that position she was an admin.
	w.ts = promotedAt + 30_000
	recent := w.event(id, mallory, node.EventMember, node.MemberContent{User: bob, Membership: node.MemberKick})
	if err := ingest(recent); err != nil {
		t.Fatalf("kick placed before the demotion, within the bound = %v", err)
	}

	// Bob (on node B) is banned; his node keeps sending messages stamped
	// before the ban.
	w.ts = promotedAt + 5*60_000
	must(w.member(id, bob, bob, node.MemberJoin))
	must(w.event(id, bob, node.EventMessage, node.MessageContent{Body: "last words"}))
	banAt := w.ts + 60_000
	w.ts = banAt
	must(w.event(id, mod, node.EventMember, node.MemberContent{User: bob, Membership: node.MemberBan}))
	w.ts = banAt - node.MaxBackdate.Milliseconds() - 5*60_000
	if err := ingest(w.event(id, bob, node.EventMessage, node.MessageContent{Body: "ancient"})); !errors.Is(err, node.ErrSuperseded) {
		t.Fatalf("message placed long before the ban = %v, want ErrSuperseded", err)
	}
	accepted := 0
	for i := range node.MaxLateEvents + 10 {
		w.ts = banAt - 2000 + int64(i%1000)
		w.ts -= 1000
		err := ingest(w.event(id, bob, node.EventMessage, node.MessageContent{Body: "late"}))
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, node.ErrSuperseded):
		default:
			t.Fatalf("late message %d: %v", i, err)
		}
	}
	if accepted != node.MaxLateEvents {
		t.Fatalf("accepted %d late messages of a banned user, want %d", accepted, node.MaxLateEvents)
	}
}
