package main

import (
	"encoding/json"
	"fmt"
	"github.com/hearth-chat/hearth/internal/poll"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestToDeviceExactlyOnceAcrossKills: alice on node A sends to-device
// messages to bob's device on node B while B, then A, is killed with
// SIGKILL and restarted; every request acknowledged with 200 (and every
// one retried with its txnId after a failure) reaches bob's device
// exactly once, through real `hearth serve` processes, libp2p and Badger.
func TestToDeviceExactlyOnceAcrossKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real binaries")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataA, dataB := filepath.Join(t.TempDir(), "A"), filepath.Join(t.TempDir(), "B")
	a := startPeer(t, bin, dataA)
	b := startPeer(t, bin, dataB, a.p2p[0])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("A logs:\n%s\nB logs:\n%s", tail(a.stderr.String(), 4000), tail(b.stderr.String(), 4000))
		}
	})
	var alice, bob struct {
		AccessToken string `json:"accessToken"`
		DeviceID    string `json:"deviceId"`
	}
	a.api.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice", "password": testPassword}, 201, &alice)
	b.api.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "bob", "password": testPassword}, 201, &bob)
	bobMX := "@bob:" + b.node

	// send retries one request (same txnId) until the node answers 200.
	send := func(p **fedProc, i int) {
		t.Helper()
		body := map[string]any{"messages": map[string]any{bobMX: map[string]any{bob.DeviceID: map[string]any{"marker": fmt.Sprintf("m%03d", i)}}}}
		poll.Until(t, 60*time.Second, func() error {
			code, err := (*p).api.try("PUT", fmt.Sprintf("/api/v1/sendToDevice/m.test/txn%03d", i), alice.AccessToken, body, nil)
			if code != 200 {
				return fmt.Errorf("send %d: %d %v", i, code, err)
			}
			return nil
		})
	}
	const n = 60
	i := 0
	for ; i < 20; i++ {
		send(&a, i)
	}
	b.kill(t) // the receiver dies with messages in flight
	for ; i < 40; i++ {
		send(&a, i)
	}
	// The sender dies right after acknowledging sends: its outbox must
	// survive, and a client retry of the last txnId must not duplicate.
	a.kill(t)
	a = startPeer(t, bin, dataA)
	send(&a, 39)
	b = startPeer(t, bin, dataB, a.p2p[0])
	for ; i < n; i++ {
		send(&a, i)
		if i == 50 {
			b.kill(t)
			b = startPeer(t, bin, dataB, a.p2p[0])
		}
	}

	// Bob's device reads its inbox over the WebSocket, acknowledging as
	// it goes, and reconnects once midway: nothing lost, nothing twice.
	var login struct {
		AccessToken string `json:"accessToken"`
	}
	b.api.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": testPassword, "deviceId": bob.DeviceID}, 200, &login)
	got := map[string]int{}
	reconnected := false
	deadline := time.Now().Add(90 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ws := dialAuthed(t, b.http, login.AccessToken)
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			var f struct {
				Type   string `json:"type"`
				Next   string `json:"next"`
				Events []struct {
					Sender  string          `json:"sender"`
					Content json.RawMessage `json:"content"`
				} `json:"events"`
			}
			if err := ws.ReadJSON(&f); err != nil {
				break
			}
			if f.Type != "todevice" {
				continue
			}
			for _, e := range f.Events {
				var c struct{ Marker string }
				_ = json.Unmarshal(e.Content, &c)
				if e.Sender != "@alice:"+a.node || !strings.HasPrefix(c.Marker, "m") {
					t.Fatalf("unexpected event %+v", e)
				}
				got[c.Marker]++
			}
			if err := ws.WriteJSON(map[string]string{"type": "todevice_ack", "upTo": f.Next}); err != nil {
				break
			}
			if !reconnected && len(got) >= n/2 {
				// Drop the socket once the ack is handled (frames are
				// handled in order: the pong follows it); the rest must
				// come on the next connection.
				reconnected = true
				_ = ws.WriteJSON(map[string]string{"type": "ping"})
				for {
					var p struct{ Type string }
					if err := ws.ReadJSON(&p); err != nil || p.Type == "pong" {
						break
					}
				}
				break
			}
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		}
		ws.Close()
	}
	for j := range n {
		if c := got[fmt.Sprintf("m%03d", j)]; c != 1 {
			t.Errorf("message m%03d delivered %d times", j, c)
		}
	}
	if len(got) != n {
		t.Fatalf("bob got %d distinct messages, want %d", len(got), n)
	}
}
