package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// Updates are combined: one writer goroutine runs the functions of
// concurrent Updates one after another inside a shared Badger transaction
// and commits them together. A Badger commit is a round trip through
// Badger's write goroutine and its timestamp watermarks, and every new
// transaction waits for the commits in flight; with one transaction per
// Update those hand-offs, not the work, set the write rate. Combined,
// they are paid once per batch, and because Updates run one at a time
// they cannot conflict with each other.
//
// Each Update still sees the writes of those before it (they are in the
// shared transaction) and its own, and still fails alone: its writes are
// recorded, so when its function returns an error or panics the batch is
// rebuilt without them.

// maxBatch bounds the Updates committed together, so that the first of a
// batch does not wait long for the last.
const maxBatch = 256

// An update is one Update call waiting for the writer.
type update struct {
	ctx  context.Context
	fn   func(node.Tx) error
	err  error
	pan  any  // what fn panicked with
	exit bool // fn called runtime.Goexit
	done chan struct{}
}

// A write is one recorded Set or Delete, kept apart from Badger's Entry,
// which Badger changes when it commits.
type write struct {
	key, value []byte
	expiresAt  uint64
	del        bool
}

func (w write) apply(txn *badger.Txn) error {
	if w.del {
		return txn.Delete(w.key)
	}
	e := badger.NewEntry(w.key, w.value)
	e.ExpiresAt = w.expiresAt
	return txn.SetEntry(e)
}

// A member is an Update whose function runs (or ran) in a batch.
type member struct {
	b      *batch
	u      *update
	writes []write
}

// batch is the shared transaction of the Updates being combined.
type batch struct {
	db      *DB
	txn     *badger.Txn
	members []*member // committed together; a failed member is removed
	writes  int       // in all members, to bound the batch
}

// Update runs fn in a read-write transaction and commits it without
// waiting for the disk. It returns once the writes are visible to every
// later View and Update. fn runs on the store's writer goroutine, after
// the functions of earlier Updates, so it must not wait for another
// Update to finish, nor for a Durable callback (the sync waits for the
// Updates under way).
func (db *DB) Update(ctx context.Context, fn func(node.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.space != nil && db.space.full() {
		return errDiskFull
	}
	u := &update{ctx: ctx, fn: fn, done: make(chan struct{})}
	db.started.Add(1)
	select {
	case db.updates <- u:
	case <-ctx.Done():
		db.updateFinished()
		return ctx.Err()
	case <-db.stopWriter:
		db.updateFinished()
		return fmt.Errorf("update: %w", node.ErrClosed)
	}
	<-u.done
	db.updateFinished()
	switch {
	case u.pan != nil:
		panic(u.pan)
	case u.exit:
		return errors.New("update function called runtime.Goexit")
	}
	return u.err
}

// writeLoop is the writer goroutine: it takes the Updates that are
// waiting, runs them into one batch and commits it.
func (db *DB) writeLoop() {
	var b *batch
	defer func() {
		if b != nil {
			// An update function called runtime.Goexit (t.FailNow in a
			// test), which ends this goroutine whatever it defers: commit
			// the others and carry on in a new one.
			b.commit()
			go db.writeLoop()
			return
		}
		close(db.writerDone)
	}()
	for {
		var u *update
		select {
		case u = <-db.updates:
		case <-db.stopWriter:
			return
		}
		b = &batch{db: db, txn: db.bdb.NewTransaction(true)}
		b.run(u)
	more:
		for len(b.members) < maxBatch && b.writes < int(db.bdb.MaxBatchCount()/4) {
			select {
			case u = <-db.updates:
				b.run(u)
			default:
				break more
			}
		}
		b.commit()
		b = nil
	}
}

// run runs u's function in the batch.
func (b *batch) run(u *update) {
	if err := u.ctx.Err(); err != nil {
		u.err = err
		close(u.done)
		return
	}
	m := &member{b: b, u: u}
	b.members = append(b.members, m)
	returned := false
	defer func() {
		if returned {
			return
		}
		if u.pan = recover(); u.pan == nil {
			u.exit = true
		}
		b.drop(m)
	}()
	err := u.fn(&tx{txn: b.txn, w: m})
	returned = true
	switch {
	case err != nil && !errors.Is(err, node.ErrCommitAnyway):
		u.err = err
		b.drop(m)
	case len(m.writes) == 0:
		// Nothing to commit: done already.
		u.err = err
		b.remove(m)
		close(u.done)
	default:
		u.err = err // reported after the commit, unless it fails
	}
}

// write applies w to the shared transaction and records it.
func (m *member) write(w write) error {
	b := m.b
	err := w.apply(b.txn)
	if errors.Is(err, badger.ErrTxnTooBig) && len(b.members) > 1 {
		// The batch is full but m alone may not be: commit the others
		// without m's writes so far, then go on in a transaction of m's
		// own, which reads the same as before (the others' writes, now
		// committed, and m's).
		b.remove(m)
		if b.rebuild() {
			b.commit()
		}
		b.members = []*member{m}
		b.txn = b.db.bdb.NewTransaction(true)
		if err = b.replay(); err == nil {
			err = w.apply(b.txn)
		}
	}
	if err == nil {
		m.writes = append(m.writes, w)
		b.writes++
	}
	return err
}

// drop removes a failed member and finishes it: its writes leave the
// shared transaction, which is rebuilt from the others' records.
func (b *batch) drop(m *member) {
	b.remove(m)
	b.rebuild()
	close(m.u.done)
}

// rebuild replaces the transaction with one holding only the members'
// recorded writes. It reports whether it succeeded; if not, which short
// of a closed database cannot happen as the same writes fitted before,
// it fails the members rather than commit part of their writes.
func (b *batch) rebuild() bool {
	b.txn.Discard()
	b.txn = b.db.bdb.NewTransaction(true)
	if err := b.replay(); err != nil {
		for _, o := range b.members {
			o.u.err = translate(err)
			close(o.u.done)
		}
		b.members = nil
		return false
	}
	return true
}

// replay writes the members' records into the (fresh) transaction.
func (b *batch) replay() error {
	b.writes = 0
	for _, m := range b.members {
		for _, w := range m.writes {
			if err := w.apply(b.txn); err != nil {
				return err
			}
		}
		b.writes += len(m.writes)
	}
	return nil
}

func (b *batch) remove(m *member) {
	for i, o := range b.members {
		if o == m {
			b.members = append(b.members[:i], b.members[i+1:]...)
			return
		}
	}
}

// commit commits the batch and finishes its members. Commit returns once
// Badger has applied the writes, so they are visible to any transaction
// begun after it.
func (b *batch) commit() {
	defer b.txn.Discard()
	if len(b.members) == 0 {
		return
	}
	err := b.txn.Commit()
	if errors.Is(err, badger.ErrTxnTooBig) && len(b.members) > 1 {
		// Badger counts one more entry at commit than while writing;
		// commit the members one by one, each as big as it was alone.
		for _, m := range b.members {
			one := &batch{db: b.db, txn: b.db.bdb.NewTransaction(true), members: []*member{m}}
			if err := one.replay(); err != nil {
				one.txn.Discard()
				m.u.err = translate(err)
				close(m.u.done)
				continue
			}
			one.commit()
		}
		b.members = nil
		return
	}
	for _, m := range b.members {
		if err != nil {
			m.u.err = translate(err)
		}
		close(m.u.done)
	}
	b.members = nil
}
