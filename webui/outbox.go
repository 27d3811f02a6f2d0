package webui

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/gorilla/websocket"
)

// The outgoing side of a connection. Frames are encoded once, as whole
// WebSocket frames, and shared by every receiver of a fan-out. A frame
// takes one of two paths to the socket:
//
//   - direct: when the connection's queue is empty and no one is writing,
//     push writes the frame itself with one non-blocking system call
//     (batchConn.TryWrite). This is the common case for a client that
//     keeps up, and it costs no goroutine wake-up.
//   - queued: otherwise the frame joins the connection's bounded queue and
//     the writer goroutine writes everything queued in one system call.
//     The queue is a slice that exists only while frames wait, so an idle
//     connection pays nothing for it.
//
// wmu is held by whichever of the two writes, and the direct path is
// taken only with an empty queue, so frames from one producer (the hub's
// lane for the user, or the store's sync goroutine for acks) reach the
// socket in the order they were pushed.

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

// push sends a frame without blocking. A full queue means the client is
// not reading: it is cut off (1008) so it cannot stall fan-out. f is
// shared with other connections and never changed.
func (c *conn) push(f []byte) bool { return c.pushFrames(f, false) }

// pushCopy is push for bytes the caller reuses: they are copied if they
// must wait in the queue.
func (c *conn) pushCopy(f []byte) bool { return c.pushFrames(f, true) }

func (c *conn) pushFrames(f []byte, scratch bool) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	if c.qlen.Load() == 0 && c.wmu.TryLock() {
		ok, pending := false, false
		if !c.wclosed && c.qlen.Load() == 0 {
			ok, pending = c.bc.TryWrite(f)
		}
		c.wmu.Unlock()
		if ok {
			if pending {
				c.wake() // the socket took part of it: the writer finishes
			}
			return true
		}
	}
	if scratch {
		f = append([]byte(nil), f...)
	}
	if c.enqueue(f) {
		c.wake()
		return true
	}
	c.close(websocket.ClosePolicyViolation, "too slow: outgoing queue full")
	c.s.hub.observer().SlowClient()
	// The writer is stuck behind a full socket and would hold the
	// connection (and its queued frames) until its write deadline; the
	// close frame could not get through anyway, so drop it now.
	_ = c.ws.Close()
	return false
}

// enqueue appends f to the writer's queue unless it is full.
func (c *conn) enqueue(f []byte) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.q) >= outQueueSize {
		return false
	}
	c.q = append(c.q, f)
	c.qlen.Store(int32(len(c.q)))
	return true
}

// sendFrame encodes v as a text frame and pushes it.
func (c *conn) sendFrame(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error("encode frame", "err", err)
		return
	}
	c.push(textFrame(data))
}

// wake makes the writer look at the queue, pingDue and done.
func (c *conn) wake() {
	select {
	case c.wakeC <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// ping asks the writer to ping the client (Hub.keepAlive).
func (c *conn) ping() {
	c.pingDue.Store(true)
	c.wake()
}

// writer writes what the direct path could not: queued frames, the rest
// of a partial direct write, pings, and the final close frame. Several
// queued frames go out in one system call (batchConn).
func (c *conn) writer() {
	defer close(c.writerD)
	for {
		<-c.wakeC
		select {
		case <-c.done:
			c.finish()
			return
		default:
		}
		if err := c.writeQueued(); err != nil {
			c.close(websocket.CloseAbnormalClosure, "write failed")
			_ = c.ws.Close()
			return
		}
	}
}

// writeQueued writes the leftover of a direct write and every queued
// frame, then a ping if one is due.
func (c *conn) writeQueued() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.bc.SetWriteDeadline(c.writeDeadline())
	var err error
	if frames := c.takeQueued(); len(frames) > 0 {
		c.bc.Hold()
		for _, f := range frames {
			if _, err = c.bc.Write(f); err != nil {
				break
			}
		}
		if rerr := c.bc.Release(); err == nil {
			err = rerr
		}
	} else {
		err = c.bc.Flush()
	}
	if err == nil && c.pingDue.Swap(false) {
		err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
	}
	return err
}

// finish ends the writer once the connection is closing: the queued
// frames go out, then the close frame, unless the socket failed or the
// client was too slow to read.
func (c *conn) finish() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wclosed = true
	if c.code != websocket.CloseAbnormalClosure {
		if c.code != websocket.ClosePolicyViolation { // a slow client's socket is already gone
			_ = c.bc.SetWriteDeadline(time.Now().Add(time.Second))
			c.bc.Hold()
			err := c.bc.Flush()
			for _, f := range c.takeQueued() {
				if err != nil {
					break
				}
				_, err = c.bc.Write(f)
			}
			_ = c.bc.Release()
		}
		msg := websocket.FormatCloseMessage(c.code, c.reason)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	}
	// Give the peer a moment to answer the close, then drop the TCP
	// connection; the reader ends on either.
	time.AfterFunc(time.Second, func() { _ = c.ws.Close() })
}

// takeQueued empties the queue. Callers hold wmu, so nothing reaches the
// socket between the frames they take and write.
func (c *conn) takeQueued() [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.q
	c.q = nil
	c.qlen.Store(0)
	return q
}

// writeDeadline is now+writeWait rounded up to the second, so that
// successive batches usually carry the same deadline and batchConn leaves
// the socket's timer alone.
func (c *conn) writeDeadline() time.Time {
	return time.Now().Add(writeWait).Truncate(time.Second).Add(time.Second)
}
