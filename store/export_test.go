package store

import (
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
