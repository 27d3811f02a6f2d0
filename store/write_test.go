package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

func mustOpenInternal(t *testing.T, o Options) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// runBatch runs fns as the members of one batch, the way the writer does
// when Updates arrive together, and returns each one's result.
func runBatch(db *DB, fns ...func(*tx) error) []error {
	b := &batch{db: db, txn: db.bdb.NewTransaction(true)}
	us := make([]*update, len(fns))
	for i, fn := range fns {
		us[i] = &update{ctx: context.Background(), fn: func(t node.Tx) error { return fn(t.(*tx)) }, done: make(chan struct{})}
		func() {
			defer func() { recover() }() // a panic was recorded in the update
			b.run(us[i])
		}()
	}
	b.commit()
	errs := make([]error, len(us))
	for i, u := range us {
		<-u.done
		errs[i] = u.err
		if u.pan != nil {
			errs[i] = fmt.Errorf("panic: %v", u.pan)
		}
	}
	return errs
}

func mustGet(t *testing.T, db *DB, k string) []byte {
	t.Helper()
	var v []byte
	err := db.View(context.Background(), func(ntx node.Tx) error {
		item, err := ntx.(*tx).txn.Get([]byte(k))
		if err != nil {
			return translate(err)
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, node.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBatchMembersFailAlone: in a combined batch each Update sees the
// writes of those before it, and one that fails or panics leaves no trace
// while the others commit.
func TestBatchMembersFailAlone(t *testing.T) {
	db := mustOpenInternal(t, Options{})
	errBoom := errors.New("boom")
	errs := runBatch(db,
		func(t *tx) error { return t.set([]byte("k/a"), []byte("1")) },
		func(t *tx) error {
			if err := t.set([]byte("k/a"), []byte("overwritten")); err != nil {
				return err
			}
			if err := t.set([]byte("k/b"), []byte("2")); err != nil {
				return err
			}
			return errBoom
		},
		func(t *tx) error {
			_ = t.set([]byte("k/c"), []byte("3"))
			panic("in update")
		},
		func(t *tx) error {
			// Sees the first member's write, not the failed ones'.
			item, err := t.txn.Get([]byte("k/a"))
			if err != nil {
				return err
			}
			v, _ := item.ValueCopy(nil)
			if string(v) != "1" {
				return fmt.Errorf("read k/a = %q, want 1", v)
			}
			if _, err := t.txn.Get([]byte("k/b")); err == nil {
				return errors.New("read a failed member's write")
			}
			if err := t.set([]byte("k/d"), []byte("4")); err != nil {
				return err
			}
			return fmt.Errorf("revoked: %w", node.ErrCommitAnyway)
		},
	)
	if errs[0] != nil || !errors.Is(errs[1], errBoom) || errs[2] == nil || !errors.Is(errs[3], node.ErrCommitAnyway) {
		t.Fatalf("results = %v", errs)
	}
	for k, want := range map[string]string{"k/a": "1", "k/b": "", "k/c": "", "k/d": "4"} {
		if got := mustGet(t, db, k); !bytes.Equal(got, []byte(want)) && !(want == "" && got == nil) {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestBatchSplitsWhenFull: an Update that fits on its own succeeds even
// when the batch it joined is full; one too big alone fails with
// ErrTooLarge, as it did in a transaction of its own.
func TestBatchSplitsWhenFull(t *testing.T) {
	db := mustOpenInternal(t, Options{MemTableSize: 1 << 20})
	limit := int(db.bdb.MaxBatchSize())
	fill := func(prefix string, n int) func(*tx) error {
		return func(t *tx) error {
			v := make([]byte, 1000)
			for i := range n / 1000 {
				if err := t.set(fmt.Appendf(nil, "%s/%05d", prefix, i), v); err != nil {
					return err
				}
			}
			return nil
		}
	}
	errs := runBatch(db, fill("a", limit*2/3), fill("b", limit*2/3), fill("c", limit*3/2))
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], node.ErrTooLarge) {
		t.Fatalf("results = %v", errs)
	}
	if mustGet(t, db, "a/00000") == nil || mustGet(t, db, "b/00000") == nil || mustGet(t, db, "c/00000") != nil {
		t.Fatal("wrong writes committed")
	}
}

func TestUpdateAfterClose(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = db.Update(context.Background(), func(node.Tx) error { return nil })
	if !errors.Is(err, node.ErrClosed) {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
}

// TestLogSyncerFindsLogs checks what logSyncer assumes of Badger's files:
// the active memtable log is found, and a rotation is followed.
func TestLogSyncerFindsLogs(t *testing.T) {
	db := mustOpenInternal(t, Options{MemTableSize: 1 << 20})
	if db.logs.logs[0].f == nil || db.logs.logs[1].f == nil {
		t.Fatal("no memtable or value log file found after Open")
	}
	first := db.logs.logs[0].num
	ctx := context.Background()
	v := make([]byte, 10_000)
	for i := 0; db.logs.logs[0].num == first; i++ {
		if i == 1000 {
			t.Fatal("the memtable log never rotated")
		}
		err := db.Update(ctx, func(ntx node.Tx) error { return ntx.(*tx).set(fmt.Appendf(nil, "k/%d", i), v) })
		if err != nil {
			t.Fatal(err)
		}
		if err := db.logs.sync(); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.logs.logs[0].num; n != first+1 || db.logs.logs[0].f == nil {
		t.Fatalf("memtable log went from %d to %d", first, n)
	}
}
