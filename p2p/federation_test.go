package p2p_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

var bg = context.Background()

func mustSend(t *testing.T, n *p2ptest.Node, u node.UserID, room node.RoomID, body string) *node.Message {
	t.Helper()
	m, err := n.Node.Send(bg, u, node.SendParams{Room: room, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJoin(t *testing.T, n *p2ptest.Node, u node.UserID, room node.RoomID) {
	t.Helper()
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		_, err := n.Node.Join(bg, u, room)
		return err
	})
}

// history lists a room's message IDs as u sees them, oldest first.
func history(t *testing.T, n *p2ptest.Node, u node.UserID, room node.RoomID) []node.EventID {
	t.Helper()
	msgs, _, err := n.Node.History(bg, u, room, "", "", node.MaxPageLimit)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]node.EventID, len(msgs))
	for i, m := range msgs {
		out[len(msgs)-1-i] = m.ID
	}
	return out
}

func TestMessageReachesThirdNodeThroughSecond(t *testing.T) {
	ns := p2ptest.LineWith(t, 3, p2ptest.Relayed)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "general", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	mustJoin(t, c, uc, room.ID)
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		s, ok := a.Node.RoomState(room.ID)
		if !ok || len(s.Members()) != 3 {
			return fmt.Errorf("a sees members %v", s.Members())
		}
		return nil
	})
	if a.Host.LibP2P().Network().Connectedness(c.Host.ID()) == network.Connected {
		t.Fatal("A and C are connected directly; the test would not go through B")
	}
	m := mustSend(t, a, ua, room.ID, "hello from A")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return c.Notes.HasMessage(uc, m.ID) })
	m2 := mustSend(t, c, uc, room.ID, "hello from C")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return a.Notes.HasMessage(ua, m2.ID) })
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		ha, hc := history(t, a, ua, room.ID), history(t, c, uc, room.ID)
		if !slices.Equal(ha, hc) {
			return fmt.Errorf("histories differ: %v vs %v", ha, hc)
		}
		return nil
	})
}

func TestJoinRoomHeldOnlyByDistantNode(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, c := ns[0], ns[2]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "faraway", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	m := mustSend(t, a, ua, room.ID, "before the join")
	mustJoin(t, c, uc, room.ID)
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if h := history(t, c, uc, room.ID); !slices.Contains(h, m.ID) {
			return fmt.Errorf("c history %v lacks %s", h, m.ID)
		}
		return nil
	})
	m2 := mustSend(t, a, ua, room.ID, "after the join")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return c.Notes.HasMessage(uc, m2.ID) })
}
