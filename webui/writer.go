package webui

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// writer is the outgoing side of one WebSocket, on its own so that the
// connection (ws.go) keeps the protocol and authentication and this keeps
// the queue, the batching and the slow-client cut-off; centrifuge's
// writer.go is the model.
//
// Frames are encoded once, as whole WebSocket frames, and shared by every
// receiver of a fan-out. A frame takes one of two paths to the socket:
//
//   - direct: when the queue is empty and no one is writing, push writes
//     the frame itself with one non-blocking system call
//     (batchConn.TryWrite). This is the common case for a client that
//     keeps up, and it costs no goroutine wake-up.
//   - queued: otherwise the frame joins the bounded queue and the writer
//     goroutine (run) writes everything queued in one system call. The
//     queue is a slice that exists only while frames wait, so an idle
//     connection pays nothing for it.
//
// wmu is held by whichever of the two writes, and the direct path is
// taken only with an empty queue, so frames from one producer (the hub's
// lane for the user, or the store's sync goroutine for acks) reach the
// socket in the order they were pushed. Lock order: wmu, then qmu.
//
// A push never blocks: when the queue is full the client is not reading,
// and it is cut off (1008) instead of stalling fan-out. close ends the
// writer; the first call's code and reason go out in the close frame,
// after the frames queued by then, and run returns.
//
// Every method may be called from any goroutine; run is called once.
type writer struct {
	ws       *websocket.Conn // control frames (ping, close) and the final Close
	bc       *batchConn      // the socket under ws: data frames, batched
	maxQueue int
	onClose  func() // runs once, when the writer is closed, whoever closes it
	// onSlow, when set, is told of each cut-off of a slow client (metrics).
	onSlow func()

	qmu   sync.Mutex
	q     [][]byte     // whole frames waiting for run; guarded by qmu
	qlen  atomic.Int32 // len(q), read without the lock by push's fast path
	wakeC chan struct{}

	wmu     sync.Mutex // held by whoever writes frames to the socket
	wclosed bool       // the close frame went out; guarded by wmu
	pingDue atomic.Bool

	done    chan struct{} // closed by close
	once    sync.Once
	code    int // the close frame's; set once, before done is closed
	reason  string
	stopped chan struct{} // closed when run returns
}

// newWriter returns a writer for ws, whose network connection is bc,
// with a queue of at most maxQueue frames. onClose (if not nil) runs once
// when the writer is closed. The caller starts run.
func newWriter(ws *websocket.Conn, bc *batchConn, maxQueue int, onClose func()) *writer {
	return &writer{
		ws: ws, bc: bc, maxQueue: maxQueue, onClose: onClose,
		wakeC: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// textFrame encodes payload as one unfragmented WebSocket text frame (RFC
// 6455 §5.2). Server frames are not masked and the node negotiates no
// compression, so the bytes are the same for every receiver.
func textFrame(payload []byte) []byte {
	var h [10]byte
	h[0] = 0x80 | websocket.TextMessage // FIN, opcode 1
	n := 2
	switch l := len(payload); {
	case l < 126:
		h[1] = byte(l)
	case l <= 0xFFFF:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(l))
		n = 4
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(l))
		n = 10
	}
	f := make([]byte, n+len(payload))
	copy(f, h[:n])
	copy(f[n:], payload)
	return f
}

// push sends a frame without blocking and reports whether it was taken.
// A full queue means the client is not reading: it is cut off (1008) so
// it cannot stall fan-out. f is shared with other connections and never
// changed.
func (w *writer) push(f []byte) bool { return w.pushFrames(f, false) }

// pushCopy is push for bytes the caller reuses: they are copied if they
// must wait in the queue.
func (w *writer) pushCopy(f []byte) bool { return w.pushFrames(f, true) }

func (w *writer) pushFrames(f []byte, scratch bool) bool {
	select {
	case <-w.done:
		return false
	default:
	}
	if w.qlen.Load() == 0 && w.wmu.TryLock() {
		ok, pending := false, false
		if !w.wclosed && w.qlen.Load() == 0 {
			ok, pending = w.bc.TryWrite(f)
		}
		w.wmu.Unlock()
		if ok {
			if pending {
				w.wake() // the socket took part of it: run finishes
			}
			return true
		}
	}
	if scratch {
		f = append([]byte(nil), f...)
	}
	if w.enqueue(f) {
		w.wake()
		return true
	}
	w.close(websocket.ClosePolicyViolation, "too slow: outgoing queue full")
	if w.onSlow != nil {
		w.onSlow()
	}
	// run is stuck behind a full socket and would hold the connection
	// (and its queued frames) until its write deadline; the close frame
	// could not get through anyway, so drop it now.
	_ = w.ws.Close()
	return false
}

// queueFirst queues f and runs fn with the socket held: whatever is
// pushed while fn runs goes out after f. The connection uses it for ready,
// which the client must see before the fan-out that joining the hub (in
// fn) lets through.
func (w *writer) queueFirst(f []byte, fn func()) {
	w.wmu.Lock()
	w.enqueue(f)
	fn()
	w.wmu.Unlock()
	w.wake()
}

// enqueue appends f to the queue unless it is full.
func (w *writer) enqueue(f []byte) bool {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	if len(w.q) >= w.maxQueue {
		return false
	}
	w.q = append(w.q, f)
	w.qlen.Store(int32(len(w.q)))
	return true
}

// wake makes run look at the queue, pingDue and done.
func (w *writer) wake() {
	select {
	case w.wakeC <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// ping has run ping the client (Hub.keepAlive).
func (w *writer) ping() {
	w.pingDue.Store(true)
	w.wake()
}

// close ends the writer with a close code; the first call wins. It does
// not wait: run flushes, sends the close frame and returns.
func (w *writer) close(code int, reason string) {
	w.once.Do(func() {
		w.code, w.reason = code, reason
		close(w.done)
		if w.onClose != nil {
			w.onClose()
		}
		w.wake()
	})
}

// wait returns once run has returned.
func (w *writer) wait() { <-w.stopped }

// run writes what the direct path could not: queued frames, the rest of a
// partial direct write, pings, and the final close frame. Several queued
// frames go out in one system call (batchConn). It returns once the
// writer is closed and the close frame is out, or the socket failed.
func (w *writer) run() {
	defer close(w.stopped)
	for {
		<-w.wakeC
		select {
		case <-w.done:
			w.finish()
			return
		default:
		}
		if err := w.writeQueued(); err != nil {
			w.close(websocket.CloseAbnormalClosure, "write failed")
			_ = w.ws.Close()
			return
		}
	}
}

// writeQueued writes the leftover of a direct write and every queued
// frame, then a ping if one is due.
func (w *writer) writeQueued() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.bc.SetWriteDeadline(writeDeadline())
	var err error
	if frames := w.takeQueued(); len(frames) > 0 {
		w.bc.Hold()
		for _, f := range frames {
			if _, err = w.bc.Write(f); err != nil {
				break
			}
		}
		if rerr := w.bc.Release(); err == nil {
			err = rerr
		}
	} else {
		err = w.bc.Flush()
	}
	if err == nil && w.pingDue.Swap(false) {
		err = w.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
	}
	return err
}

// finish ends run once the writer is closed: the queued frames go out,
// then the close frame, unless the socket failed or the client was too
// slow to read.
func (w *writer) finish() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.wclosed = true
	if w.code != websocket.CloseAbnormalClosure {
		if w.code != websocket.ClosePolicyViolation { // a slow client's socket is already gone
			_ = w.bc.SetWriteDeadline(time.Now().Add(time.Second))
			w.bc.Hold()
			err := w.bc.Flush()
			for _, f := range w.takeQueued() {
				if err != nil {
					break
				}
				_, err = w.bc.Write(f)
			}
			_ = w.bc.Release()
		}
		msg := websocket.FormatCloseMessage(w.code, w.reason)
		_ = w.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	}
	// Give the peer a moment to answer the close, then drop the TCP
	// connection; the reader ends on either.
	time.AfterFunc(time.Second, func() { _ = w.ws.Close() })
}

// takeQueued empties the queue. Callers hold wmu, so nothing reaches the
// socket between the frames they take and write.
func (w *writer) takeQueued() [][]byte {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	q := w.q
	w.q = nil
	w.qlen.Store(0)
	return q
}

// writeDeadline is now+writeWait rounded up to the second, so that
// successive batches usually carry the same deadline and batchConn leaves
// the socket's timer alone.
func writeDeadline() time.Time {
	return time.Now().Add(writeWait).Truncate(time.Second).Add(time.Second)
}
