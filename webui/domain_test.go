package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/webui"
)

// The real domain service satisfies what the API declares it needs.
var _ webui.Domain = (*node.Node)(nil)

// recorder is a webui.Domain that writes down some of the calls the
// server makes and passes every call on to the real node it wraps: it
// decides nothing.
type recorder struct {
	webui.Domain
	mu    sync.Mutex
	calls []string
}

func (r *recorder) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) has(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.calls, call)
}

// String lists the calls written down so far, for failure messages.
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%q", r.calls)
}

func (r *recorder) RegisterWith(ctx context.Context, reg node.Registration) (*node.User, error) {
	r.note("Register %s", reg.Username)
	return r.Domain.RegisterWith(ctx, reg)
}

func (r *recorder) Send(ctx context.Context, u node.UserID, p node.SendParams) (*node.Message, error) {
	r.note("Send %s %s", u, p.Body)
	return r.Domain.Send(ctx, u, p)
}

func (r *recorder) SendAsync(ctx context.Context, u node.UserID, p node.SendParams, durable func(*node.Message, error)) error {
	r.note("SendAsync %s %s", u, p.Body)
	return r.Domain.SendAsync(ctx, u, p, durable)
}

func (r *recorder) Connect(u node.UserID) {
	r.note("Connect %s", u)
	r.Domain.Connect(u)
}

func (r *recorder) Disconnect(u node.UserID) {
	r.note("Disconnect %s", u)
	r.Domain.Disconnect(u)
}

// TestServerUsesTheDomainInterface runs the REST and WebSocket handlers
// against a webui.Domain that is not *node.Node (a recorder around a real
// node) and checks that requests reach the domain through it.
func TestServerUsesTheDomainInterface(t *testing.T) {
	rec := &recorder{}
	tn := newTestNode(t, nodeOptions{domain: func(n *node.Node) webui.Domain {
		rec.Domain = n
		return rec
	}})
	alice := tn.mustRegister(t, "alice")
	if !rec.has("Register alice") {
		t.Fatalf("register did not go through the interface: %s", rec)
	}
	room := alice.mustCreateRoom(t, "general", "public")
	rest := alice.mustPost(t, room.ID, "over rest")
	if !rec.has(fmt.Sprintf("Send %s over rest", alice.User.ID)) {
		t.Errorf("POST messages did not go through the interface: %s", rec)
	}

	w := alice.mustWS(t)
	if !rec.has(fmt.Sprintf("Connect %s", alice.User.ID)) {
		t.Errorf("the socket did not connect through the interface: %s", rec)
	}
	w.send(t, map[string]any{"type": "send", "id": "c1", "room": room.ID, "body": "over ws"})
	m := w.expect(t, "ack", nil).message(t)
	if m.Body != "over ws" || m.Sender != alice.User.ID {
		t.Fatalf("ack = %+v", m)
	}
	if !rec.has(fmt.Sprintf("SendAsync %s over ws", alice.User.ID)) {
		t.Errorf("the socket's send did not go through the interface: %s", rec)
	}
	p := alice.mustHistory(t, room.ID, "?limit=2")
	if len(p.Messages) != 2 || p.Messages[0].ID != m.ID || p.Messages[1].ID != rest.ID {
		t.Errorf("history = %+v, want the two messages sent through the wrapper", p.Messages)
	}

	w.conn.Close()
	poll.Until(t, 5*time.Second, func() error {
		if !rec.has(fmt.Sprintf("Disconnect %s", alice.User.ID)) {
			return fmt.Errorf("no Disconnect yet: %s", rec)
		}
		return nil
	})
	alice.must(t, "GET", "/api/v1/rooms/"+string(room.ID), nil, http.StatusOK, nil)
}
