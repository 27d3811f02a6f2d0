package webui

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/internal/poll"
)

// writerPair is a writer on the server side of a real WebSocket over
// loopback TCP, and the client's end.
type writerPair struct {
	w      *writer
	client *websocket.Conn
	closes atomic.Int32 // calls of the writer's onClose
}

// pairOptions shape the connection under the writer.
type pairOptions struct {
	maxQueue int
	// wrap, when set, wraps the server's network connection (before
	// batchConn does).
	wrap func(net.Conn) net.Conn
	// smallBuffers shrinks both ends' socket buffers, so that a client
	// that does not read fills them quickly.
	smallBuffers bool
}

// hijacker makes the connection gorilla hijacks a batchConn over what
// wrap returns, as batchWriter does in serveWS.
type hijacker struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := h.ResponseWriter.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = newBatchConn(h.wrap(c))
	return h.conn, rw, nil
}

func newWriterPair(t *testing.T, o pairOptions) *writerPair {
	t.Helper()
	if o.wrap == nil {
		o.wrap = func(c net.Conn) net.Conn { return c }
	}
	if o.maxQueue == 0 {
		o.maxQueue = outQueueSize
	}
	p := &writerPair{}
	got := make(chan *writer, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := &hijacker{ResponseWriter: rw, wrap: o.wrap}
		ws, err := upgrader.Upgrade(h, r, nil)
		if err != nil {
			return
		}
		if o.smallBuffers {
			if tc, ok := ws.NetConn().(*batchConn).Conn.(*net.TCPConn); ok {
				_ = tc.SetWriteBuffer(4096)
			}
		}
		got <- newWriter(ws, h.conn, o.maxQueue, func() { p.closes.Add(1) })
	}))
	t.Cleanup(srv.Close)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if o.smallBuffers {
		d.NetDialContext = (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}).DialContext
	}
	client, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.client = client
	select {
	case p.w = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection")
	}
	t.Cleanup(func() {
		client.Close()
		p.w.close(websocket.CloseNormalClosure, "")
		_ = p.w.ws.Close()
	})
	return p
}

// start runs the writer, and waits for it at the end of the test.
func (p *writerPair) start(t *testing.T) {
	go p.w.run()
	t.Cleanup(func() {
		p.w.close(websocket.CloseNormalClosure, "")
		p.w.wait()
	})
}

// mustRead reads the client's next message and checks it is want.
func (p *writerPair) mustRead(t *testing.T, want string) {
	t.Helper()
	_ = p.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, data, err := p.client.ReadMessage()
	if err != nil {
		t.Fatalf("read %q: %v", want, err)
	}
	if mt != websocket.TextMessage || string(data) != want {
		t.Fatalf("read type %d %q, want %q", mt, data, want)
	}
}

// writeCounter counts the writes that reach the network connection. It
// has no descriptor, so the writer's direct path is off and every frame
// goes through the queue.
type writeCounter struct {
	net.Conn
	writes atomic.Int32
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A client that keeps up gets a frame pushed to an empty queue straight
// from push's goroutine: run is not even started.
func TestWriterDirectPath(t *testing.T) {
	p := newWriterPair(t, pairOptions{})
	if !p.w.push(textFrame([]byte("direct"))) {
		t.Fatal("push refused")
	}
	if n := p.w.qlen.Load(); n != 0 {
		t.Fatalf("%d frames queued, want none", n)
	}
	p.mustRead(t, "direct")
}

// Frames queued while the socket is busy go out, in order, in one write.
func TestWriterBatchesQueuedFrames(t *testing.T) {
	var wc *writeCounter
	p := newWriterPair(t, pairOptions{wrap: func(c net.Conn) net.Conn {
		wc = &writeCounter{Conn: c}
		return wc
	}})
	p.start(t)
	before := wc.writes.Load()
	const n = 20
	p.w.queueFirst(textFrame([]byte("frame 0")), func() {
		// The socket is held: these queue behind frame 0.
		for i := 1; i < n; i++ {
			if !p.w.push(textFrame([]byte(fmt.Sprint("frame ", i)))) {
				t.Errorf("push %d refused", i)
			}
		}
	})
	for i := range n {
		p.mustRead(t, fmt.Sprint("frame ", i))
	}
	if got := wc.writes.Load() - before; got != 1 {
		t.Fatalf("%d frames took %d writes, want 1", n, got)
	}
}

// A client that does not read fills the socket and then the queue: the
// push that finds the queue full is refused, the writer closes (1008, and
// its onClose runs once), the socket is dropped and run returns, without
// waiting for a write deadline. Later pushes are refused at once.
func TestWriterCutsOffSlowClient(t *testing.T) {
	p := newWriterPair(t, pairOptions{maxQueue: 4, smallBuffers: true})
	p.start(t)
	big := textFrame(bytes.Repeat([]byte("x"), 64<<10))
	pushed := 0
	for p.w.push(big) {
		pushed++
		if pushed > 10_000 {
			t.Fatal("the queue never filled")
		}
	}
	select {
	case <-p.w.done:
	default:
		t.Fatal("a refused push left the writer open")
	}
	if p.w.code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want 1008", p.w.code)
	}
	stopped := make(chan struct{})
	go func() { p.w.wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(writeWait / 2):
		t.Fatal("run did not return after the cut-off")
	}
	if p.w.push(textFrame([]byte("late"))) {
		t.Error("a push after the cut-off was taken")
	}
	if n := p.closes.Load(); n != 1 {
		t.Errorf("onClose ran %d times, want 1", n)
	}
	// The client finds its connection gone once it reads what got through.
	_ = p.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := p.client.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the client's connection stayed open")
			}
			break
		}
	}
}

// close: the first call wins; the frames queued before it go out, then
// the close frame with its code and reason; pushes after it are refused;
// run returns.
func TestWriterCloseFlushesThenCloseFrame(t *testing.T) {
	p := newWriterPair(t, pairOptions{wrap: func(c net.Conn) net.Conn { return &writeCounter{Conn: c} }})
	// Queued before run starts, so that they are still waiting when close
	// comes.
	for i := range 3 {
		if !p.w.push(textFrame([]byte(fmt.Sprint("before ", i)))) {
			t.Fatalf("push %d refused", i)
		}
	}
	p.w.close(closeUnauthenticated, "first")
	p.w.close(websocket.CloseGoingAway, "second")
	if p.w.push(textFrame([]byte("after"))) {
		t.Error("a push after close was taken")
	}
	p.start(t)
	for i := range 3 {
		p.mustRead(t, fmt.Sprint("before ", i))
	}
	_ = p.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := p.client.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeUnauthenticated || ce.Text != "first" {
		t.Fatalf("after the queued frames: %q, %v; want close 4001 \"first\"", data, err)
	}
	poll.Until(t, 10*time.Second, func() error {
		select {
		case <-p.w.stopped:
			return nil
		default:
			return errors.New("run has not returned")
		}
	})
	if n := p.closes.Load(); n != 1 {
		t.Errorf("onClose ran %d times, want 1", n)
	}
}

// ping sends a ping through run.
func TestWriterPing(t *testing.T) {
	p := newWriterPair(t, pairOptions{})
	p.start(t)
	pinged := make(chan struct{})
	p.client.SetPingHandler(func(string) error { close(pinged); return nil })
	go func() { _, _, _ = p.client.ReadMessage() }() // control frames are handled by reads
	p.w.ping()
	select {
	case <-pinged:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping")
	}
}
