package store

import (
	"encoding/binary"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// The search index's work queue (node.SearchTx): one key per change of a
// message that the index has to take, written in the transaction of the
// change, so a crash between the write and the indexing loses nothing.
// Keys grow with seq, so the indexer reads from where it stopped and never
// walks the tombstones of the work it has done. The table is additive: a
// database without it is the same schema.
const pSearchWork = "srq/" // srq/<uint64be seq> → messageID

func searchWorkKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pSearchWork), seq)
}

func (t *tx) PutSearchWork(seq uint64, id node.EventID) error {
	return t.set(searchWorkKey(seq), []byte(id))
}

func (t *tx) DeleteSearchWork(seq uint64) error { return t.del(searchWorkKey(seq)) }

func (t *tx) EachSearchWork(from uint64, fn func(seq uint64, id node.EventID) bool) error {
	p := []byte(pSearchWork)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(searchWorkKey(from)); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(p)+8 {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return translate(err)
		}
		if !fn(binary.BigEndian.Uint64(k[len(p):]), node.EventID(v)) {
			return nil
		}
	}
	return nil
}

func (t *tx) LastSearchWork() (uint64, error) {
	p := []byte(pSearchWork)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: p, Reverse: true})
	defer it.Close()
	for it.Seek(append(append([]byte{}, p...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); it.ValidForPrefix(p); it.Next() {
		if k := it.Item().Key(); len(k) == len(p)+8 {
			return binary.BigEndian.Uint64(k[len(p):]), nil
		}
	}
	return 0, nil
}
