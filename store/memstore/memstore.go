// Package memstore is a node.Store held in memory: the fast store for the
// domain's rule tests, which need the store's contract but not its disk.
// It passes the same conformance suite as the Badger store
// (store/storetest), including the Durable ordering that the node's
// delivery order rests on. Nothing survives Close.
//
// Records live in one ordered tree (github.com/google/btree) under keys
// laid out like the Badger store's, so that the scans the node relies on
// (a room's events in order, a page of messages before an order key) are
// range scans here too. Every Update works on a copy-on-write clone of the
// tree and publishes it when its function succeeds, so a View sees the
// state of one moment and a failed Update leaves nothing behind. Values
// are copied on the way in and out: a caller that changes what it read
// changes nothing stored.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/hearth-chat/hearth/node"
)

// item is one record: a key, its value (never changed once stored) and an
// optional expiry.
type item struct {
	key     string
	val     any
	expires time.Time
}

func less(a, b item) bool { return a.key < b.key }

// Store is an in-memory node.Store. It is safe for concurrent use.
type Store struct {
	writeMu sync.Mutex          // serialises Updates, like the Badger store's writer
	next    *btree.BTreeG[item] // private clone of cur for the next Update; guarded by writeMu
	mu      sync.RWMutex        // guards cur and closed
	cur     *btree.BTreeG[item] // the published state; never written
	closed  bool

	// Durable callbacks, run in call order by one goroutine.
	dmu     sync.Mutex
	dcond   *sync.Cond
	queue   []func(error)
	closing bool
	done    chan struct{}
}

var _ node.Store = (*Store)(nil)

// New returns an empty store. Close stops its callback goroutine.
func New() *Store {
	cur := btree.NewG(16, less)
	s := &Store{cur: cur, next: cur.Clone(), done: make(chan struct{})}
	s.dcond = sync.NewCond(&s.dmu)
	go s.runDurable()
	return s
}

// Update runs fn against a private copy of the state and publishes it when
// fn returns nil (or an error wrapping node.ErrCommitAnyway). Updates run
// one at a time; each sees those before it.
func (s *Store) Update(ctx context.Context, fn func(node.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.isClosed() {
		return fmt.Errorf("update: %w", node.ErrClosed)
	}
	work := s.next
	// spare is the state before fn, for the next Update if fn fails.
	// Cloning work here is safe: no reader sees work yet.
	spare := work.Clone()
	committed := false
	defer func() {
		if !committed {
			s.next = spare // fn failed or panicked: its writes are dropped
		}
	}()
	err := fn(&tx{t: work, now: time.Now()})
	if err != nil && !errors.Is(err, node.ErrCommitAnyway) {
		return err
	}
	following := work.Clone()
	s.mu.Lock()
	s.cur = work
	s.mu.Unlock()
	s.next, committed = following, true
	return err
}

// View runs fn against the state published when it starts.
func (s *Store) View(ctx context.Context, fn func(node.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	cur, closed := s.cur, s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("view: %w", node.ErrClosed)
	}
	return fn(&tx{t: cur, readOnly: true, now: time.Now()})
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Durable calls fn once every Update that returned before the call is
// stored, which in memory they already are. Callbacks run one at a time,
// in call order, on the store's callback goroutine (as the Badger store
// runs them on its sync goroutine); they must not block. After Close, fn
// runs at once with node.ErrClosed.
func (s *Store) Durable(fn func(error)) {
	s.dmu.Lock()
	if s.closing {
		s.dmu.Unlock()
		fn(node.ErrClosed)
		return
	}
	s.queue = append(s.queue, fn)
	s.dcond.Signal()
	s.dmu.Unlock()
}

func (s *Store) runDurable() {
	defer close(s.done)
	for {
		s.dmu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.dcond.Wait()
		}
		batch, closing := s.queue, s.closing
		s.queue = nil
		s.dmu.Unlock()
		for _, fn := range batch {
			fn(nil)
		}
		if closing {
			return
		}
	}
}

// Close waits for the Update under way, runs the pending Durable callbacks
// and stops the store; later calls fail with node.ErrClosed. Calling it
// again does nothing.
func (s *Store) Close() error {
	s.writeMu.Lock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.writeMu.Unlock()
	s.dmu.Lock()
	s.closing = true
	s.dcond.Signal()
	s.dmu.Unlock()
	<-s.done
	return nil
}
