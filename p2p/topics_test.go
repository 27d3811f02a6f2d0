package p2p_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestTopicsAreBounded: however many rooms a node holds, it joins at most
// MaxTopics gossip topics, those of rooms with local members first.
func TestTopicsAreBounded(t *testing.T) {
	a := p2ptest.Start(t, "a", func(c *p2p.Config) { p2ptest.Fast(c); c.MaxTopics = 5 })
	u := a.User(t, "alice")
	var rooms []node.RoomID
	for i := range 8 {
		r, err := a.Node.CreateRoom(bg, u, fmt.Sprint("room ", i), "", node.Public)
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.ID)
	}
	slices.Sort(rooms)
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		got := a.Host.Topics()
		if len(got) != 5 {
			return fmt.Errorf("%d topics: %v", len(got), got)
		}
		for _, id := range rooms[:3] { // local rooms come in ID order
			if !slices.Contains(got, "hearth/room/1/"+string(id)) {
				return fmt.Errorf("topics %v lack room %s", got, id)
			}
		}
		return nil
	})
	// Publishing in a room past the cap joins no topic: it travels by
	// push and sync.
	if _, err := a.Node.Send(bg, u, node.SendParams{Room: rooms[7], Body: "past the cap"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // nothing to poll for: the count must stay
	if got := a.Host.Topics(); len(got) > 5 {
		t.Fatalf("%d topics after a send: %v", len(got), got)
	}
}

// TestTopicJoinedToPublishIsLeftIfNotWanted: a topic joined to publish
// (roomTopicToPublish) is the topic loop's to keep or leave, and the loop
// hears of it at once, not at its 30-second tick. At MaxTopics a topic
// joined that way for a room the node does not want would otherwise keep
// a wanted room out (TestTopicsAreBounded failed so in a stress round).
func TestTopicJoinedToPublishIsLeftIfNotWanted(t *testing.T) {
	a := p2ptest.Start(t, "a", func(c *p2p.Config) { p2ptest.Fast(c); c.MaxTopics = 4 })
	u := a.User(t, "alice")
	room, err := a.Node.CreateRoom(bg, u, "held", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hearth/directory/1", "hearth/presence/1", "hearth/room/1/" + string(room.ID)}
	slices.Sort(want)
	settled := func() error {
		got := a.Host.Topics()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("topics %v, want %v", got, want)
		}
		return nil
	}
	p2ptest.WaitFor(t, 10*time.Second, settled)

	// A room this node does not hold: a free slot lets the publish join.
	stray := node.RoomID("rNotHeldByThisNode0000")
	if err := a.Host.JoinTopicToPublish(stray); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.Host.Topics(), "hearth/room/1/"+string(stray)) {
		t.Fatal("the publish did not join the stray room's topic")
	}
	p2ptest.WaitFor(t, 5*time.Second, settled)
}
