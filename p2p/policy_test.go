package p2p_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

func connected(a, b *p2ptest.Node) bool {
	return a.Host.LibP2P().Network().Connectedness(b.Host.ID()) == network.Connected
}

func nodeID(n *p2ptest.Node) node.NodeID { return node.NodeID(n.Host.ID().String()) }

// tryConnect dials b from a and reports whether a connection stands a
// moment later (a gater may refuse it during the handshake, or the other
// side may close it right after).
func tryConnect(a, b *p2ptest.Node) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Host.Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Host.LibP2P().Addrs()}); err != nil {
		return false
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if !connected(a, b) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return connected(a, b)
}

// TestBlockedNode: A blocks B at run time. A's connection to B closes and
// B cannot dial back; B's events, relayed by C (which still federates
// with B), are refused by A without penalising C; C's keep flowing.
func TestBlockedNode(t *testing.T) {
	a, b, c := p2ptest.Start(t, "A", nil), p2ptest.Start(t, "B", nil), p2ptest.Start(t, "C", nil)
	p2ptest.Connect(t, b, a)
	p2ptest.Connect(t, c, a)
	p2ptest.Connect(t, b, c)
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "town", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		n *p2ptest.Node
		u node.UserID
	}{{b, ub}, {c, uc}} {
		p2ptest.WaitFor(t, 20*time.Second, func() error { _, err := j.n.Node.Join(bg, j.u, room.ID); return err })
	}
	first := mustSend(t, b, ub, room.ID, "before the block")
	p2ptest.WaitFor(t, 15*time.Second, func() error { return a.Notes.HasMessage(ua, first.ID) })

	if err := a.Node.SetNodeRule(bg, node.Operator, nodeID(b), node.RuleBlock, "spam"); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if connected(a, b) || connected(b, a) {
			return errors.New("A and B are still connected")
		}
		return nil
	})
	if tryConnect(b, a) {
		t.Fatal("a blocked node could connect")
	}
	if tryConnect(a, b) {
		t.Fatal("a node dialled a node it blocks")
	}

	blocked := mustSend(t, b, ub, room.ID, "after the block")
	p2ptest.WaitFor(t, 15*time.Second, func() error { return c.Notes.HasMessage(uc, blocked.ID) })
	// A message of C's after B's: once A has it, A has synced with C
	// since B's message was there to be had.
	later := mustSend(t, c, uc, room.ID, "carol still here")
	p2ptest.WaitFor(t, 15*time.Second, func() error { return a.Notes.HasMessage(ua, later.ID) })
	time.Sleep(2 * time.Second) // two anti-entropy rounds of Fast: B's event stays out
	if ok, _ := a.Node.HasEvent(bg, blocked.ID); ok {
		t.Fatal("A stored an event of the node it blocks")
	}
	if s, ok := a.Host.PeerScore(c.Host.ID()); ok && s < 0 {
		t.Errorf("C's score at A is %v: relaying a blocked node's event is not C's fault", s)
	}
	// A user of the blocked node can no longer be invited from A.
	if err := a.Node.Invite(bg, ua, room.ID, ub); !errors.Is(err, node.ErrForbidden) {
		t.Errorf("invite of a blocked node's user: %v", err)
	}

	// Unblocked, B may connect again, and sync brings its event.
	if err := a.Node.SetNodeRule(bg, node.Operator, nodeID(b), "", ""); err != nil {
		t.Fatal(err)
	}
	p2ptest.Connect(t, b, a)
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		if ok, _ := a.Node.HasEvent(bg, blocked.ID); !ok {
			return fmt.Errorf("A lacks %s after the unblock", blocked.ID)
		}
		return nil
	})
}

// TestAllowlistMode: a node that federates only with listed nodes lets
// its friend in and keeps a stranger out: no connection, no room.
func TestAllowlistMode(t *testing.T) {
	a, friend, stranger := p2ptest.Start(t, "A", nil), p2ptest.Start(t, "F", nil), p2ptest.Start(t, "S", nil)
	if err := a.Node.SetNodeRule(bg, node.Operator, nodeID(friend), node.RuleAllow, "our group"); err != nil {
		t.Fatal(err)
	}
	if err := a.Node.SetFederationMode(bg, node.Operator, node.FederationAllowlist); err != nil {
		t.Fatal(err)
	}
	ua, uf, us := a.User(t, "alice"), friend.User(t, "fred"), stranger.User(t, "sam")
	room, err := a.Node.CreateRoom(bg, ua, "club", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if tryConnect(stranger, a) {
		t.Fatal("a stranger connected to an allowlist node")
	}
	if tryConnect(a, stranger) {
		t.Fatal("an allowlist node dialled a stranger")
	}
	p2ptest.Connect(t, friend, a)
	p2ptest.WaitFor(t, 20*time.Second, func() error { _, err := friend.Node.Join(bg, uf, room.ID); return err })
	m := mustSend(t, friend, uf, room.ID, "hello")
	p2ptest.WaitFor(t, 15*time.Second, func() error { return a.Notes.HasMessage(ua, m.ID) })

	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if _, err := stranger.Node.Join(ctx, us, room.ID); err == nil {
		t.Fatal("a stranger joined a room of an allowlist node")
	}
	// Switching the mode back lets the stranger in.
	if err := a.Node.SetFederationMode(bg, node.Operator, node.FederationOpen); err != nil {
		t.Fatal(err)
	}
	p2ptest.Connect(t, stranger, a)
	p2ptest.WaitFor(t, 20*time.Second, func() error { _, err := stranger.Node.Join(bg, us, room.ID); return err })
}
