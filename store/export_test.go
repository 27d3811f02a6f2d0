package store

import (
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// PutMessagesBulk stores msgs with the keys and values PutMessage writes,
// through a Badger WriteBatch instead of transactions: a fast way to build
// large fixtures. It is not atomic and reads nothing.
func PutMessagesBulk(db *DB, msgs []*node.Message) error {
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	t := &tx{w: batchWriter{wb}}
	for _, m := range msgs {
		if err := t.PutMessage(m); err != nil {
			return err
		}
	}
	return wb.Flush()
}

type batchWriter struct{ wb *badger.WriteBatch }

func (b batchWriter) write(w write) error {
	if w.del {
		return b.wb.Delete(w.key)
	}
	e := badger.NewEntry(w.key, w.value)
	e.ExpiresAt = w.expiresAt
	return b.wb.SetEntry(e)
}

// SetSchemaVersion writes a schema version, to build an old database.
func SetSchemaVersion(db *DB, v int) error { return db.setSchemaVersion(v) }

// SchemaVersionOf reads the schema version.
func SchemaVersionOf(db *DB) (int, error) { return db.schemaVersion() }

// WriteV1Fixture writes a database in schema 1's layout: message records
// that carry their reactions, reaction orders and thread counts, and
// idempotent sends keyed by (user, clientId) only. recs are raw v1 message
// records by key (msg/<room>/<order>); cids map cid/ keys to message IDs.
func WriteV1Fixture(dir string, recs map[string][]byte, ids map[node.EventID]string, cids map[string]node.EventID) error {
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		return err
	}
	err = bdb.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keySchema, []byte("1")); err != nil {
			return err
		}
		for k, v := range recs {
			if err := txn.Set([]byte(k), v); err != nil {
				return err
			}
		}
		for id, loc := range ids {
			if err := txn.Set(key(pMsgID, string(id)), []byte(loc)); err != nil {
				return err
			}
		}
		for k, id := range cids {
			e := badger.NewEntry([]byte(k), []byte(id)).WithTTL(time.Hour)
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	return err
}
