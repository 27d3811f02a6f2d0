package p2p_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestHostileFloodKeepsHonestNodesResponsive floods a room topic with
// thousands of forged and unauthorised events while honest users talk.
// Every honest message still arrives, nothing hostile is stored, and the
// flooder is scored down.
func TestHostileFloodKeepsHonestNodesResponsive(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "flooded", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	seed := mustSend(t, a, ua, room.ID, "seed")
	seedEv, err := a.Node.Events(bg, room.ID, []node.EventID{seed.ID})
	if err != nil || len(seedEv) != 1 {
		t.Fatal("no stored event", err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, seed.ID) })

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

	mallory := node.NewUserID("mallory", x.id)
	var flood sync.WaitGroup
	flood.Add(1)
	go func() {
		defer flood.Done()
		for i := range 3000 {
			var raw []byte
			if i%2 == 0 {
				// A forged copy of a real event: bad signature.
				raw = bytes.Replace(bytes.Clone(seedEv[0].Raw), []byte("seed"), []byte(fmt.Sprintf("%04d", i%10000)), 1)
			} else {
				// Well signed, but mallory is no member.
				raw = x.event(t, node.EventMessage, room.ID, mallory, node.MessageContent{Body: fmt.Sprint("spam ", i)}).Raw
			}
			if topic.Publish(bg, raw) != nil {
				return
			}
		}
	}()

	// Honest traffic during the flood.
	var sent []node.EventID
	for i := range 20 {
		sent = append(sent, mustSend(t, a, ua, room.ID, fmt.Sprint("honest ", i)).ID)
		time.Sleep(20 * time.Millisecond)
	}
	flood.Wait()
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		for _, id := range sent {
			if err := b.Notes.HasMessage(ub, id); err != nil {
				return err
			}
		}
		return nil
	})
	for _, n := range []*p2ptest.Node{a, b} {
		u := map[*p2ptest.Node]node.UserID{a: ua, b: ub}[n]
		for _, note := range n.Notes.Of(u, node.NoteMessage) {
			if note.Message.Sender == mallory || note.Message.Body != "seed" && bytes.HasPrefix([]byte(note.Message.Body), []byte("00")) {
				t.Fatalf("%s showed a flooded message %q", n.Name, note.Message.Body)
			}
		}
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		for _, n := range []*p2ptest.Node{a, b} {
			if s, ok := n.Host.PeerScore(x.host.ID()); !ok || s >= 0 {
				return fmt.Errorf("%s scores the flooder %v (%v)", n.Name, s, ok)
			}
		}
		return nil
	})
}
