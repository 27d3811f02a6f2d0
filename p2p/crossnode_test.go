package p2p_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

func roomNote(n *p2ptest.Node, u node.UserID, room node.RoomID) error {
	for _, note := range n.Notes.Of(u, node.NoteRoom) {
		if note.Room.ID == room {
			return nil
		}
	}
	return fmt.Errorf("%s got no room frame for %s", u, room)
}

func TestInviteAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "secret", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	m := mustSend(t, a, ua, room.ID, "private words")
	if err := a.Node.Invite(bg, ua, room.ID, uc); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error { return roomNote(c, uc, room.ID) })
	if _, err := c.Node.Join(bg, uc, room.ID); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if h := history(t, c, uc, room.ID); !slices.Contains(h, m.ID) {
			return fmt.Errorf("c lacks %s", m.ID)
		}
		return nil
	})
	reply := mustSend(t, c, uc, room.ID, "got it")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return a.Notes.HasMessage(ua, reply.ID) })
	// B hosts no member: it never holds the room or its messages.
	for _, id := range []node.EventID{m.ID, reply.ID} {
		if ok, _ := b.Node.HasEvent(bg, id); ok {
			t.Fatalf("relay node B stored private event %s", id)
		}
	}
}

func TestDMAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	dm, err := a.Node.DM(bg, ua, uc)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error { return roomNote(c, uc, dm.ID) })
	m := mustSend(t, a, ua, dm.ID, "hi carol")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return c.Notes.HasMessage(uc, m.ID) })
	r := mustSend(t, c, uc, dm.ID, "hi alice")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return a.Notes.HasMessage(ua, r.ID) })
	// Typing in a private room goes over direct streams, never gossip.
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if err := a.Node.SetTyping(ua, dm.ID, true); err != nil {
			return err
		}
		for _, n := range c.Notes.Of(uc, node.NoteTyping) {
			if n.User == ua && n.RoomID == dm.ID && n.Typing {
				return nil
			}
		}
		return errors.New("no typing frame on c")
	})
	if ok, _ := b.Node.HasEvent(bg, m.ID); ok {
		t.Fatal("relay node B stored a DM")
	}
	if _, ok := b.Node.RoomState(dm.ID); ok {
		t.Fatal("relay node B holds the DM room")
	}
}

func TestPresenceAndTypingAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "lobby", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	a.Node.Connect(ua)
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if p, _ := b.Node.Presence(ua); p != node.Online {
			return fmt.Errorf("b sees alice %s", p)
		}
		return nil
	})
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if err := a.Node.SetTyping(ua, room.ID, true); err != nil {
			return err
		}
		for _, n := range b.Notes.Of(ub, node.NoteTyping) {
			if n.User == ua && n.Typing {
				return nil
			}
		}
		return errors.New("no typing frame on b")
	})
	// Profiles of remote users show up in user search.
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		us, err := b.Node.SearchUsers(bg, "alice", 10)
		if err != nil || len(us) == 0 {
			return fmt.Errorf("b does not know alice: %v", err)
		}
		return nil
	})
	// A vanishes: its users go offline on B within the presence timeout.
	a.Stop()
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if p, _ := b.Node.Presence(ua); p != node.Offline {
			return fmt.Errorf("b still sees alice %s", p)
		}
		return nil
	})
}

func TestRestartConvergesWithIdenticalOrder(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "busy", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	mustJoin(t, c, uc, room.ID)
	mustSend(t, a, ua, room.ID, "before")
	c.Stop()
	var sent []node.EventID
	for i := range 30 {
		sent = append(sent, mustSend(t, a, ua, room.ID, fmt.Sprintf("a %d", i)).ID)
		sent = append(sent, mustSend(t, b, ub, room.ID, fmt.Sprintf("b %d", i)).ID)
	}
	c.Restart()
	p2ptest.Connect(t, c, b)
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		ha, hb, hc := history(t, a, ua, room.ID), history(t, b, ub, room.ID), history(t, c, uc, room.ID)
		if !slices.Equal(ha, hc) || !slices.Equal(hb, hc) {
			return fmt.Errorf("histories differ: a %d b %d c %d", len(ha), len(hb), len(hc))
		}
		for _, id := range sent {
			if !slices.Contains(hc, id) {
				return fmt.Errorf("c lacks %s", id)
			}
		}
		return nil
	})
	// Catch-up reached C's user as notifications, once each. A synced
	// event is in the history as soon as it is written, but its
	// notification goes out from the durability callback, after the
	// fsync: wait for every one, then count.
	var seen map[node.EventID]int
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		seen = map[node.EventID]int{}
		for _, n := range c.Notes.Of(uc, node.NoteMessage) {
			seen[n.Message.ID]++
		}
		for _, id := range sent {
			if seen[id] == 0 {
				return fmt.Errorf("carol was not notified of %s", id)
			}
		}
		return nil
	})
	for _, id := range sent {
		if seen[id] != 1 {
			t.Fatalf("carol was notified of %s %d times", id, seen[id])
		}
	}
}

func TestDirectoryReceiptsAndMembersAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua := a.User(t, "alice")
	ub, err := b.Node.Register(bg, "bob", "password123", "Bob B")
	if err != nil {
		t.Fatal(err)
	}
	room, err := a.Node.CreateRoom(bg, ua, "town square", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		rooms, err := b.Node.PublicRooms(bg)
		if err != nil {
			return err
		}
		for _, r := range rooms {
			if r.ID == room.ID && r.Name == "town square" {
				return nil
			}
		}
		return errors.New("B's directory lacks A's room")
	})
	mustJoin(t, b, ub.ID, room.ID)
	m := mustSend(t, a, ua, room.ID, "read me")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub.ID, m.ID) })
	if err := b.Node.MarkRead(bg, ub.ID, room.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		for _, n := range a.Notes.Of(ua, node.NoteReceipt) {
			if n.User == ub.ID && n.UpTo == m.ID && n.Receipt == "read" {
				return nil
			}
		}
		return errors.New("alice got no read receipt from bob")
	})
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		members, _, err := a.Node.Members(bg, ua, room.ID, "", 0)
		if err != nil {
			return err
		}
		for _, u := range members {
			if u.ID == ub.ID && u.DisplayName == "Bob B" {
				return nil
			}
		}
		return fmt.Errorf("A's member list lacks Bob B: %v", members)
	})
}

func TestPartitionBothSidesWriteThenHeal(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "split", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	first := mustSend(t, a, ua, room.ID, "before the split")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, first.ID) })

	// Partition: A goes down, B writes; A comes back alone (a fresh
	// peerstore and no bootstrap peers: it cannot find B) and writes too.
	a.Stop()
	var sent []node.EventID
	for i := range 10 {
		sent = append(sent, mustSend(t, b, ub, room.ID, fmt.Sprintf("b alone %d", i)).ID)
	}
	a.Restart()
	for i := range 10 {
		sent = append(sent, mustSend(t, a, ua, room.ID, fmt.Sprintf("a alone %d", i)).ID)
	}
	if a.Host.PeerCount() != 0 {
		t.Fatal("A is not partitioned")
	}
	// Heal.
	p2ptest.Connect(t, a, b)
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		ha, hb := history(t, a, ua, room.ID), history(t, b, ub, room.ID)
		if !slices.Equal(ha, hb) {
			return fmt.Errorf("histories differ: a %d, b %d", len(ha), len(hb))
		}
		for _, id := range sent {
			if !slices.Contains(ha, id) {
				return fmt.Errorf("missing %s", id)
			}
		}
		return nil
	})
}

// TestDHTFindsRoomHolder joins a room held only by A from C, which was
// connected only to B, with the directory silenced: C finds A through the
// hearth DHT (B's routing table, or A's provider record for the room's
// topic).
func TestDHTFindsRoomHolder(t *testing.T) {
	quiet := func(c *p2p.Config) { p2ptest.Fast(c); c.DirectoryInterval = time.Hour }
	ns := p2ptest.LineWith(t, 3, quiet)
	a, c := ns[0], ns[2]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "hidden", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, c, uc, room.ID)
	if s, ok := c.Node.RoomState(room.ID); !ok || !s.IsMember(uc) {
		t.Fatal("carol did not join")
	}
}

// TestRoomKeyRotatesWhenANodeLeaves checks the private room keys: every
// member node opens the current epoch, and when a node loses its last
// member the remaining nodes move to a new epoch that it cannot open.
func TestRoomKeyRotatesWhenANodeLeaves(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "vault", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		n *p2ptest.Node
		u node.UserID
	}{{b, ub}, {c, uc}} {
		if err := a.Node.Invite(bg, ua, room.ID, x.u); err != nil {
			t.Fatal(err)
		}
		p2ptest.WaitFor(t, 15*time.Second, func() error { return roomNote(x.n, x.u, room.ID) })
		mustJoin(t, x.n, x.u, room.ID)
	}
	epochOn := func(n *p2ptest.Node) uint32 {
		e, _ := n.Node.RoomKeyEpoch(bg, room.ID)
		return e
	}
	var first uint32
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		mustSend(t, a, ua, room.ID, "tick")
		mustSend(t, c, uc, room.ID, "tock")
		ea, eb, ec := epochOn(a), epochOn(b), epochOn(c)
		if ea == 0 || ea != eb || ea != ec {
			return fmt.Errorf("epochs a %d b %d c %d", ea, eb, ec)
		}
		s, _ := a.Node.RoomState(room.ID)
		if len(s.Members()) != 3 {
			return fmt.Errorf("members %v", s.Members())
		}
		first = ea
		return nil
	})
	if err := b.Node.Leave(bg, ub, room.ID); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		mustSend(t, a, ua, room.ID, "after bob")
		mustSend(t, c, uc, room.ID, "after bob too")
		ea, ec := epochOn(a), epochOn(c)
		if ea <= first || ea != ec {
			return fmt.Errorf("epochs a %d c %d, first %d", ea, ec, first)
		}
		return nil
	})
	if eb := epochOn(b); eb > first {
		t.Fatalf("B, which lost its last member, opened epoch %d", eb)
	}
}

func TestQUICTransport(t *testing.T) {
	quic := func(c *p2p.Config) { p2ptest.Fast(c); c.Listen = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} }
	a, b := p2ptest.Start(t, "A", quic), p2ptest.Start(t, "B", quic)
	p2ptest.Connect(t, b, a)
	for _, c := range b.Host.LibP2P().Network().ConnsToPeer(a.Host.ID()) {
		if !strings.Contains(c.RemoteMultiaddr().String(), "quic-v1") {
			t.Fatalf("connected over %s", c.RemoteMultiaddr())
		}
	}
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	dm, err := a.Node.DM(bg, ua, ub)
	if err != nil {
		t.Fatal(err)
	}
	m := mustSend(t, a, ua, dm.ID, "over quic")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, m.ID) })
}

func TestBootstrapPeerIsRedialled(t *testing.T) {
	a := p2ptest.Start(t, "A", nil)
	addr := a.Host.Addrs()[0]
	b := p2ptest.Start(t, "B", func(c *p2p.Config) { p2ptest.Fast(c); c.Peers = []string{addr} })
	connected := func() error {
		if b.Host.LibP2P().Network().Connectedness(a.Host.ID()) != network.Connected {
			return errors.New("B is not connected to A")
		}
		return nil
	}
	p2ptest.WaitFor(t, 10*time.Second, connected)
	// A goes away and comes back on the same address: B dials it again.
	listen := strings.TrimSuffix(addr, "/p2p/"+a.Host.ID().String())
	a.Stop()
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if connected() == nil {
			return errors.New("B still connected")
		}
		return nil
	})
	a.Retune(func(c *p2p.Config) { p2ptest.Fast(c); c.Listen = []string{listen} })
	a.Restart()
	p2ptest.WaitFor(t, 20*time.Second, connected)
}
