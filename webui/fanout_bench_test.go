package webui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
	"github.com/hearth-chat/hearth/token"
	"github.com/hearth-chat/hearth/webui"
)

// BenchmarkFanout measures live delivery through the real path: one
// sender posts over the API; N WebSocket clients on loopback each receive
// every message. One op is one message delivered to all N receivers.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint("receivers=", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, receivers int) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(b.TempDir(), store.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	hub := webui.NewHub(log)
	n, err := node.New(ctx, node.Config{Store: db, Key: key, Logger: log, Notifier: hub})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tokens, _ := token.NewIssuer(secret, string(n.ID()), 0, nil)
	// Ten users share the receivers (below), so each holds receivers/10
	// sockets: past the default 32 a user's sockets are refused, and the
	// 1,000-receiver case failed to connect in every make bench run until
	// the bound was lifted here. One user per connection is what make
	// bench's workload F measures; this benchmark is the hub's path.
	web, err := webui.New(webui.Config{Node: n, Hub: hub, Tokens: tokens, Logger: log, UserRate: -1, UserSockets: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer web.Close()
	srv := httptest.NewServer(web)
	defer srv.Close()
	defer hub.Shutdown()

	// Ten users share the receivers, so registration (argon2) stays cheap.
	users := make([]node.UserID, 10)
	toks := make([]string, 10)
	for i := range users {
		u, err := n.Register(ctx, fmt.Sprint("user", i), "benchmark password", "")
		if err != nil {
			b.Fatal(err)
		}
		s, _, err := n.NewSession(ctx, u.ID, "")
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
		toks[i], _, _ = tokens.Issue(string(u.ID), s.ID)
	}
	room, err := n.CreateRoom(ctx, users[0], "bench", "", node.Public)
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range users[1:] {
		if _, err := n.Join(ctx, u, room.ID); err != nil {
			b.Fatal(err)
		}
	}
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/ws"
	var got sync.WaitGroup
	conns := make([]*websocket.Conn, receivers)
	for i := range conns {
		c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		if err := c.WriteJSON(map[string]string{"type": "auth", "token": toks[i%len(toks)]}); err != nil {
			b.Fatal(err)
		}
		var ready struct{ Type string }
		if err := c.ReadJSON(&ready); err != nil || ready.Type != "ready" {
			b.Fatalf("auth: %v %v", ready, err)
		}
	}
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if strings.Contains(string(data[:min(len(data), 24)]), `"message"`) {
					got.Done()
				}
			}
		}()
	}
	body := strings.Repeat("x", 100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got.Add(receivers)
		if _, err := n.Send(ctx, users[0], node.SendParams{Room: room.ID, Body: body}); err != nil {
			b.Fatal(err)
		}
		got.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*receivers)/b.Elapsed().Seconds(), "deliveries/s")
	for _, c := range conns {
		c.Close()
	}
	readers.Wait()
}
