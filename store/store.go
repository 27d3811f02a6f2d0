// Package store persists a Hearth node in an embedded Badger database.
//
// It implements node.Store in domain terms and translates Badger's errors
// into node's sentinels. The key layout is documented in docs/storage.md;
// every key starts with a short prefix naming its table, and keys that are
// scanned in order (room timelines, message history) end in the event's
// order key so that a history page is one ordered range scan.
//
// Durability: transactions commit without fsync, and Durable runs its
// callbacks after one shared fdatasync of Badger's write-ahead log and
// value log (group commit; see logSyncer for why not DB.Sync). Many
// concurrent senders thus share one fsync, and nothing is acknowledged
// before it is on disk.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// SchemaVersion is the version of the key layout this code writes. Open
// migrates older layouts and refuses newer ones, one step at a time
// (migrations):
//
//  1. the first layout
//  2. the room key index (rk/)
//  3. member histories out of room records, one key per member (mem/)
//  4. the key directory and mailboxes (keys.go), so that an older
//     binary, which would accept plaintext in encrypted rooms, refuses
//     the database
//  5. reactions and thread counts out of message records (agg/, rxu/,
//     rx/); the mo/ page index; idempotent sends keyed by room (cr/)
//  6. the administration tables (admin.go) and account flags; moderation:
//     roles above admin and below, powers tables, pins, room avatars (new
//     fields of room/ and mem/ records, rav media references). Nothing
//     moves; the version makes an older binary, which would let a locked
//     user log in, federate with blocked nodes, misjudge a moderator's
//     events and drop the powers table when it rewrites a room, refuse the
//     database. (Both came in the same release, so they share one step.)
const SchemaVersion = 6

var keySchema = []byte("meta/schema")

// Options tune the database. Zero fields take defaults sized for a small
// node (tens of MiB of caches, not Badger's hundreds).
type Options struct {
	Logger *slog.Logger
	// InMemory keeps everything in memory, for tests of layers above.
	InMemory bool
	// MemTableSize is the size of each Badger memtable; 16 MiB.
	MemTableSize int64
	// BlockCacheSize is Badger's block cache; 16 MiB.
	BlockCacheSize int64
	// MinFreeBytes is the free space below which writes are refused with
	// node.ErrUnavailable; 2 memtables plus 32 MiB by default.
	MinFreeBytes uint64
	// SpaceCheckEvery is how often free space is measured; 250 ms.
	SpaceCheckEvery time.Duration
	// ObserveSync, when set, is told how long each group commit's sync
	// took (for metrics); it runs on the sync goroutine and must not
	// block.
	ObserveSync func(time.Duration)
}

// DB is a node.Store on Badger. It is safe for concurrent use.
type DB struct {
	bdb   *badger.DB
	log   *slog.Logger
	space *spaceGuard // nil in memory
	logs  *logSyncer  // nil in memory

	observeSync func(time.Duration) // Options.ObserveSync

	updates    chan *update
	stopWriter chan struct{} // closed by Close
	stopOnce   sync.Once
	writerDone chan struct{}

	// Updates handed to the writer and finished: the sync loop waits for
	// those under way when callbacks arrive, see syncLoop.
	started, finished atomic.Uint64
	awaited           atomic.Uint64 // finished count syncLoop waits for; 0 if none

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []func(error)
	closing bool
	done    chan struct{}
}

var _ node.Store = (*DB)(nil)

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 16 << 20
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = 16 << 20
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = uint64(2*o.MemTableSize) + 32<<20
	}
	if o.SpaceCheckEvery == 0 {
		o.SpaceCheckEvery = 250 * time.Millisecond
	}
	bo := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{o.Logger}).
		WithSyncWrites(false). // group commit: see Durable
		// One version per key: compaction drops older ones. Until it
		// does, a rewritten key's versions stay in the LSM tree and a
		// reverse iterator walks (and copies) them all, so hot paths
		// never scan rewritten keys in reverse (tx.go's page indexes).
		WithNumVersionsToKeep(1).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(3).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(64 << 10).
		WithNumCompactors(2).
		WithCompactL0OnClose(false)
	if o.InMemory {
		bo = bo.WithDir("").WithValueDir("").WithInMemory(true)
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", dir, err)
	}
	db := &DB{
		bdb: bdb, log: o.Logger, done: make(chan struct{}), observeSync: o.ObserveSync,
		updates: make(chan *update), stopWriter: make(chan struct{}), writerDone: make(chan struct{}),
	}
	if !o.InMemory {
		if db.logs, err = newLogSyncer(dir); err != nil {
			bdb.Close()
			return nil, fmt.Errorf("open database %s: %w", dir, err)
		}
		db.space = newSpaceGuard(dir, o.MinFreeBytes, o.SpaceCheckEvery)
	}
	db.cond = sync.NewCond(&db.mu)
	if err := db.migrate(); err != nil {
		db.closeFiles()
		bdb.Close()
		return nil, err
	}
	go db.writeLoop()
	go db.syncLoop()
	return db, nil
}

// migrate writes the schema version of a new database, and brings an
// existing one up to SchemaVersion one step at a time (each step commits
// its work and then the version it reached, so an interrupted migration
// resumes where it stopped). A database newer than this binary is refused.
func (db *DB) migrate() error {
	have, err := db.schemaVersion()
	if err != nil {
		return err
	}
	if have == 0 {
		return db.setSchemaVersion(SchemaVersion)
	}
	if have > SchemaVersion {
		return fmt.Errorf("database schema %d is newer than this binary's %d: upgrade hearth", have, SchemaVersion)
	}
	for v := have; v < SchemaVersion; v++ {
		step := migrations[v]
		db.log.Info("migrating database", "from", v, "to", v+1, "step", step.name)
		if err := step.run(db); err != nil {
			return fmt.Errorf("migrate database schema %d to %d (%s): %w", v, v+1, step.name, err)
		}
		if err := db.setSchemaVersion(v + 1); err != nil {
			return err
		}
	}
	return nil
}

// migrations[v] takes a database from schema v to v+1.
var migrations = map[int]struct {
	name string
	run  func(*DB) error
}{
	1: {"index room keys", indexRoomKeys},
	2: {"one key per room member", splitMembers},
	3: {"key directory and mailboxes (new tables, nothing to move)", func(*DB) error { return nil }},
	4: {"reactions and page indexes out of message records", moveReactions},
	5: {"administration tables, account flags and moderation state (new, nothing to move)", func(*DB) error { return nil }},
}

// splitMembers moves each room record's member histories to mem/ keys, so
// a join no longer rewrites the whole room. Each room is one transaction;
// a rerun after a crash finds the moved rooms without history and skips
// them.
func splitMembers(db *DB) error {
	var ids []node.RoomID
	err := db.bdb.View(func(txn *badger.Txn) error {
		return (&tx{txn: txn}).each([]byte(pRoom), func(k, _ []byte) (bool, error) {
			ids = append(ids, node.RoomID(k[len(pRoom):]))
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := db.bdb.Update(func(txn *badger.Txn) error {
			t := &tx{txn: txn}
			var s node.RoomState
			if err := t.getJSON(key(pRoom, string(id)), &s); err != nil {
				return err
			}
			if len(s.History) == 0 {
				return nil
			}
			for u, h := range s.History {
				if err := t.PutMember(id, u, h); err != nil {
					return err
				}
			}
			return t.PutRoomState(&s)
		})
		if err != nil {
			return fmt.Errorf("room %s: %w", id, err)
		}
	}
	return nil
}

// schemaVersion reads the schema version; 0 for a new database.
func (db *DB) schemaVersion() (int, error) {
	var have int
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keySchema)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have, err = strconv.Atoi(string(v)); err != nil || have < 1 {
			return fmt.Errorf("schema version %q is not a version", v)
		}
		return nil
	})
	return have, err
}

func (db *DB) setSchemaVersion(v int) error {
	err := db.bdb.Update(func(txn *badger.Txn) error {
		return txn.Set(keySchema, []byte(strconv.Itoa(v)))
	})
	if err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}

// Close finishes the Updates under way, syncs, runs pending Durable
// callbacks and closes the database. Later Updates fail with
// node.ErrClosed.
func (db *DB) Close() error {
	db.stopOnce.Do(func() { close(db.stopWriter) })
	<-db.writerDone
	db.mu.Lock()
	db.closing = true
	db.cond.Signal()
	db.mu.Unlock()
	<-db.done
	db.closeFiles()
	if err := db.bdb.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(node.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bdb.View(func(txn *badger.Txn) error { return fn(&tx{txn: txn}) })
}

// Durable calls fn once every Update that returned before this call is on
// disk. Callbacks run one at a time, in call order, on the sync goroutine;
// they must not block.
func (db *DB) Durable(fn func(error)) {
	db.mu.Lock()
	if db.closing {
		db.mu.Unlock()
		fn(node.ErrClosed)
		return
	}
	db.queue = append(db.queue, fn)
	db.cond.Signal()
	db.mu.Unlock()
}

// syncLoop is the group commit: it takes every waiting callback, syncs
// once, and runs them. While it syncs, new callbacks gather for the next
// round, so the sync rate adapts to the load with no timer. (Two rounds
// syncing at once split steady writers into small cohorts and measured
// slower.)
func (db *DB) syncLoop() {
	defer close(db.done)
	for {
		db.mu.Lock()
		for len(db.queue) == 0 && !db.closing {
			db.cond.Wait()
		}
		// Updates under way now will mostly be followed by a Durable
		// call; syncing before they finish would leave them for the next
		// round and split steady writers into cohorts that take turns,
		// each a fraction of the group. So wait for them (only those
		// started before now, so a stream of Updates cannot hold the
		// sync back).
		if target := db.started.Load(); db.finished.Load() < target && !db.closing {
			db.awaited.Store(target)
			for db.finished.Load() < target && !db.closing {
				db.cond.Wait()
			}
			db.awaited.Store(0)
		}
		batch := db.queue
		db.queue = nil
		closing := db.closing
		db.mu.Unlock()
		if len(batch) > 0 {
			start := time.Now()
			err := db.syncLogs()
			d := time.Since(start)
			if db.observeSync != nil {
				db.observeSync(d)
			}
			if d > 100*time.Millisecond {
				// Every acknowledgement waits on this; say so when the
				// disk is slow.
				db.log.Warn("slow database sync", "took", d, "waiting", len(batch))
			}
			if err != nil {
				db.log.Error("sync database", "err", err)
				err = fmt.Errorf("sync database: %w", err)
			}
			for _, fn := range batch {
				fn(err)
			}
		}
		if closing {
			db.mu.Lock()
			rest := db.queue
			db.queue = nil
			db.mu.Unlock()
			for _, fn := range rest {
				fn(node.ErrClosed)
			}
			return
		}
	}
}

// updateFinished counts a finished Update and wakes the sync loop if it
// waits for it.
func (db *DB) updateFinished() {
	n := db.finished.Add(1)
	if t := db.awaited.Load(); t != 0 && n >= t {
		db.mu.Lock()
		db.cond.Signal()
		db.mu.Unlock()
	}
}

// syncLogs makes every write applied so far durable.
func (db *DB) syncLogs() error {
	if db.logs != nil {
		err := db.logs.sync()
		if !errors.Is(err, errNoLog) {
			return err
		}
	}
	return db.bdb.Sync()
}

// closeFiles stops the space guard and closes the log syncer's files.
func (db *DB) closeFiles() {
	if db.space != nil {
		db.space.close()
	}
	if db.logs != nil {
		db.logs.close()
	}
}

// translate maps Badger errors to the domain's sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("%w", node.ErrNotFound)
	case errors.Is(err, badger.ErrConflict):
		return fmt.Errorf("concurrent update, try again: %w", node.ErrConflict)
	case errors.Is(err, badger.ErrTxnTooBig):
		return fmt.Errorf("transaction too big: %w", node.ErrTooLarge)
	default:
		return fmt.Errorf("database: %w", err)
	}
}

// badgerLogger routes Badger's logs into slog at sensible levels.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {}

// Ready reports whether the database is open.
func (db *DB) Ready() bool { return !db.bdb.IsClosed() }
