package webui

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// batchConn lets the connection's writer coalesce several WebSocket frames
// into one write system call. gorilla/websocket writes each frame straight
// to the network connection; when a burst is queued for a client, the
// writer Holds, writes every queued frame (they land in a pooled buffer),
// and Releases, which flushes them with one write. Outside a hold, writes
// pass straight through, so control frames the reader goroutine sends
// (pongs, the close reply) are never delayed.
//
// gorilla sets the write deadline before every frame; batchConn applies a
// deadline to the socket only when it changed and only when bytes are
// about to go out, which saves a timer update per frame.
//
// TryWrite is the fan-out's fast path: one non-blocking write system call
// from the caller's goroutine, which saves waking the connection's writer
// goroutine for every delivery. Bytes the socket did not take are kept in
// rest and go out before anything else.
type batchConn struct {
	net.Conn
	raw      syscall.RawConn // nil when the connection has no descriptor (TLS, tests)
	mu       sync.Mutex
	hold     bool
	buf      *[]byte
	rest     []byte // the unsent tail of a TryWrite; written first
	tryFn    func(uintptr) bool
	tryP     []byte // TryWrite's frame, for tryFn; guarded by mu
	tryN     int
	tryErr   error
	deadline time.Time // wanted
	applied  time.Time // set on the socket
}

// newBatchConn wraps c; direct writes need its descriptor.
func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			b.raw = raw
			b.tryFn = b.tryWriteFd
		}
	}
	return b
}

// direct says whether TryWrite can ever write: the connection exposes its
// descriptor.
func (b *batchConn) direct() bool { return b.raw != nil }

// TryWrite writes p at once if that needs no waiting: nothing is held,
// buffered or left over, and the socket is ready. It reports whether p was
// taken; pending means part of it is left in rest, and the caller must
// have the writer goroutine Flush it.
func (b *batchConn) TryWrite(p []byte) (ok, pending bool) {
	if b.raw == nil || !b.mu.TryLock() {
		return false, false
	}
	defer b.mu.Unlock()
	if b.hold || b.buf != nil || b.rest != nil {
		return false, false
	}
	b.tryP = p
	rerr := b.raw.Write(b.tryFn)
	n, err := b.tryN, b.tryErr
	b.tryP, b.tryErr = nil, nil
	switch {
	case rerr != nil: // closed
		return false, false
	case err == syscall.EAGAIN:
		n = 0
	case err != nil:
		// The socket failed: leave the frame to the writer, whose own
		// write will see the error and end the connection.
		return false, false
	}
	if n == len(p) {
		return true, false
	}
	b.rest = append([]byte(nil), p[n:]...)
	return true, true
}

// tryWriteFd is TryWrite's one system call, kept as a method value
// (tryFn) so that a delivery allocates no closure. b.mu is held.
func (b *batchConn) tryWriteFd(fd uintptr) bool {
	for {
		b.tryN, b.tryErr = syscall.Write(int(fd), b.tryP)
		if b.tryErr != syscall.EINTR {
			return true // never wait for the socket here
		}
	}
}

// Flush writes what TryWrite left over, waiting for the socket.
func (b *batchConn) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// SetWriteDeadline records the deadline for the next real write.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	b.deadline = t
	b.mu.Unlock()
	return nil
}

func (b *batchConn) writeLocked(p []byte) (int, error) {
	if !b.deadline.Equal(b.applied) {
		if err := b.Conn.SetWriteDeadline(b.deadline); err != nil {
			return 0, err
		}
		b.applied = b.deadline
	}
	return b.Conn.Write(p)
}

var batchBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rest != nil {
		if _, err := b.writeLocked(b.rest); err != nil {
			return 0, err
		}
		b.rest = nil
	}
	if !b.hold {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		return b.writeLocked(p)
	}
	if b.buf != nil && len(*b.buf)+len(p) > cap(*b.buf) {
		if err := b.flushLocked(); err != nil { // returns b.buf to the pool
			return 0, err
		}
	}
	if b.buf == nil {
		b.buf = batchBufPool.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) > cap(*b.buf) {
		// Larger than a whole buffer, which is empty here: write through.
		return b.writeLocked(p)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// Hold starts coalescing writes.
func (b *batchConn) Hold() {
	b.mu.Lock()
	b.hold = true
	b.mu.Unlock()
}

// Release flushes what was coalesced and returns the buffer to the pool,
// so an idle connection holds no write buffer.
func (b *batchConn) Release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hold = false
	return b.flushLocked()
}

func (b *batchConn) flushLocked() error {
	if b.rest != nil {
		if _, err := b.writeLocked(b.rest); err != nil {
			return err
		}
		b.rest = nil
	}
	if b.buf == nil {
		return nil
	}
	buf := b.buf
	b.buf = nil
	var err error
	if len(*buf) > 0 {
		_, err = b.writeLocked(*buf)
	}
	*buf = (*buf)[:0]
	batchBufPool.Put(buf)
	return err
}

// batchWriter wraps a ResponseWriter so that the connection gorilla
// hijacks for the WebSocket is a batchConn.
type batchWriter struct {
	http.ResponseWriter
	conn *batchConn
}

func (w *batchWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("webui: connection cannot be hijacked")
	}
	c, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = newBatchConn(c)
	return w.conn, rw, nil
}
