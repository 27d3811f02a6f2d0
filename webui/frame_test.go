package webui

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// textFrame's bytes are read back as the same text message by a real
// WebSocket client, at each boundary of the length encoding.
func TestTextFrameReadByClient(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200_000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for _, n := range sizes {
			if _, err := ws.NetConn().Write(textFrame([]byte(strings.Repeat("x", n)))); err != nil {
				return
			}
		}
		_, _, _ = ws.ReadMessage() // until the client goes
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadLimit(1 << 20)
	for _, n := range sizes {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("reading the %d-byte frame: %v", n, err)
		}
		if mt != websocket.TextMessage || len(data) != n || strings.Trim(string(data), "x") != "" {
			t.Fatalf("frame of %d bytes read back as type %d, %d bytes", n, mt, len(data))
		}
	}
}

// tcpPair is a real loopback TCP connection whose socket buffers are
// small, so that a writer fills them quickly.
func tcpPair(t *testing.T) (server *net.TCPConn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	cc, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close(); cc.Close() })
	return sc.(*net.TCPConn), cc.(*net.TCPConn)
}

// A direct write that the socket takes only in part keeps the rest, takes
// no further direct writes until the rest is out, and every later write
// comes after it: the reader sees each byte once, in order.
func TestBatchConnPartialDirectWriteKeepsOrder(t *testing.T) {
	sc, cc := tcpPair(t)
	b := newBatchConn(sc)
	if b.raw == nil {
		t.Fatal("a TCP connection has no descriptor for direct writes")
	}
	var want bytes.Buffer
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 10_000) }
	// The client is not reading: direct writes fill the buffers.
	pending := false
	i := 0
	for ; i < 1000 && !pending; i++ {
		ok, p := b.TryWrite(chunk(i))
		if !ok {
			t.Fatalf("direct write %d refused before any was left over", i)
		}
		want.Write(chunk(i))
		pending = p
	}
	if !pending {
		t.Fatal("the socket never filled")
	}
	if ok, _ := b.TryWrite([]byte("jump the queue")); ok {
		t.Fatal("a direct write went through while an earlier one's rest was pending")
	}
	got := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(cc)
		got <- data
	}()
	// The writer's path: Flush the rest, then queued frames in a batch.
	_ = b.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	b.Hold()
	for j := range 3 {
		frame := []byte(fmt.Sprintf("[queued %d]", j))
		if _, err := b.Write(frame); err != nil {
			t.Fatal(err)
		}
		want.Write(frame)
	}
	if err := b.Release(); err != nil {
		t.Fatal(err)
	}
	if ok, p := b.TryWrite([]byte("[direct again]")); !ok || p {
		t.Fatalf("direct write after the flush: ok=%v pending=%v", ok, p)
	}
	want.WriteString("[direct again]")
	sc.CloseWrite()
	select {
	case data := <-got:
		if !bytes.Equal(data, want.Bytes()) {
			t.Fatalf("reader got %d bytes, want %d, or out of order", len(data), want.Len())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader did not finish")
	}
}
