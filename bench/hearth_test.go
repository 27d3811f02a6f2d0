package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeHearth is a minimal stand-in for a Hearth node speaking the parts of
// the v1 contract the load tool uses, so the Hearth driver is tested by
// `go test` without the real node. Several fakeHearths may share one
// federation, which fans every message out to all of them.
type fakeHearth struct {
	t   *testing.T
	fed *fakeFederation
	srv *httptest.Server

	mu            sync.Mutex
	users         map[string]string // username -> password
	failedLogins  int
	registrations int
	// throttleRegister makes that many registrations answer 429 first.
	throttleRegister int
	// unknownRoomJoins makes that many joins answer 404 first, as a node
	// that has not heard of a remote room yet.
	unknownRoomJoins int
}

type fakeFederation struct {
	mu    sync.Mutex
	conns map[*fakeConn]bool
	seq   int
}

type fakeConn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *fakeConn) send(v any) {
	b, _ := json.Marshal(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.WriteMessage(websocket.TextMessage, b)
}

func newFakeHearth(t *testing.T, fed *fakeFederation) *fakeHearth {
	f := &fakeHearth{t: t, fed: fed, users: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", f.login)
	mux.HandleFunc("POST /api/v1/auth/register", f.register)
	mux.HandleFunc("POST /api/v1/rooms", func(w http.ResponseWriter, r *http.Request) {
		if !authed(r) {
			writeJSON(w, 401, apiError("unauthenticated"))
			return
		}
		writeJSON(w, 201, map[string]string{"id": "r-bench", "name": "x", "visibility": "public"})
	})
	mux.HandleFunc("POST /api/v1/rooms/{id}/join", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		unknown := f.unknownRoomJoins > 0
		if unknown {
			f.unknownRoomJoins--
		}
		f.mu.Unlock()
		switch {
		case !authed(r):
			writeJSON(w, 401, apiError("unauthenticated"))
		case unknown || r.PathValue("id") != "r-bench":
			writeJSON(w, 404, apiError("not_found"))
		default:
			writeJSON(w, 200, map[string]string{"id": "r-bench"})
		}
	})
	mux.HandleFunc("GET /api/v1/ws", f.ws)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func authed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-")
}

func apiError(code string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": code}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type creds struct{ Username, Password string }

func (f *fakeHearth) login(w http.ResponseWriter, r *http.Request) {
	var c creds
	json.NewDecoder(r.Body).Decode(&c)
	f.mu.Lock()
	pw, ok := f.users[c.Username]
	if !ok || pw != c.Password {
		f.failedLogins++
		f.mu.Unlock()
		writeJSON(w, 401, apiError("unauthenticated"))
		return
	}
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"accessToken": "tok-" + c.Username, "user": map[string]string{"username": c.Username}})
}

func (f *fakeHearth) register(w http.ResponseWriter, r *http.Request) {
	var c creds
	json.NewDecoder(r.Body).Decode(&c)
	f.mu.Lock()
	if f.throttleRegister > 0 {
		f.throttleRegister--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		writeJSON(w, 429, apiError("rate_limited"))
		return
	}
	if _, ok := f.users[c.Username]; ok {
		f.mu.Unlock()
		writeJSON(w, 409, apiError("conflict"))
		return
	}
	f.users[c.Username] = c.Password
	f.registrations++
	f.mu.Unlock()
	writeJSON(w, 201, map[string]any{"accessToken": "tok-" + c.Username})
}

func (f *fakeHearth) ws(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws}
	defer func() {
		f.fed.mu.Lock()
		delete(f.fed.conns, c)
		f.fed.mu.Unlock()
		ws.Close()
	}()
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var fr struct{ Type, ID, Room, Body, Token string }
		if json.Unmarshal(p, &fr) != nil {
			c.send(map[string]string{"type": "error", "code": "invalid_argument"})
			continue
		}
		switch fr.Type {
		case "auth":
			if !strings.HasPrefix(fr.Token, "tok-") {
				c.send(map[string]string{"type": "error", "code": "unauthenticated"})
				return
			}
			f.fed.mu.Lock()
			f.fed.conns[c] = true
			f.fed.mu.Unlock()
			c.send(map[string]any{"type": "ready", "user": map[string]string{"id": fr.Token}})
			// Connect-time noise the driver must ignore.
			c.send(map[string]any{"type": "presence", "user": "x@n", "presence": "online"})
		case "send":
			f.fed.mu.Lock()
			f.fed.seq++
			msg := map[string]any{"id": f.fed.seq, "room": fr.Room, "sender": "s@n", "body": fr.Body, "ts": 1, "clientId": fr.ID}
			conns := make([]*fakeConn, 0, len(f.fed.conns))
			for o := range f.fed.conns {
				conns = append(conns, o)
			}
			f.fed.mu.Unlock()
			c.send(map[string]any{"type": "ack", "id": fr.ID, "message": msg})
			for _, o := range conns {
				o.send(map[string]any{"type": "message", "message": msg})
			}
		}
	}
}

func newFederation() *fakeFederation { return &fakeFederation{conns: map[*fakeConn]bool{}} }

func TestHearthDriverAgainstFake(t *testing.T) {
	f := newFakeHearth(t, newFederation())
	f.throttleRegister = 1 // the first registration is told to come back in 1 s
	cfg := Config{
		URLs: []string{f.srv.URL}, Receivers: 30, ConnsPerUser: 4, Rate: 1000, Messages: 300, Size: 80,
		Warmup: 50 * time.Millisecond, Drain: 20 * time.Second, // ends early once all is in
	}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 300 || r.Received != 30*300 || r.Lost != 0 || r.Duplicates != 0 || r.Malformed != 0 {
		t.Fatalf("sent %d received %d lost %d dups %d malformed %d", r.Sent, r.Received, r.Lost, r.Duplicates, r.Malformed)
	}
	var inTimeline int64
	for _, s := range r.Timeline {
		inTimeline += s.Received
	}
	if inTimeline != r.Received || len(r.Timeline) != 1 {
		t.Fatalf("timeline %+v holds %d deliveries, want %d in 1 second", r.Timeline, inTimeline, r.Received)
	}
	if r.Acks != 300 || r.AckLatency == nil || r.SendErrors != 0 {
		t.Fatalf("acks %d, ack latency %v, refused %d", r.Acks, r.AckLatency, r.SendErrors)
	}
	// 30 receivers at 4 per user: 8 users, plus the sender.
	if f.registrations != 9 {
		t.Fatalf("%d registrations, want 9", f.registrations)
	}
	// Only the sender and the first user try to log in before registering.
	if f.failedLogins != 2 {
		t.Fatalf("%d failed logins, want 2 (fresh node: register first)", f.failedLogins)
	}

	// A second run reuses the users: no registration, no failed login.
	f.registrations, f.failedLogins = 0, 0
	cfg.Messages = 50
	r, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.registrations != 0 || f.failedLogins != 0 || r.Lost != 0 {
		t.Fatalf("second run: %d registrations, %d failed logins, %d lost", f.registrations, f.failedLogins, r.Lost)
	}
}

func TestHearthDriverMultiNode(t *testing.T) {
	fed := newFederation()
	a, b := newFakeHearth(t, fed), newFakeHearth(t, fed)
	b.unknownRoomJoins = 3 // the room reaches node b a little late
	r, err := Run(context.Background(), Config{
		URLs: []string{a.srv.URL, b.srv.URL}, Receivers: 10, Rate: 500, Messages: 100,
		Warmup: 10 * time.Millisecond, Drain: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Lost != 0 || len(r.Nodes) != 2 {
		t.Fatalf("lost %d, nodes %+v", r.Lost, r.Nodes)
	}
	for _, n := range r.Nodes {
		if n.Receivers != 5 || n.Received != 500 || n.Lost != 0 {
			t.Errorf("node %s: %+v", n.URL, n)
		}
	}
	// Each node has its own users: 5 receivers, one user each, on both;
	// the sender only on the first.
	if a.registrations != 6 || b.registrations != 5 {
		t.Fatalf("registrations a=%d b=%d, want 6 and 5", a.registrations, b.registrations)
	}
}

// TestClientAddrs: users come from loopback addresses 127.1.x.y,
// UsersPerAddr to each, and only when the server is on loopback.
func TestClientAddrs(t *testing.T) {
	const u = "http://127.0.0.1:8080"
	if a := clientAddr(u, 0); a == nil || a.IP.String() != "127.1.0.1" {
		t.Fatalf("user 0 from %v", a)
	}
	if a, b := clientAddr(u, UsersPerAddr-1), clientAddr(u, UsersPerAddr); a.IP.Equal(b.IP) {
		t.Fatalf("users %d and %d share %v", UsersPerAddr-1, UsersPerAddr, a)
	}
	seen := map[string]bool{}
	for i := 0; i < 20000*UsersPerAddr; i += UsersPerAddr {
		a := clientAddr(u, i)
		if !a.IP.IsLoopback() || seen[a.IP.String()] {
			t.Fatalf("user %d from %v (seen before: %v)", i, a, seen[a.IP.String()])
		}
		seen[a.IP.String()] = true
	}
	if a := clientAddr("http://example.org:8080", 5); a != nil {
		t.Fatalf("a remote server gets client address %v", a)
	}
	if a := clientAddr(u, -1); a != nil {
		t.Fatalf("the sender gets %v", a)
	}
}

func TestHearthUserLayout(t *testing.T) {
	tests := []struct {
		name         string
		urls         int
		receivers    int
		connsPerUser int
		wantCPU      int
	}{
		{"one user per connection", 1, 100, 0, 1},
		{"a thousand users", 1, 1000, 0, 1},
		{"two nodes", 2, 1000, 0, 1},
		{"many tabs", 1, 10, 3, 3},
		{"one", 1, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Receivers: tt.receivers, ConnsPerUser: tt.connsPerUser}
			for range tt.urls {
				cfg.URLs = append(cfg.URLs, "http://127.0.0.1:1")
			}
			if err := cfg.setDefaults(); err != nil {
				t.Fatal(err)
			}
			if cfg.ConnsPerUser != tt.wantCPU {
				t.Fatalf("conns per user %d, want %d", cfg.ConnsPerUser, tt.wantCPU)
			}
			d, err := newHearthDriver(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			conns := map[[2]int]int{}
			for i := range tt.receivers {
				conns[[2]int{d.node(i), d.user(i)}]++
			}
			for k, n := range conns {
				if n > cfg.ConnsPerUser {
					t.Fatalf("user %v holds %d connections, more than %d", k, n, cfg.ConnsPerUser)
				}
			}
			if users := (tt.receivers + tt.urls - 1) / tt.urls / cfg.ConnsPerUser; len(conns) < users*tt.urls-tt.urls {
				t.Fatalf("%d users for %d receivers at %d per user", len(conns), tt.receivers, cfg.ConnsPerUser)
			}
		})
	}
}

func TestForEachStopsAtFirstError(t *testing.T) {
	var mu sync.Mutex
	ran := 0
	err := forEach(context.Background(), 1000, 4, func(ctx context.Context, i int) error {
		mu.Lock()
		ran++
		mu.Unlock()
		switch {
		case i == 10:
			return context.DeadlineExceeded
		case i > 10:
			// Wait for the cancellation the error must cause: without
			// it, on a busy machine the other workers could finish all
			// 1,000 before the failing one got a core to cancel
			// (a stress round saw it).
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("not cancelled 10 s after the first error")
			}
		}
		return nil
	})
	if err != context.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	if ran >= 1000 {
		t.Fatalf("ran all %d after an error", ran)
	}
	if err := forEach(context.Background(), 0, 4, func(context.Context, int) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
