package webui_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/webui"
)

// rawWS opens a WebSocket by hand, authenticates and waits for ready:
// the client side holds a socket and nothing else (no goroutine, no
// buffers), so what an idle connection costs shows on the server's side
// alone.
func rawWS(t *testing.T, base, token string) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", err, resp)
	}
	p, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	// A masked text frame with a 16-bit length and a zero mask.
	f := append([]byte{0x81, 0x80 | 126, byte(len(p) >> 8), byte(len(p)), 0, 0, 0, 0}, p...)
	if _, err := c.Write(f); err != nil {
		t.Fatal(err)
	}
	// The server's frames are small and unmasked: look for ready in the
	// byte stream.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var seen []byte
	for !strings.Contains(string(seen), `"type":"ready"`) {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("waiting for ready: %v (got %q)", err, seen)
		}
		seen = append(seen, b)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c
}

// TestIdleConnectionCost: an idle authenticated connection keeps two
// goroutines on the node (its reader and its writer), not a third for
// its device's streams, which runs only while it has something to send.
// The memory it holds is logged: the target (≤ 32 KiB of RSS each at
// 10,000 connections) is make bench's, measured on a whole process.
func TestIdleConnectionCost(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 400 connections")
	}
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.UserSockets = 1000 }})
	var users []*client
	for i := range 4 {
		users = append(users, tn.mustRegister(t, fmt.Sprintf("idle%d", i)))
	}
	measure := func() (heap, stack uint64, goroutines int) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse, m.StackInuse, runtime.NumGoroutine()
	}
	open := func(n int) []net.Conn {
		var out []net.Conn
		for i := range n {
			out = append(out, rawWS(t, tn.URL, users[i%len(users)].Access))
		}
		return out
	}
	online := func(want int) {
		poll.Until(t, 30*time.Second, func() error {
			if got := tn.Hub.Conns(); got != want {
				return fmt.Errorf("%d connections in the hub, want %d", got, want)
			}
			return nil
		})
	}
	first := open(100) // warm: pools, maps and the users' state
	online(len(first))
	h0, s0, g0 := measure()
	const n = 300
	more := open(n)
	online(len(first) + n)
	// Each connection's device pump ran once (to send what waited) and
	// must have exited: wait for the goroutine count to settle.
	var h1, s1 uint64
	poll.Until(t, 30*time.Second, func() error {
		var g1 int
		h1, s1, g1 = measure()
		if per := float64(g1-g0) / n; per > 2.05 {
			return fmt.Errorf("%.2f goroutines per idle connection, want 2", per)
		}
		return nil
	})
	t.Logf("per idle connection: %d B of heap, %d B of stack", int64(h1-h0)/n, int64(s1-s0)/n)
	for _, c := range append(first, more...) {
		c.Close()
	}
}
