package storetest

import (
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// testSearchWork: the search index's queue keeps entries in seq order,
// reads from a seq on, stops when asked, and forgets deleted entries.
func testSearchWork(t *testing.T, s Store) {
	mustView(t, s, func(tx node.Tx) error {
		if last, err := tx.LastSearchWork(); err != nil || last != 0 {
			t.Errorf("empty queue: last = %d, %v", last, err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		// Written out of order, and past a byte boundary of the seq.
		for _, seq := range []uint64{300, 2, 255, 256, 1 << 40} {
			if err := tx.PutSearchWork(seq, node.EventID("m"+string(rune('a'+seq%26)))); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error { return tx.DeleteSearchWork(255) })
	mustView(t, s, func(tx node.Tx) error {
		var seqs []uint64
		var ids []node.EventID
		if err := tx.EachSearchWork(0, func(seq uint64, id node.EventID) bool {
			seqs, ids = append(seqs, seq), append(ids, id)
			return true
		}); err != nil {
			return err
		}
		if want := []uint64{2, 256, 300, 1 << 40}; !slices.Equal(seqs, want) {
			t.Errorf("seqs = %v, want %v", seqs, want)
		}
		if len(ids) > 1 && ids[1] != node.EventID("m"+string(rune('a'+256%26))) {
			t.Errorf("ids = %v", ids)
		}
		seqs = nil
		if err := tx.EachSearchWork(256, func(seq uint64, _ node.EventID) bool {
			seqs = append(seqs, seq)
			return len(seqs) < 2
		}); err != nil {
			return err
		}
		if want := []uint64{256, 300}; !slices.Equal(seqs, want) {
			t.Errorf("from 256, two: %v, want %v", seqs, want)
		}
		if last, err := tx.LastSearchWork(); err != nil || last != 1<<40 {
			t.Errorf("last = %d, %v", last, err)
		}
		return nil
	})
}
