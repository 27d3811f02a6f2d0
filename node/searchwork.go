package node

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// How the search index is fed. A change of a message (applyMessage,
// applyChange, revalidation) queues the message's ID in the store in the
// change's own transaction (searchMark): the send pays for one small key
// and never waits for the index. The search worker reads the queue in
// batches, reads each message's current view, hands the index what to add
// and what to remove, and deletes the entries once the index has them on
// disk. A crash at any point leaves the entries queued, so the index
// catches up on the next start; when the index is new (missing, or of an
// older format) the worker first builds it from every message in the
// store.
const (
	// searchBatch bounds the queue entries taken at once.
	searchBatch = 1024
	// searchBuildBatch is how many messages a build hands the index at
	// once.
	searchBuildBatch = 2000
	// defaultSearchDelay is how long the worker lets changes gather after
	// being woken, so that a burst of sends is indexed as one batch (each
	// batch is one segment and one sync in the index).
	defaultSearchDelay = 50 * time.Millisecond
	// searchEvery is the least time between two batches. A batch has a
	// cost of its own whatever its size (a segment written and synced,
	// then merged with others): at 200 messages a second, batches every
	// 50 ms cost the node more CPU than the messages' fan-out to 100
	// users (docs/benchmarks.md). Once a second keeps that cost small
	// and a message findable a second after it is sent; the first change
	// after a quiet second is still indexed after only the delay.
	searchEvery = time.Second
	// searchRescan is how often the whole queue is read from its start,
	// not from where the last batch stopped, and a failed batch retried.
	searchRescan = 30 * time.Second
)

// defaultSearches is Config.Searches's default.
const defaultSearches = 4

// searchWorker owns the goroutine that feeds the index, and the slots of
// the searches running.
type searchWorker struct {
	n     *Node
	idx   SearchIndex
	delay time.Duration
	every time.Duration // searchEvery, shorter in tests

	mu      sync.Mutex
	running map[UserID]bool // users with a search running; guarded by mu
	seq     atomic.Uint64   // the last queue seq handed out
	built   atomic.Bool     // the index holds every message (the build is done)
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// startSearch starts the worker when the node has an index. Queue seqs
// continue above the highest queued one and the clock in µs, so that a
// restart never reuses one still queued.
func (n *Node) startSearch(ctx context.Context) error {
	if n.cfg.Search == nil {
		return nil
	}
	w := &searchWorker{
		n: n, idx: n.cfg.Search, delay: n.cfg.SearchDelay, every: min(searchEvery, n.cfg.SearchDelay*20), running: map[UserID]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	var last uint64
	if err := n.store.View(ctx, func(tx Tx) error {
		var err error
		last, err = tx.LastSearchWork()
		return err
	}); err != nil {
		return err
	}
	w.seq.Store(max(last, uint64(n.now().UnixMicro())))
	w.built.Store(w.idx.Built())
	n.search = w
	go w.run()
	return nil
}

// slot reserves a search for u before any of its work: one per user at a
// time and Config.Searches on the node, so a user cannot take the
// node's CPU with concurrent searches. release gives it back.
func (w *searchWorker) slot(u UserID) (release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running[u] {
		return nil, errorf(ErrRateLimited, "one search at a time; wait for the last one")
	}
	if len(w.running) >= w.n.cfg.Searches {
		return nil, errorf(ErrRateLimited, "the node is busy with other searches; try again shortly")
	}
	w.running[u] = true
	return func() {
		w.mu.Lock()
		delete(w.running, u)
		w.mu.Unlock()
	}, nil
}

// close stops the worker and waits for it; queued work stays queued.
func (w *searchWorker) close() {
	close(w.stop)
	<-w.done
}

// searchMark queues m for the index in tx, the transaction that changed
// it. An encrypted room's message is not queued: its text never reaches
// the node, and the index never holds it.
func (n *Node) searchMark(tx Tx, m *Message) error {
	w := n.search
	if w == nil || m == nil || (m.Encrypted != nil && !m.Deleted) {
		return nil
	}
	if err := tx.PutSearchWork(w.seq.Add(1), m.ID); err != nil {
		return err
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// SearchBacklog says how many changes wait for the search index and
// whether it has been built; search is off when ok is false.
func (n *Node) SearchBacklog(ctx context.Context) (queued int, built, ok bool, err error) {
	w := n.search
	if w == nil {
		return 0, false, false, nil
	}
	err = n.store.View(ctx, func(tx Tx) error {
		return tx.EachSearchWork(0, func(uint64, EventID) bool {
			queued++
			return true
		})
	})
	return queued, w.built.Load(), true, err
}

func (w *searchWorker) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-w.done:
		}
	}()
	rescan := time.NewTicker(searchRescan)
	defer rescan.Stop()
	var next uint64    // the queue is read from here when woken
	var last time.Time // when the last batch was indexed
	for {
		if !w.built.Load() {
			if err := w.build(ctx); err != nil {
				if ctx.Err() == nil {
					w.n.log.Error("search index build", "err", err)
				}
			} else {
				w.built.Store(true)
			}
		}
		if w.built.Load() {
			from := next
			var err error
			if next, err = w.drain(ctx, next); err != nil && ctx.Err() == nil {
				w.n.log.Error("search indexing", "err", err)
			}
			if next != from { // a batch was indexed (not an empty rescan)
				last = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-rescan.C:
			next = 0
		case <-w.wake:
			t := time.NewTimer(max(w.delay, time.Until(last.Add(w.every))))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// drain indexes the queue from seq from until it is empty, and returns
// where to read next time.
func (w *searchWorker) drain(ctx context.Context, from uint64) (uint64, error) {
	for {
		var seqs []uint64
		var ids []EventID
		if err := w.n.store.View(ctx, func(tx Tx) error {
			return tx.EachSearchWork(from, func(seq uint64, id EventID) bool {
				seqs, ids = append(seqs, seq), append(ids, id)
				return len(seqs) < searchBatch
			})
		}); err != nil {
			return from, err
		}
		if len(seqs) == 0 {
			return from, nil
		}
		if err := w.indexIDs(ctx, ids); err != nil {
			return from, err
		}
		if err := w.n.store.Update(ctx, func(tx Tx) error {
			for _, s := range seqs {
				if err := tx.DeleteSearchWork(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return from, err
		}
		from = seqs[len(seqs)-1] + 1
		if len(seqs) < searchBatch {
			return from, nil
		}
	}
}

// indexIDs brings the index's entries of these messages up to their
// current views. The views are read after the queue entries, so the
// index never goes back to an older text: the worker is the index's only
// writer and reads and writes in turn.
func (w *searchWorker) indexIDs(ctx context.Context, ids []EventID) error {
	seen := make(map[EventID]bool, len(ids))
	var docs []SearchDoc
	var remove []EventID
	err := w.n.store.View(ctx, func(tx Tx) error {
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			m, err := tx.Message(id)
			if errors.Is(err, ErrNotFound) {
				remove = append(remove, id)
				continue
			} else if err != nil {
				return err
			}
			public, enc := w.n.roomKind(m.Room)
			if d := searchDoc(m, public); d != nil && !enc {
				docs = append(docs, *d)
			} else {
				remove = append(remove, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.idx.Index(ctx, docs, remove)
}

// roomKind reports whether a room is public and whether it is end-to-end
// encrypted now.
func (n *Node) roomKind(id RoomID) (public, encrypted bool) {
	r := n.room(id, false)
	if r == nil {
		return false, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Visibility == Public, r.state.Encrypted
}

// build indexes every message of every room that is not encrypted and
// marks the index built. Changes made meanwhile are queued and taken
// afterwards.
//
// Messages go to the index newest first across all rooms (a merge of the
// rooms' histories), not room by room, so that the index holds the
// messages of a span of time together, as it does those that arrive live:
// a search that looks in a window of time then reads a few stretches of
// the index, not a little of all of it.
func (w *searchWorker) build(ctx context.Context) error {
	n := w.n
	start := time.Now()
	n.mu.RLock()
	entries := make([]*roomEntry, 0, len(n.rooms))
	for _, r := range n.rooms {
		entries = append(entries, r)
	}
	n.mu.RUnlock()
	// Each room's cursor holds a page of its history; pages are smaller
	// when there are many rooms, so the merge's memory stays bounded.
	pageSize := min(max(100_000/max(len(entries), 1), 8), MaxPageLimit)
	var h cursorHeap
	for _, r := range entries {
		r.mu.Lock()
		c := &roomCursor{id: r.state.ID, public: r.state.Visibility == Public, more: true}
		skip := !r.state.Created() || r.state.Encrypted
		r.mu.Unlock()
		if skip {
			continue
		}
		if err := c.fill(ctx, n.store, pageSize); err != nil {
			return err
		}
		if len(c.page) > 0 {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	var docs []SearchDoc
	total := 0
	for h.Len() > 0 {
		c := h[0]
		m := c.page[0]
		c.page = c.page[1:]
		if d := searchDoc(m, c.public); d != nil {
			docs = append(docs, *d)
		}
		if len(c.page) == 0 {
			if err := c.fill(ctx, n.store, pageSize); err != nil {
				return err
			}
		}
		if len(c.page) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if len(docs) >= searchBuildBatch {
			total += len(docs)
			if err := w.idx.Index(ctx, docs, nil); err != nil {
				return err
			}
			docs = docs[:0]
		}
	}
	total += len(docs)
	if err := w.idx.Index(ctx, docs, nil); err != nil {
		return err
	}
	if err := w.idx.MarkBuilt(ctx); err != nil {
		return err
	}
	n.log.Info("search index built", "messages", total, "rooms", len(entries), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// roomCursor walks one room's history newest first, a page at a time.
type roomCursor struct {
	id     RoomID
	public bool
	page   []*Message // what is left of the page read last
	before OrderKey   // where the next page starts
	more   bool
}

// fill reads the next page once the last one is used up.
func (c *roomCursor) fill(ctx context.Context, st Store, size int) error {
	if !c.more {
		return nil
	}
	return st.View(ctx, func(tx Tx) error {
		page, more, err := tx.Messages(c.id, c.before, size)
		if err != nil {
			return err
		}
		c.page, c.more = page, more && len(page) > 0
		if len(page) > 0 {
			c.before = page[len(page)-1].Order
		}
		return nil
	})
}

// cursorHeap orders cursors by their next message, newest on top.
type cursorHeap []*roomCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	return bytes.Compare(h[i].page[0].Order, h[j].page[0].Order) > 0
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*roomCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
