package p2p_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestForgedModerationRefusedAndPenalised: a hostile node whose user,
// mallory, is a plain member of a public room signs, as itself, a kick
// and a ban of bob (a moderator), role changes (bob demoted, mallory made
// owner), a powers table that makes the room an announcement room, and
// the deletion of alice's message. It also signs a ban in the name of
// alice, who lives on another node, once under its own origin and once
// under A's. It sends all of them on the room's topic and then pushes
// them to each honest node directly. Both honest nodes refuse every one:
// bob is still a member and a moderator, mallory still a plain member,
// alice still the owner, her message still there, and the hostile's
// score drops on both, by gossip and then again by push.
func TestForgedModerationRefusedAndPenalised(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "town", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if s, ok := a.Node.RoomState(room.ID); !ok || !s.IsMember(ub) {
			return errors.New("a does not see bob's join")
		}
		return nil
	})
	if err := a.Node.SetRole(bg, ua, room.ID, ub, node.RoleModerator); err != nil {
		t.Fatal(err)
	}
	keep := mustSend(t, a, ua, room.ID, "keep me")
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if r, err := b.Node.Room(bg, ub, room.ID); err != nil || r.Roles[ub] != node.RoleModerator {
			return fmt.Errorf("b does not see bob as moderator (%v)", err)
		}
		return b.Notes.HasMessage(ub, keep.ID)
	})

	x := newHostile(t)
	x.connect(t, a)
	x.connect(t, b)
	name := "hearth/room/1/" + string(room.ID)
	topic, err := x.ps.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := topic.Subscribe()
	defer sub.Cancel()
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		for _, n := range []*p2ptest.Node{a, b} {
			if !slices.Contains(n.Host.TopicPeers(name), x.host.ID()) {
				return fmt.Errorf("%s does not see the hostile in the topic", n.Name)
			}
		}
		return nil
	})

	// Mallory joins, as anyone may join a public room: the hostile node
	// speaks for her within the rules so far.
	mallory := node.NewUserID("mallory", x.id)
	join := x.event(t, node.EventMember, room.ID, mallory, node.MemberContent{User: mallory, Membership: node.MemberJoin})
	if err := topic.Publish(bg, join.Raw); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		for _, n := range []*p2ptest.Node{a, b} {
			if s, ok := n.Node.RoomState(room.ID); !ok || !s.IsMember(mallory) {
				return fmt.Errorf("%s does not see mallory's join", n.Name)
			}
		}
		return nil
	})

	forged := map[string]*node.Event{
		"kick": x.event(t, node.EventMember, room.ID, mallory, node.MemberContent{User: ub, Membership: node.MemberKick, Reason: "forged"}),
		"ban":  x.event(t, node.EventMember, room.ID, mallory, node.MemberContent{User: ub, Membership: node.MemberBan, Reason: "forged"}),
		"demote": x.event(t, node.EventMember, room.ID, mallory,
			node.MemberContent{User: ub, Membership: node.MemberRole, Role: node.RoleMember}),
		"crown self": x.event(t, node.EventMember, room.ID, mallory,
			node.MemberContent{User: mallory, Membership: node.MemberRole, Role: node.RoleOwner}),
		"announcement room": x.event(t, node.EventPowers, room.ID, mallory,
			node.PowersContent{Powers: node.Powers{node.PowerPost: node.RoleOwner}}),
		"delete": x.event(t, node.EventDelete, room.ID, mallory, node.DeleteContent{Target: keep.ID}),
	}
	// A ban in alice's name: signed by the hostile under its own origin
	// (alice does not live there), and under A's origin (the signature
	// is not A's).
	asAlice := func(origin node.NodeID) []byte {
		e := &node.Event{V: node.EventVersion, Origin: origin, Type: node.EventMember, Room: room.ID, Sender: ua,
			TS: time.Now().UnixMilli(), Content: mustJSON(t, node.MemberContent{User: ub, Membership: node.MemberBan})}
		body, _ := json.Marshal(e)
		sig := ed25519.Sign(x.key, append([]byte("hearth/event/1\x00"), body...))
		return append(append([]byte{node.EventVersion}, sig...), body...)
	}
	impersonations := [][]byte{asAlice(x.id), asAlice(a.Node.ID())}
	for _, raw := range impersonations {
		if _, err := node.DecodeEvent(raw, time.Now()); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("an event in alice's name signed by the hostile decodes: %v", err)
		}
	}
	var bad [][]byte
	for _, e := range forged {
		bad = append(bad, e.Raw)
	}
	bad = append(bad, impersonations...)

	// By gossip: refused, and the hostile's score drops below zero.
	for _, raw := range bad {
		if err := topic.Publish(bg, raw); err != nil {
			t.Fatal(err)
		}
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		for _, n := range []*p2ptest.Node{a, b} {
			if s, ok := n.Host.PeerScore(x.host.ID()); !ok || s >= 0 {
				return fmt.Errorf("%s scores the hostile %v (%v) after forged gossip", n.Name, s, ok)
			}
		}
		return nil
	})

	// By push, straight to each node, which GossipSub's scores do not
	// guard: each event is judged (the valid message last in the batch
	// is taken), each forgery refused, and the score drops again.
	for i, n := range []*p2ptest.Node{a, b} {
		before, _ := n.Host.PeerScore(x.host.ID())
		control := x.event(t, node.EventMessage, room.ID, mallory, node.MessageContent{Body: fmt.Sprintf("pushed %d", i)})
		resp := syncCall(t, x.host, n.Host.ID(), map[string]any{"op": "push", "events": append(slices.Clone(bad), control.Raw)})
		if resp["error"] != nil {
			t.Fatalf("%s answered the push with %v", n.Name, resp["error"])
		}
		p2ptest.WaitFor(t, 10*time.Second, func() error {
			if ok, _ := n.Node.HasEvent(bg, control.ID); !ok {
				return fmt.Errorf("%s did not take the valid pushed message", n.Name)
			}
			return nil
		})
		p2ptest.WaitFor(t, 10*time.Second, func() error {
			if s, _ := n.Host.PeerScore(x.host.ID()); s > before-float64(len(bad))*50 {
				return fmt.Errorf("%s scores the hostile %v after a push of %d forgeries, %v before", n.Name, s, len(bad), before)
			}
			return nil
		})
	}

	// Nothing forged was stored or applied anywhere.
	for _, n := range []*p2ptest.Node{a, b} {
		for what, e := range forged {
			if ok, _ := n.Node.HasEvent(bg, e.ID); ok {
				t.Errorf("%s stored the forged %s", n.Name, what)
			}
		}
		u := map[*p2ptest.Node]node.UserID{a: ua, b: ub}[n]
		r, err := n.Node.Room(bg, u, room.ID)
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if !slices.Contains(r.Members, ub) || !slices.Contains(r.Members, mallory) {
			t.Errorf("%s lists members %v", n.Name, r.Members)
		}
		if r.Roles[ua] != node.RoleOwner || r.Roles[ub] != node.RoleModerator || r.Roles[mallory] != "" {
			t.Errorf("%s lists roles %v", n.Name, r.Roles)
		}
		if r.PostingRole != node.RoleMember {
			t.Errorf("%s has posting role %q", n.Name, r.PostingRole)
		}
		if m, err := n.Node.Message(bg, u, room.ID, keep.ID); err != nil || m.Deleted || m.Body != "keep me" {
			t.Errorf("%s: alice's message is %+v (%v)", n.Name, m, err)
		}
	}
	// The honest nodes still work together.
	m := mustSend(t, b, ub, room.ID, "still here")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return a.Notes.HasMessage(ua, m.ID) })
}

// TestBanRacingMessageAcrossNodes: alice on A bans bob while B, cut off,
// still takes bob's messages, one stamped before the ban and one after.
// Once the two nodes meet again both hold the same state: bob banned,
// the message before the ban kept, the one after it gone (refused by A,
// withdrawn by B when the ban arrives late), the same history on both.
func TestBanRacingMessageAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), b.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "race", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	mustJoin(t, b, uc, room.ID)
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if s, ok := a.Node.RoomState(room.ID); !ok || !s.IsMember(ub) || !s.IsMember(uc) {
			return errors.New("a does not see bob's and carol's joins")
		}
		return nil
	})

	// Partition: B restarts alone (a fresh peerstore on a new port:
	// neither node can find the other).
	b.Restart()
	if b.Host.PeerCount() != 0 {
		t.Fatal("B is not cut off")
	}
	before := mustSend(t, b, ub, room.ID, "before the ban")
	waitPast(t, before.TS)
	banFrom := time.Now().UnixMilli()
	if err := a.Node.Ban(bg, ua, room.ID, ub, "spam"); err != nil {
		t.Fatal(err)
	}
	banTo := time.Now().UnixMilli()
	waitPast(t, banTo)
	after := mustSend(t, b, ub, room.ID, "after the ban")
	if !(before.TS < banFrom && banTo < after.TS) {
		t.Fatalf("stamps out of order: %d, ban in [%d, %d], %d", before.TS, banFrom, banTo, after.TS)
	}
	if a.Host.PeerCount() != 0 || b.Host.PeerCount() != 0 {
		t.Fatal("the nodes met during the partition")
	}

	p2ptest.Connect(t, a, b)
	p2ptest.WaitFor(t, 30*time.Second, func() error {
		for _, v := range []struct {
			n *p2ptest.Node
			u node.UserID
		}{{a, ua}, {b, uc}} {
			s, ok := v.n.Node.RoomState(room.ID)
			if !ok || s.IsMember(ub) {
				return fmt.Errorf("%s still has bob as a member", v.n.Name)
			}
			h := history(t, v.n, v.u, room.ID)
			if !slices.Contains(h, before.ID) || slices.Contains(h, after.ID) {
				return fmt.Errorf("%s holds before %v, after %v", v.n.Name, slices.Contains(h, before.ID), slices.Contains(h, after.ID))
			}
		}
		if ha, hb := history(t, a, ua, room.ID), history(t, b, uc, room.ID); !slices.Equal(ha, hb) {
			return fmt.Errorf("histories differ: a %v, b %v", ha, hb)
		}
		return nil
	})
	if _, err := b.Node.Send(bg, ub, node.SendParams{Room: room.ID, Body: "again"}); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("banned bob posts on his own node after the heal: %v", err)
	}
}

// waitPast waits until the wall clock is past ms, so that the next event
// is stamped after it.
func waitPast(t *testing.T, ms int64) {
	t.Helper()
	p2ptest.WaitFor(t, time.Second, func() error {
		if time.Now().UnixMilli() <= ms+1 {
			return errors.New("clock not past")
		}
		return nil
	})
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
