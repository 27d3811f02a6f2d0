package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// The outbox: to-device messages and device-list updates for other
// nodes' users wait in the store (obm/, obd/) until the node they are for
// has stored them durably and said so. Exactly once: a message keeps its
// ID through every retry, the receiver remembers the IDs it stored
// (ReceivedIDTTL) and answers only after its write is synced, and the
// sender deletes a message only after that answer. Either side may be
// killed at any point: the sender then sends again, the receiver
// recognises the ID.
//
// One goroutine (run) owns the outbox: it starts a delivery per node
// that has something waiting and is due, at most maxDeliveries at once,
// and retries a node that failed with exponential backoff from 1 s to
// maxBackoff (with jitter), at once when that node connects again. The
// same goroutine works through membership changes of encrypted rooms
// for the device lists (devicelists.go).

const (
	outboxBatch   = 64
	dlBatch       = 256
	maxDeliveries = 8
	maxBackoff    = time.Minute
	deliveryLimit = 30 * time.Second
)

type e2eeWorker struct {
	n     *Node
	wake  chan struct{}
	jobs  chan membershipJob
	peers chan NodeID
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu   sync.Mutex
	dest map[NodeID]*destState // guarded by mu
	wg   sync.WaitGroup        // deliveries and pulls in flight
}

type destState struct {
	next    time.Time
	backoff time.Duration
	busy    bool
}

func newE2EEWorker(n *Node) *e2eeWorker {
	w := &e2eeWorker{
		n: n, wake: make(chan struct{}, 1), jobs: make(chan membershipJob, 1024), peers: make(chan NodeID, 64),
		stop: make(chan struct{}), done: make(chan struct{}), dest: map[NodeID]*destState{},
	}
	go w.run()
	return w
}

// wakeOutbox has the outbox look for due deliveries now.
func (w *e2eeWorker) wakeOutbox() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// membership queues a membership job; when the queue is full the job is
// dropped (clients also track room members themselves).
func (w *e2eeWorker) membership(j membershipJob) {
	select {
	case w.jobs <- j:
	default:
		w.n.log.Warn("device-list job queue full; job dropped", "room", j.room)
	}
}

// close stops the worker and waits for its deliveries.
func (w *e2eeWorker) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// NodeConnected tells the node that another node is reachable again:
// its outbox is retried at once and the device lists this node follows
// there are compared (a change may have been missed meanwhile).
func (n *Node) NodeConnected(id NodeID) {
	if id == n.ID() {
		return
	}
	select {
	case n.e2ee.peers <- id:
	default:
	}
}

func (w *e2eeWorker) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			cancel()
			w.wg.Wait()
			return
		case <-w.wake:
		case <-timer.C:
		case j := <-w.jobs:
			w.n.onMembership(ctx, j)
			continue
		case p := <-w.peers:
			w.mu.Lock()
			if d := w.dest[p]; d != nil {
				d.next, d.backoff = time.Time{}, 0
			}
			w.mu.Unlock()
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				pctx, cancel := context.WithTimeout(ctx, deliveryLimit)
				defer cancel()
				w.n.pullDeviceLists(pctx, p)
			}()
		}
		next := w.flush(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), 10*time.Millisecond))
	}
}

// flush starts a delivery to every node that has something waiting and
// is due; it returns when to look again.
func (w *e2eeWorker) flush(ctx context.Context) time.Time {
	n := w.n
	later := time.Now().Add(maxBackoff)
	if _, ok := n.keyFederation(); !ok {
		return later
	}
	var waiting []NodeID
	_ = n.store.View(ctx, func(tx Tx) error {
		return tx.EachOutboxState(func(s *OutboxState) bool {
			if s.Count > 0 || s.DeviceLists {
				waiting = append(waiting, s.Node)
			}
			return true
		})
	})
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	busy := 0
	for _, d := range w.dest {
		if d.busy {
			busy++
		}
	}
	for _, to := range waiting {
		d := w.dest[to]
		if d == nil {
			d = &destState{}
			w.dest[to] = d
		}
		if d.busy {
			continue
		}
		if d.next.After(now) {
			later = minTime(later, d.next)
			continue
		}
		if busy >= maxDeliveries {
			later = minTime(later, now.Add(100*time.Millisecond))
			continue
		}
		busy++
		d.busy = true
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			ok, more := w.deliver(ctx, to)
			w.mu.Lock()
			d.busy = false
			switch {
			case ok && more:
				d.backoff, d.next = 0, time.Time{}
			case ok:
				d.backoff, d.next = 0, time.Time{}
			default:
				d.backoff = min(max(2*d.backoff, time.Second), maxBackoff)
				jitter := time.Duration(rand.Int64N(int64(d.backoff) / 4))
				d.next = time.Now().Add(d.backoff + jitter)
			}
			w.mu.Unlock()
			w.wakeOutbox()
		}()
	}
	return later
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// deliver sends one batch of what waits for node to. ok is false when
// the node did not take it all (retry later); more when more waits.
func (w *e2eeWorker) deliver(ctx context.Context, to NodeID) (ok, more bool) {
	n := w.n
	kf, has := n.keyFederation()
	if !has {
		return false, false
	}
	var msgs []*Outbound
	var dls map[UserID]int64
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		if msgs, err = tx.OutboundAfter(to, 0, outboxBatch); err != nil {
			return err
		}
		dls, err = tx.DeviceListOut(to, dlBatch)
		return err
	})
	if err != nil {
		return false, false
	}
	ok = true
	if len(msgs) > 0 {
		var sent bool
		if ok, sent = w.sendMessages(ctx, kf, to, msgs); !sent {
			return false, true
		}
	}
	if len(dls) > 0 && !w.sendDeviceLists(ctx, kf, to, dls) {
		return false, true
	}
	return ok, len(msgs) == outboxBatch || len(dls) == dlBatch
}

// sendMessages sends a batch of to-device messages to node to and
// forgets those it took or refused, and those too old to send. sent is
// false when the node could not be asked; ok is false when it must be
// asked again later.
func (w *e2eeWorker) sendMessages(ctx context.Context, kf KeyFederation, to NodeID, msgs []*Outbound) (ok, sent bool) {
	n := w.n
	var send, expired []*Outbound
	cutoff := n.now().Add(-OutboxMaxAge).UnixMilli()
	for _, m := range msgs {
		if m.CreatedAt < cutoff {
			expired = append(expired, m)
		} else {
			send = append(send, m)
		}
	}
	if len(expired) > 0 {
		n.log.Warn("to-device messages expired undelivered", "node", to, "count", len(expired))
		n.forgetOutbound(ctx, to, expired)
	}
	if len(send) == 0 {
		return true, true
	}
	cctx, cancel := context.WithTimeout(ctx, deliveryLimit)
	results, err := kf.SendToDevice(cctx, to, send)
	cancel()
	if err != nil || len(results) != len(send) {
		n.log.Debug("outbox delivery", "node", to, "messages", len(send), "err", err)
		return false, false
	}
	ok = true
	var done []*Outbound
	for i, r := range results {
		switch r {
		case ReceivedOK:
			done = append(done, send[i])
		case ReceivedFull:
			ok = false // the device has not read its inbox: try later
		default:
			n.log.Warn("to-device message refused by its node", "node", to, "id", send[i].ID, "why", r)
			done = append(done, send[i])
		}
	}
	n.forgetOutbound(ctx, to, done)
	return ok, true
}

// sendDeviceLists tells node to of device-list changes and forgets those
// that did not change again meanwhile. It reports whether the node took
// them.
func (w *e2eeWorker) sendDeviceLists(ctx context.Context, kf KeyFederation, to NodeID, dls map[UserID]int64) bool {
	n := w.n
	cctx, cancel := context.WithTimeout(ctx, deliveryLimit)
	err := kf.SendDeviceLists(cctx, to, dls)
	cancel()
	if err != nil {
		n.log.Debug("device-list delivery", "node", to, "err", err)
		return false
	}
	_ = n.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.DeviceListOut(to, MaxQueryUsers*10)
		if err != nil {
			return err
		}
		for u, v := range dls {
			if cur[u] == v { // not changed again meanwhile
				if err := tx.DeleteDeviceListOut(to, u); err != nil {
					return err
				}
				delete(cur, u)
			}
		}
		if len(cur) == 0 {
			st, err := tx.OutboxState(to)
			if err != nil {
				return err
			}
			st.DeviceLists = false
			return tx.PutOutboxState(st)
		}
		return nil
	})
	return true
}

// forgetOutbound deletes delivered (or expired) messages from the
// outbox. A crash before this is durable sends them again, and the
// receiver recognises their IDs.
func (n *Node) forgetOutbound(ctx context.Context, to NodeID, msgs []*Outbound) {
	if len(msgs) == 0 {
		return
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		st, err := tx.OutboxState(to)
		if errors.Is(err, ErrNotFound) {
			st, err = &OutboxState{Node: to}, nil
		}
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := tx.DeleteOutbound(to, m.Seq); err != nil {
				return err
			}
			st.Count = max(st.Count-1, 0)
			st.Bytes = max(st.Bytes-len(m.Content), 0)
		}
		return tx.PutOutboxState(st)
	})
	if err != nil {
		n.log.Warn("outbox not updated; messages will be sent again", "node", to, "err", err)
	}
}

// OutboxLen reports how many to-device messages wait for node to, for
// tests and metrics.
func (n *Node) OutboxLen(ctx context.Context, to NodeID) int {
	c := 0
	_ = n.store.View(ctx, func(tx Tx) error {
		if st, err := tx.OutboxState(to); err == nil {
			c = st.Count
		}
		return nil
	})
	return c
}
