package p2p_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// counts is a p2p.Observer that keeps what it is told.
type counts struct {
	mu     sync.Mutex
	in     map[string]int
	out    int
	rounds int
}

func (c *counts) EventIn(path string, lag time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.in == nil {
		c.in = map[string]int{}
	}
	c.in[path]++
}
func (c *counts) EventOut() { c.mu.Lock(); c.out++; c.mu.Unlock() }
func (c *counts) SyncRound(bool) {
	c.mu.Lock()
	c.rounds++
	c.mu.Unlock()
}

func (c *counts) total() (in, out, rounds int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.in {
		in += n
	}
	return in, c.out, c.rounds
}

// TestObserverAndMesh: the host reports events in and out and sync
// rounds to its observer, and the gossip mesh it forms is counted.
func TestObserverAndMesh(t *testing.T) {
	oa, ob := &counts{}, &counts{}
	a := p2ptest.Start(t, "A", func(c *p2p.Config) { p2ptest.Fast(c); c.Observer = oa })
	b := p2ptest.Start(t, "B", func(c *p2p.Config) { p2ptest.Fast(c); c.Observer = ob })
	p2ptest.Connect(t, b, a)
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "town", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 20*time.Second, func() error { _, err := b.Node.Join(bg, ub, room.ID); return err })
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		if a.Host.MeshPeers() < 1 || b.Host.MeshPeers() < 1 {
			return fmt.Errorf("mesh links: A %d, B %d", a.Host.MeshPeers(), b.Host.MeshPeers())
		}
		return nil
	})
	if a.Host.TopicCount() < 1 {
		t.Errorf("A follows %d topics", a.Host.TopicCount())
	}
	m := mustSend(t, a, ua, room.ID, "counted")
	p2ptest.WaitFor(t, 15*time.Second, func() error { return b.Notes.HasMessage(ub, m.ID) })
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		inB, _, roundsB := ob.total()
		_, outA, _ := oa.total()
		if inB < 2 || outA < 2 || roundsB < 1 {
			return fmt.Errorf("B in %d, A out %d, B sync rounds %d", inB, outA, roundsB)
		}
		return nil
	})
}
