package webui_test

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-chat/hearth/webui"
)

// hidingListener hands out connections that hide their socket descriptor,
// as x/net's netutil.LimitListener does.
type hidingListener struct{ net.Listener }

type hidingConn struct{ net.Conn }

func (l hidingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return hidingConn{c}, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWarnsWhenFramesCannotBeWrittenDirectly: a listener whose connections
// hide their descriptor costs every delivery a goroutine wake-up, and the
// node's binary shipped with one unnoticed; the server now says so, once,
// and says nothing on a plain listener. The chat still works either way.
func TestWarnsWhenFramesCannotBeWrittenDirectly(t *testing.T) {
	const warning = "cannot be written directly"
	for _, hide := range []bool{false, true} {
		var logs lockedBuffer
		o := nodeOptions{config: func(c *webui.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }}
		if hide {
			o.listener = func(l net.Listener) net.Listener { return hidingListener{l} }
		}
		tn := newTestNode(t, o)
		alice := tn.mustRegister(t, "alice")
		room := alice.mustCreateRoom(t, "general", "public")
		a1, a2 := alice.mustWS(t), alice.mustWS(t)
		m := alice.mustPost(t, room.ID, "hello")
		for _, w := range []*wsClient{a1, a2} {
			w.expect(t, "message", func(f wsFrame) bool { return f.message(t).ID == m.ID })
		}
		want := 0
		if hide {
			want = 1
		}
		if got := strings.Count(logs.String(), warning); got != want {
			t.Errorf("hidden descriptor %v: warned %d times, want %d; log:\n%s", hide, got, want, logs.String())
		}
	}
}
