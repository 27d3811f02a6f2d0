package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// TestConcurrentJoinsAndScans runs membership changes while the room table
// is scanned the way federation and presence scan it. A lock-order
// mistake deadlocks here; the test fails on its deadline instead.
func TestConcurrentJoinsAndScans(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	owner := mustRegister(t, n, "owner")
	var users []node.UserID
	for i := range 8 {
		users = append(users, mustRegister(t, n, fmt.Sprint("user", i)))
	}
	var rooms []node.RoomID
	for i := range 4 {
		r, err := n.CreateRoom(ctx, owner, fmt.Sprint("room", i), "", node.Public)
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.ID)
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	var scans sync.WaitGroup
	for range 3 {
		scans.Add(1)
		go func() {
			defer scans.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n.HeldRooms()
				n.LocalRooms()
				n.PublicRoomViews()
				_, _ = n.PublicRooms(ctx)
				n.Connect(owner)
				n.Disconnect(owner)
			}
		}()
	}
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := range 5 {
					for _, r := range rooms {
						if _, err := n.Join(ctx, u, r); err != nil {
							t.Error(err)
						}
						if round%2 == 0 {
							if err := n.Leave(ctx, u, r); err != nil {
								t.Error(err)
							}
						}
					}
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("joins did not finish: deadlock")
	}
	close(stop)
	scans.Wait()
}
