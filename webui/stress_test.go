package webui_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/webui"
)

// TestConcurrentUse has several users at once connect and disconnect,
// join and leave, send, type and mark read in shared rooms, over REST and
// WebSocket, to shake out deadlocks and races (run it with -race). Every
// send must be acked and the node must answer afterwards.
func TestConcurrentUse(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.UserRate = -1 }})
	const users, ops = 4, 30
	var clients []*client
	for i := range users {
		clients = append(clients, tn.mustRegister(t, fmt.Sprintf("user%d", i)))
	}
	rooms := []node.Room{clients[0].mustCreateRoom(t, "a", "public"), clients[1].mustCreateRoom(t, "b", "public")}

	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := rooms[i%2]
			c.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
			w := c.mustWS(t)
			for n := range ops {
				switch n % 6 {
				case 0, 1:
					id := fmt.Sprintf("%d-%d", i, n)
					w.send(t, map[string]any{"type": "send", "id": id, "room": room.ID, "body": id})
					w.expect(t, "ack", func(f wsFrame) bool { return f.ID == id })
				case 2:
					w.send(t, map[string]any{"type": "typing", "room": room.ID, "typing": true})
				case 3:
					other := rooms[(i+1)%2]
					c.must(t, "POST", "/api/v1/rooms/"+string(other.ID)+"/join", nil, http.StatusOK, nil)
					c.mustPost(t, other.ID, "passing through")
					c.must(t, "POST", "/api/v1/rooms/"+string(other.ID)+"/leave", nil, http.StatusNoContent, nil)
				case 4:
					extra := c.mustWS(t) // another tab comes and goes
					extra.conn.Close()
					if p := c.mustHistory(t, room.ID, "?limit=1"); len(p.Messages) == 1 {
						c.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/read", map[string]string{"upTo": string(p.Messages[0].ID)}, http.StatusNoContent, nil)
					}
				case 5:
					c.must(t, "GET", "/api/v1/rooms", nil, http.StatusOK, nil)
					c.must(t, "GET", "/api/v1/rooms/"+string(room.ID)+"/members", nil, http.StatusOK, nil)
				}
			}
			w.conn.Close()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("concurrent clients did not finish: deadlock?")
	}
	for _, r := range rooms {
		p := clients[0].mustHistory(t, r.ID, "?limit=200")
		if len(p.Messages) < users/2*ops/3 {
			t.Errorf("room %s has %d messages", r.Name, len(p.Messages))
		}
	}
	poll.Until(t, 5*time.Second, func() error {
		if n := tn.Hub.Conns(); n != 0 {
			return fmt.Errorf("%d connections left", n)
		}
		return nil
	})
}
