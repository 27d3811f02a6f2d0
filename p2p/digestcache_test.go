package p2p

import (
	"bytes"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// A digest computed while the room changed is not kept: the next call
// computes it again and sees the change (a stale digest once kept a
// restarted node one message short for good, TestRestartConvergesWithIdenticalOrder).
func TestDigestCacheKeepsNoDigestOlderThanAnInvalidation(t *testing.T) {
	c := newDigestCache()
	room, from := node.RoomID("r"), []byte("floor")
	held := "60 events"
	compute := func() ([]byte, error) { return []byte(held), nil }

	// The computation reads the room, then an event lands and the room
	// is invalidated before the computation stores its result.
	d, err := c.get(room, from, func() ([]byte, error) {
		d, err := compute()
		held = "61 events"
		c.invalidate(room)
		return d, err
	})
	if err != nil || string(d) != "60 events" {
		t.Fatalf("get = %q, %v", d, err)
	}
	if d, _ := c.get(room, from, compute); !bytes.Equal(d, []byte("61 events")) {
		t.Fatalf("after the invalidation the cache answered %q, want the room's digest now", d)
	}

	// Without a change the digest is computed once.
	calls := 0
	counted := func() ([]byte, error) { calls++; return compute() }
	c.invalidate(room)
	for range 3 {
		if _, err := c.get(room, from, counted); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("computed %d times for an unchanged room, want 1", calls)
	}
}
