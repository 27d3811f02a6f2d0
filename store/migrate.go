package store

import (
	"bytes"
	"encoding/json"
	"fmt"

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
