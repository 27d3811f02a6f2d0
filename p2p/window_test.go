package p2p_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

func TestWindowedJoinBackfillsOnDemand(t *testing.T) {
	small := func(c *p2p.Config) { p2ptest.Fast(c); c.JoinWindow = 10 }
	a, b := p2ptest.Start(t, "A", small), p2ptest.Start(t, "B", small)
	p2ptest.Connect(t, b, a)
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "long", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	var sent []node.EventID
	for i := range 40 {
		sent = append(sent, mustSend(t, a, ua, room.ID, fmt.Sprintf("m %d", i)).ID)
	}
	mustJoin(t, b, ub, room.ID)
	r, err := b.Node.Room(bg, ub, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.HistoryComplete {
		t.Fatal("a windowed join claims complete history")
	}
	// Anti-entropy keeps to the window: B does not pull everything.
	time.Sleep(1500 * time.Millisecond)
	if ok, _ := b.Node.HasEvent(bg, sent[0]); ok {
		t.Fatal("B fetched the oldest message without being asked")
	}
	// Paging back fetches older history from A.
	var got []node.EventID
	before := node.EventID("")
	for range 20 {
		msgs, more, err := b.Node.History(bg, ub, room.ID, before, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, m.ID)
		}
		if !more || len(msgs) == 0 {
			break
		}
		before = msgs[len(msgs)-1].ID
	}
	if len(got) != len(sent) {
		t.Fatalf("paged %d messages, want %d", len(got), len(sent))
	}
	for i, id := range got {
		if sent[len(sent)-1-i] != id {
			t.Fatalf("message %d is %s, want %s", i, id, sent[len(sent)-1-i])
		}
	}
	r, _ = b.Node.Room(bg, ub, room.ID)
	if !r.HistoryComplete {
		t.Fatal("history still incomplete after paging to the start")
	}
}
