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
