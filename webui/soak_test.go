package webui_test

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/webui"
)

// TestSoakSlowReaders (make soak): thousands of connections in one room,
// a tenth of which never read. The stuck ones are cut off, every reader
// gets every message, the readers' latency stays low, and the node's heap
// stays bounded. HEARTH_SOAK_CONNS sets the connections (default 2000).
func TestSoakSlowReaders(t *testing.T) {
	if os.Getenv("HEARTH_SOAK") != "1" {
		t.Skip("long soak: run with make soak")
	}
	conns := 2000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_SOAK_CONNS")); err == nil && v > 0 {
		conns = v
	}
	const users, messages = 20, 1200
	tn := newTestNode(t, nodeOptions{sndBuf: 4096, config: func(c *webui.Config) { c.UserRate = -1 }})
	sender := tn.mustRegister(t, "sender")
	room := sender.mustCreateRoom(t, "crowd", "public")
	var clients []*client
	for i := range users {
		c := tn.mustRegister(t, fmt.Sprint("reader", i))
		c.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, 200, nil)
		clients = append(clients, c)
	}

	type reader struct {
		got atomic.Int64
		lat []time.Duration
		mu  sync.Mutex
	}
	var readers []*reader
	var wsConns []*websocket.Conn
	var wg sync.WaitGroup
	// Stuck clients get a small receive buffer, as a phone on a bad link
	// would, so that their backlog reaches the server's queue.
	small := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	wsURL := "ws" + strings.TrimPrefix(tn.URL, "http") + "/api/v1/ws"
	for i := range conns {
		var ws *websocket.Conn
		var err error
		if i%10 == 0 {
			ws, _, err = small.Dial(wsURL, nil)
		} else {
			ws, _, err = tn.dialWS(t, nil)
		}
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		wsConns = append(wsConns, ws)
		if err := ws.WriteJSON(map[string]string{"type": "auth", "token": clients[i%users].Access}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			continue // stuck: never reads again
		}
		r := &reader{}
		readers = append(readers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				s := string(data)
				if !strings.HasPrefix(s, `{"type":"message"`) {
					continue
				}
				i := strings.Index(s, `"body":"t=`)
				if i < 0 {
					continue
				}
				rest := s[i+len(`"body":"t=`):]
				ns, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ' ')], 10, 64)
				r.mu.Lock()
				r.lat = append(r.lat, time.Since(time.Unix(0, ns)))
				r.mu.Unlock()
				r.got.Add(1)
			}
		}()
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	pad := strings.Repeat("x", 100)
	tick := time.NewTicker(5 * time.Millisecond) // 200 messages/s
	for i := range messages {
		<-tick.C
		sender.mustPost(t, room.ID, fmt.Sprintf("t=%d %d %s", time.Now().UnixNano(), i, pad))
	}
	tick.Stop()
	poll.Until(t, 60*time.Second, func() error {
		for i, r := range readers {
			if n := r.got.Load(); n < messages {
				return fmt.Errorf("reader %d has %d of %d", i, n, messages)
			}
		}
		return nil
	})
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	var all []time.Duration
	for _, r := range readers {
		all = append(all, r.lat...)
	}
	slices.Sort(all)
	p50, p99 := all[len(all)/2], all[len(all)*99/100]
	live := tn.Hub.Conns()
	t.Logf("%d connections (%d stuck): %d deliveries to readers, p50 %v, p99 %v, max %v; %d connections left in the hub; heap %d → %d MiB",
		conns, conns-len(readers), len(all), p50, p99, all[len(all)-1], live, before.HeapInuse>>20, after.HeapInuse>>20)
	if live > len(readers) {
		t.Errorf("%d connections in the hub, but only %d read: stuck clients were not cut off", live, len(readers))
	}
	if p99 > 2*time.Second {
		t.Errorf("readers' p99 %v: stuck clients slowed the others", p99)
	}
	for _, ws := range wsConns {
		ws.Close()
	}
	wg.Wait()
}
