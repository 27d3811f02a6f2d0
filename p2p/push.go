package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
)

// pushBatch bounds the events sent in one push.
const pushBatch = 64

// enqueuePush queues an event for direct delivery to p. Each peer has one
// bounded queue drained by one goroutine that exits when idle; a full
// queue drops the event and leaves it to anti-entropy.
func (h *Host) enqueuePush(p peer.ID, e *node.Event) {
	h.bgMu.Lock()
	if h.pushQ == nil {
		h.pushQ = map[peer.ID]chan *node.Event{}
	}
	q := h.pushQ[p]
	if q == nil && !h.done {
		q = make(chan *node.Event, 1024)
		h.pushQ[p] = q
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			h.drainPush(p, q)
		}()
	}
	h.bgMu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- e:
	default:
		h.log.Debug("push queue full; left to sync", "peer", p)
	}
}

func (h *Host) drainPush(p peer.ID, q chan *node.Event) {
	idle := time.NewTimer(30 * time.Second)
	defer idle.Stop()
	for {
		select {
		case <-h.closing:
			return
		case e := <-q:
			batch := [][]byte{e.Raw}
		more:
			for len(batch) < pushBatch {
				select {
				case e := <-q:
					batch = append(batch, e.Raw)
				default:
					break more
				}
			}
			ctx, cancel := h.boundedContext(10 * time.Second)
			if _, err := h.call(ctx, p, &syncRequest{Op: opPush, Events: batch}); err != nil {
				h.log.Debug("push", "peer", p, "events", len(batch), "err", err)
			}
			cancel()
			idle.Reset(30 * time.Second)
		case <-idle.C:
			h.bgMu.Lock()
			if len(q) == 0 {
				delete(h.pushQ, p)
				h.bgMu.Unlock()
				return
			}
			h.bgMu.Unlock()
			idle.Reset(30 * time.Second)
		}
	}
}
