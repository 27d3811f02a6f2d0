package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The push outbox. Every push waits in the store (PushJob) until its
// push service has accepted it, so that a restart loses none: the jobs
// are read back when the node starts. One goroutine (run) owns the
// outbox: it decides the pushes of each offered message (consider),
// starts the due jobs, at most Concurrency at once, and retries a failed
// one with exponential backoff (RetryBase doubling to RetryMax, with
// jitter, never sooner than the push service's Retry-After) until it is
// accepted or its TTL has passed. A subscription the push service calls
// gone is dropped with its jobs; a push it refuses for good is dropped.
//
// Lock order: pushWorker.mu and subMu are leaves, taken after nothing
// else; subMu only serialises subscribes so that the per-user cap holds.

type pushWorker struct {
	n      *Node
	cfg    PushConfig
	offers chan *pushOffer
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup // sends in flight

	subMu sync.Mutex

	mu    sync.Mutex
	subs  map[UserID]int       // local users with subscriptions → how many; guarded by mu
	jobs  map[uint64]*jobEntry // the outbox, as in the store; guarded by mu
	seq   uint64               // the last job's sequence number; guarded by mu
	busy  int                  // sends in flight; guarded by mu
	full  bool                 // the queue was full (logged once); guarded by mu
	sends int                  // pushes accepted, for tests and metrics; guarded by mu
}

type jobEntry struct {
	job  *PushJob
	busy bool
}

// newPushWorker loads the subscriptions and the outbox and starts the
// worker; nil when Web Push is off.
func newPushWorker(ctx context.Context, n *Node, cfg PushConfig) (*pushWorker, error) {
	if cfg.Sender == nil {
		return nil, nil
	}
	cfg.setDefaults()
	w := &pushWorker{
		n: n, cfg: cfg, offers: make(chan *pushOffer, 1024), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		subs: map[UserID]int{}, jobs: map[uint64]*jobEntry{},
	}
	err := n.store.View(ctx, func(tx Tx) error {
		if err := tx.EachPushSubscription("", func(s *PushSubscription) bool {
			w.subs[s.User]++
			return true
		}); err != nil {
			return err
		}
		return tx.EachPushJob(func(j *PushJob) bool {
			w.jobs[j.Seq] = &jobEntry{job: j}
			w.seq = max(w.seq, j.Seq)
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

// close stops the worker and waits for the sends in flight; their jobs
// stay in the store for the next start.
func (w *pushWorker) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *pushWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// subscribed counts d more (or fewer) subscriptions of u.
func (w *pushWorker) subscribed(u UserID, d int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs[u] += d; w.subs[u] <= 0 {
		delete(w.subs, u)
	}
}

func (w *pushWorker) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			cancel()
			w.wg.Wait()
			return
		case o := <-w.offers:
			w.consider(ctx, o)
		case <-w.wake:
		case <-timer.C:
		}
		next := w.dispatch(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), 10*time.Millisecond))
	}
}

// consider decides which of the room's local members a new message
// pushes to, and queues one job per subscription of each. A user with a
// WebSocket open gets none: their tab shows the message (and a desktop
// notification when it is hidden).
func (w *pushWorker) consider(ctx context.Context, o *pushOffer) {
	n := w.n
	var to []UserID
	w.mu.Lock()
	for _, u := range o.to {
		if u != o.msg.Sender && w.subs[u] > 0 {
			to = append(to, u)
		}
	}
	w.mu.Unlock()
	if len(to) == 0 {
		return
	}
	now := n.now()
	var jobs []*PushJob
	err := n.store.View(ctx, func(tx Tx) error {
		var payload []byte
		for _, u := range to {
			if n.connectedLocal(u) {
				continue
			}
			prefs, err := tx.NotifyPrefs(u)
			if err != nil && !isNotFound(err) {
				return err
			}
			level, err := tx.RoomNotify(u, o.msg.Room)
			if err != nil && !isNotFound(err) {
				return err
			}
			if !Notifies(u, o.msg, o.kind, level, prefs, now.UnixMilli()) {
				continue
			}
			if payload == nil {
				name, _, _ := o.msg.Sender.Split()
				if p, err := tx.Profile(o.msg.Sender); err == nil && p.DisplayName != "" {
					name = p.DisplayName
				}
				if payload, err = payloadFor(o, name); err != nil {
					return err
				}
			}
			urgency := pushUrgency(u, o)
			if err := tx.EachPushSubscription(u, func(s *PushSubscription) bool {
				jobs = append(jobs, &PushJob{
					User: u, Sub: s.ID, Payload: payload, Urgency: urgency, Expires: now.Add(w.cfg.TTL).UnixMilli(),
				})
				return true
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.log.Warn("push: deciding a message's pushes", "message", o.msg.ID, "err", err)
		return
	}
	w.enqueue(ctx, jobs)
}

// enqueue writes jobs to the outbox, within its bound.
func (w *pushWorker) enqueue(ctx context.Context, jobs []*PushJob) {
	if len(jobs) == 0 {
		return
	}
	w.mu.Lock()
	room := w.cfg.Queue - len(w.jobs)
	if room < len(jobs) {
		if !w.full {
			w.n.log.Warn("push outbox full; new pushes are dropped", "queued", len(w.jobs))
		}
		w.full = true
		jobs = jobs[:max(room, 0)]
	} else {
		w.full = false
	}
	for _, j := range jobs {
		w.seq++
		j.Seq = w.seq
	}
	w.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	err := w.n.store.Update(ctx, func(tx Tx) error {
		for _, j := range jobs {
			if err := tx.PutPushJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.n.log.Warn("push: queueing", "err", err)
		return
	}
	// Durable groups the sync with the node's other writes; a push may
	// go out before it, since sending twice after a crash is harmless.
	w.n.store.Durable(func(error) {})
	w.mu.Lock()
	for _, j := range jobs {
		w.jobs[j.Seq] = &jobEntry{job: j}
	}
	w.mu.Unlock()
}

// dispatch starts the due jobs, oldest first, within Concurrency, and
// returns when to look again.
func (w *pushWorker) dispatch(ctx context.Context) time.Time {
	now := w.n.now()
	later := now.Add(time.Minute)
	w.mu.Lock()
	defer w.mu.Unlock()
	var due []*jobEntry
	for _, e := range w.jobs {
		if e.busy {
			continue
		}
		if next := time.UnixMilli(e.job.Next); next.After(now) {
			if next.Before(later) {
				later = next
			}
			continue
		}
		due = append(due, e)
	}
	slices.SortFunc(due, func(a, b *jobEntry) int { return compareSeq(a.job.Seq, b.job.Seq) })
	for _, e := range due {
		if w.busy >= w.cfg.Concurrency {
			break
		}
		e.busy = true
		w.busy++
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.send(ctx, e.job)
		}()
	}
	return later
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// send makes one attempt at a job and settles it: done, dropped (with
// its subscription when that is gone), or due again after a backoff.
func (w *pushWorker) send(ctx context.Context, j *PushJob) {
	n := w.n
	defer w.poke()
	var sub *PushSubscription
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		sub, err = tx.PushSubscription(j.User, j.Sub)
		return err
	})
	if err == nil {
		left := time.Until(time.UnixMilli(j.Expires))
		if left <= 0 {
			err = errorf(ErrInvalid, "expired")
		} else {
			actx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
			err = w.cfg.Sender.Push(actx, sub, j.Payload, PushOptions{TTL: left, Urgency: j.Urgency})
			cancel()
		}
	}
	switch {
	case err == nil:
		w.finish(j, true)
	case isNotFound(err):
		w.finish(j, false) // the subscription went meanwhile
	case errors.Is(err, ErrGone):
		n.log.Info("push subscription gone; dropped", "user", j.User, "sub", j.Sub)
		if err := w.drop(context.WithoutCancel(ctx), j.User, j.Sub); err != nil && !isNotFound(err) {
			n.log.Warn("push: dropping a gone subscription", "err", err)
		}
		w.release(j)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrTooLarge):
		n.log.Warn("push refused; dropped", "user", j.User, "sub", j.Sub, "err", err)
		w.finish(j, false)
	case ctx.Err() != nil:
		w.release(j) // shutting down: the job stays for the next start
	default:
		w.retry(j, err)
	}
}

// finish deletes a settled job.
func (w *pushWorker) finish(j *PushJob, sent bool) {
	err := w.n.store.Update(context.Background(), func(tx Tx) error { return tx.DeletePushJob(j.Seq) })
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy--
	if err != nil {
		w.n.log.Warn("push: deleting a settled job", "err", err)
		if e := w.jobs[j.Seq]; e != nil {
			e.busy = false
		}
		return
	}
	delete(w.jobs, j.Seq)
	if sent {
		w.sends++
	}
}

// release frees a job's slot and makes it due again without counting an
// attempt (if it is still queued).
func (w *pushWorker) release(j *PushJob) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy--
	if e := w.jobs[j.Seq]; e != nil {
		e.busy = false
	}
}

// retry schedules the next attempt of a job that failed, or drops it
// when that would be past its TTL.
func (w *pushWorker) retry(j *PushJob, cause error) {
	now := w.n.now()
	delay := w.cfg.RetryBase << min(j.Attempts, 20)
	delay = min(delay, w.cfg.RetryMax)
	delay = delay/2 + rand.N(delay/2+1) // jitter: spread retries of many jobs
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(cause, &ra) && ra.RetryAfter() > delay {
		delay = min(ra.RetryAfter(), w.cfg.TTL)
	}
	next := *j
	next.Attempts++
	next.Next = now.Add(delay).UnixMilli()
	if next.Next >= j.Expires {
		w.n.log.Warn("push not delivered within its TTL; dropped", "user", j.User, "sub", j.Sub, "attempts", next.Attempts, "err", cause)
		w.finish(j, false)
		return
	}
	w.n.log.Debug("push failed; retrying", "user", j.User, "sub", j.Sub, "in", delay, "err", cause)
	w.mu.Lock()
	gone := w.jobs[j.Seq] == nil
	w.mu.Unlock()
	if gone {
		// Dropped with its subscription while it was being sent: not
		// written back.
		w.release(j)
		return
	}
	err := w.n.store.Update(context.Background(), func(tx Tx) error { return tx.PutPushJob(&next) })
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy--
	e := w.jobs[j.Seq]
	if e == nil {
		return // dropped with its subscription meanwhile
	}
	e.busy = false
	if err == nil {
		e.job = &next
	} else {
		w.n.log.Warn("push: storing a retry", "err", err)
		e.job.Next = next.Next // retried all the same, from memory
	}
}

// drop deletes a subscription and its waiting jobs.
func (w *pushWorker) drop(ctx context.Context, u UserID, id string) error {
	w.mu.Lock()
	var seqs []uint64
	for seq, e := range w.jobs {
		if e.job.User == u && e.job.Sub == id {
			seqs = append(seqs, seq)
		}
	}
	w.mu.Unlock()
	existed := false
	err := w.n.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.PushSubscription(u, id); err != nil {
			return err
		}
		existed = true
		for _, seq := range seqs {
			if err := tx.DeletePushJob(seq); err != nil {
				return err
			}
		}
		return tx.DeletePushSubscription(u, id)
	})
	if isNotFound(err) {
		return errorf(ErrNotFound, "no such push subscription")
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	for _, seq := range seqs {
		// A job being sent is forgotten too; its sender still
		// releases its slot (busy) when it returns.
		delete(w.jobs, seq)
	}
	w.mu.Unlock()
	if existed {
		w.subscribed(u, -1)
	}
	return nil
}

// PushStats reports the pushes waiting in the outbox and those the push
// services accepted since the node started, for tests and metrics.
func (n *Node) PushStats() (queued, sent int) {
	if n.push == nil {
		return 0, 0
	}
	w := n.push
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.jobs), w.sends
}
