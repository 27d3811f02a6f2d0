package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// indexRoomKeys (schema 1 → 2) builds the room key index (rk/) from the
// room.key events a database already holds: before the index existed, a
// private room's keys were found by reading its whole history. It reads
// every stored event once; the index entries it writes are the ones
// node.RoomKeyRefOf makes, the earliest event in room order winning an
// epoch, as when node applies them.
func indexRoomKeys(db *DB) error {
	type epochKey struct {
		room  node.RoomID
		epoch uint32
	}
	won := map[epochKey]*node.RoomKeyRef{}
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := []byte(pEvent)
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			err := item.Value(func(raw []byte) error {
				if len(raw) <= 65 || !bytes.Contains(raw[65:], []byte(`"room.key"`)) {
					return nil
				}
				var e node.Event
				if err := json.Unmarshal(raw[65:], &e); err != nil || e.Type != node.EventRoomKey {
					return nil // not a room key; stored events were verified when written
				}
				e.ID = node.EventID(item.Key()[len(prefix):])
				ref, err := node.RoomKeyRefOf(&e)
				if err != nil {
					return nil
				}
				k := epochKey{ref.Room, ref.Epoch}
				if ref.Wins(won[k]) {
					won[k] = ref
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read room key events: %w", err)
	}
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, ref := range won {
		v, err := json.Marshal(ref)
		if err != nil {
			return fmt.Errorf("encode room key ref: %w", err)
		}
		if err := wb.Set(roomKeyKey(ref.Room, ref.Epoch), v); err != nil {
			return fmt.Errorf("write room key index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write room key index: %w", err)
	}
	return nil
}

// moveReactions (schema 2 → 3) moves the per-message reactions and
// thread counts of schemas 1 and 2 out of the message records (into agg/, rxu/ and rx/), adds the mo/ page
// index, and re-keys idempotent sends by room (cid/ → cr/).
//
// Those schemas kept, per (key, user), only the newest change and its order;
// those changes are replayed in room order through the same rule new
// events follow (node.ReplayReaction), so the caps hold from here on.
// Keys that are not emoji or :shortcodes: are dropped.
func moveReactions(db *DB) error {
	msgPrefix := []byte(pMessage)
	var next []byte // where the next chunk starts
	for {
		var chunk []v1Entry
		err := db.bdb.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: msgPrefix})
			defer it.Close()
			start := msgPrefix
			if next != nil {
				start = next
			}
			for it.Seek(start); it.ValidForPrefix(msgPrefix); it.Next() {
				if len(chunk) == 256 {
					next = it.Item().KeyCopy(nil)
					return nil
				}
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				chunk = append(chunk, v1Entry{key: it.Item().KeyCopy(nil), value: v})
			}
			next = nil
			return nil
		})
		if err != nil {
			return err
		}
		// A chunk in one transaction; one by one if that is too big (a
		// message with thousands of reactions).
		err = db.bdb.Update(func(txn *badger.Txn) error {
			for _, e := range chunk {
				if err := migrateMessage(&tx{txn: txn}, e); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, badger.ErrTxnTooBig) {
			for _, e := range chunk {
				err = db.bdb.Update(func(txn *badger.Txn) error { return migrateMessage(&tx{txn: txn}, e) })
				if err != nil {
					return fmt.Errorf("message %q: %w", e.key, err)
				}
			}
		} else if err != nil {
			return err
		}
		if next == nil {
			break
		}
	}
	return db.migrateClientIDs()
}

type v1Entry struct{ key, value []byte }

// v1Aggregates are the fields schema 1 kept in a message record that
// schema 2 keeps elsewhere.
type v1Aggregates struct {
	Reactions   map[string][]node.UserID `json:"reactions"`
	ThreadCount int                      `json:"threadCount"`
	RO          map[string][]byte        `json:"ro"`
}

// migrateMessage migrates one message record.
func migrateMessage(t *tx, e v1Entry) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.value, &fields); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	var old v1Aggregates
	if err := json.Unmarshal(e.value, &old); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	var head struct {
		ID      node.EventID `json:"id"`
		Sender  node.UserID  `json:"sender"`
		Deleted bool         `json:"deleted"`
		O       []byte       `json:"o"`
	}
	if err := json.Unmarshal(e.value, &head); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	loc := e.key[len(pMessage):] // <roomID>/<order key>
	room, _, ok := strings.Cut(string(loc), "/")
	if !ok {
		return errors.New("key has no order")
	}
	m := &node.Message{ID: head.ID, Sender: head.Sender, Deleted: head.Deleted}
	if err := t.set(keyOrder(key(pMsgOrder, room), head.O), orderIndexValue(m)); err != nil {
		return err
	}
	_, hadR := fields["reactions"]
	_, hadT := fields["threadCount"]
	_, hadRO := fields["ro"]
	if !hadR && !hadT && !hadRO {
		return nil // already migrated
	}
	if err := replayV1Reactions(t, head.ID, old, head.O); err != nil {
		return err
	}
	if old.ThreadCount > 0 {
		agg, err := t.Aggregates(head.ID)
		if errors.Is(err, node.ErrNotFound) {
			agg, err = &node.Aggregates{}, nil
		}
		if err != nil {
			return err
		}
		agg.ThreadCount = old.ThreadCount
		if err := t.PutAggregates(head.ID, agg); err != nil {
			return err
		}
	}
	delete(fields, "reactions")
	delete(fields, "threadCount")
	delete(fields, "ro")
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return t.set(e.key, b)
}

// replayV1Reactions rebuilds one message's reactions from schema 1's
// newest change per (key, user), oldest first.
func replayV1Reactions(t *tx, msg node.EventID, old v1Aggregates, msgOrder []byte) error {
	type change struct {
		key  string
		user node.UserID
		o    node.OrderKey
		on   bool
	}
	var changes []change
	seen := map[string]bool{}
	for k, o := range old.RO {
		emoji, user, ok := strings.Cut(k, "\x00")
		if !ok {
			continue
		}
		seen[k] = true
		changes = append(changes, change{emoji, node.UserID(user), o, slices.Contains(old.Reactions[emoji], node.UserID(user))})
	}
	for emoji, users := range old.Reactions {
		for _, u := range users {
			if !seen[emoji+"\x00"+string(u)] {
				changes = append(changes, change{emoji, u, msgOrder, true})
			}
		}
	}
	slices.SortFunc(changes, func(a, b change) int {
		if c := bytes.Compare(a.o, b.o); c != 0 {
			return c
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(string(a.user), string(b.user))
	})
	for _, c := range changes {
		if err := node.ReplayReaction(t, msg, c.key, c.user, c.o, c.on); err != nil {
			return err
		}
	}
	return nil
}

// migrateClientIDs re-keys schema 1's cid/<userID>/<clientID> by the room
// of the message it names, keeping its expiry; a key whose message is
// gone is dropped.
func (db *DB) migrateClientIDs() error {
	prefix := []byte("cid/")
	for {
		type old struct {
			key, value []byte
			expires    uint64
		}
		var chunk []old
		err := db.bdb.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix) && len(chunk) < 1000; it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				chunk = append(chunk, old{it.Item().KeyCopy(nil), v, it.Item().ExpiresAt()})
			}
			return nil
		})
		if err != nil || len(chunk) == 0 {
			return err
		}
		err = db.bdb.Update(func(txn *badger.Txn) error {
			for _, c := range chunk {
				if err := txn.Delete(c.key); err != nil {
					return err
				}
				user, clientID, ok := strings.Cut(string(c.key[len(prefix):]), "/")
				if !ok {
					continue
				}
				item, err := txn.Get(key(pMsgID, string(c.value)))
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue
				} else if err != nil {
					return err
				}
				loc, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				room, _, _ := strings.Cut(string(loc), "/")
				e := badger.NewEntry(key(pClientID, user, room, clientID), c.value)
				e.ExpiresAt = c.expires
				if err := txn.SetEntry(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}
