package p2p_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestDirectoryListsNewRoomsPromptly: with the periodic announcement an
// hour away, a room created (or renamed) after the first announcement
// still reaches the other node's directory within seconds, because a
// change of rooms prompts an announcement of its own.
func TestDirectoryListsNewRoomsPromptly(t *testing.T) {
	quiet := func(c *p2p.Config) { p2ptest.Fast(c); c.DirectoryInterval = time.Hour }
	ns := p2ptest.LineWith(t, 2, quiet)
	a, b := ns[0], ns[1]
	ua := a.User(t, "alice")
	listed := func(id node.RoomID, name string) func() error {
		return func() error {
			rooms, err := b.Node.PublicRooms(bg)
			if err != nil {
				return err
			}
			for _, r := range rooms {
				if r.ID == id && r.Name == name {
					return nil
				}
			}
			return fmt.Errorf("B's directory lacks %q", name)
		}
	}
	first, err := a.Node.CreateRoom(bg, ua, "first", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, listed(first.ID, "first"))

	second, err := a.Node.CreateRoom(bg, ua, "second", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, listed(second.ID, "second"))

	name := "second, renamed"
	if _, err := a.Node.UpdateRoom(bg, ua, second.ID, node.RoomPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, listed(second.ID, name))
}
