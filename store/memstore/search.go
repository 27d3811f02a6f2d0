package memstore

import (
	"encoding/binary"

	"github.com/hearth-chat/hearth/node"
)

// The search index's work queue (node.SearchTx), with the Badger store's
// keys.
const pSearchWork = "srq/"

func searchWorkKey(seq uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte(pSearchWork), seq))
}

func (t *tx) PutSearchWork(seq uint64, id node.EventID) error {
	return t.set(searchWorkKey(seq), id, 0)
}

func (t *tx) DeleteSearchWork(seq uint64) error { return t.del(searchWorkKey(seq)) }

func (t *tx) EachSearchWork(from uint64, fn func(seq uint64, id node.EventID) bool) error {
	t.ascend(pSearchWork, searchWorkKey(from), func(it item) bool {
		return fn(binary.BigEndian.Uint64([]byte(it.key[len(pSearchWork):])), it.val.(node.EventID))
	})
	return nil
}

func (t *tx) LastSearchWork() (uint64, error) {
	var last uint64
	t.descend(pSearchWork, "", func(it item) bool {
		last = binary.BigEndian.Uint64([]byte(it.key[len(pSearchWork):]))
		return false
	})
	return last, nil
}
