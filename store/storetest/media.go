package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// mediaID is the i-th test media ID (43 characters, in ID order).
func mediaID(i int) node.MediaID {
	return node.MediaID(fmt.Sprintf("m%042d", i))
}

// testMedia: records by ID and in ID order (after a cursor), references
// per file, upload references summed per user, deletes, and copies.
//
// Long (over 80 lines): each step checks the state the previous ones
// left.
func testMedia(t *testing.T, s Store) {
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.MediaRecord(mediaID(1))
		wantNotFound(t, "MediaRecord", err)
		_, err = tx.MediaRef(mediaID(1), node.RefUpload, "alice@N")
		wantNotFound(t, "MediaRef", err)
		if n, err := tx.MediaUsage("alice@N"); n != 0 || err != nil {
			t.Errorf("MediaUsage of nobody = %d, %v", n, err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, i := range []int{3, 1, 2} {
			rec := &node.MediaRecord{Media: node.Media{ID: mediaID(i), Type: "image/png", Size: int64(i * 100), Width: 4, Height: 3}, Stored: true, At: int64(i)}
			if err := tx.PutMediaRecord(rec); err != nil {
				return err
			}
		}
		for _, r := range []*node.MediaRef{
			{Media: mediaID(1), Kind: node.RefUpload, Target: "alice@N", Size: 100, At: 1},
			{Media: mediaID(2), Kind: node.RefUpload, Target: "alice@N", Size: 200, At: 2},
			{Media: mediaID(2), Kind: node.RefUpload, Target: "bob@N", Size: 200, At: 2},
			{Media: mediaID(1), Kind: node.RefMessage, Target: "e1", Room: "r", Node: "N", At: 3},
			{Media: mediaID(1), Kind: node.RefAvatar, Target: "alice@N", Node: "N", At: 4},
		} {
			if err := tx.PutMediaRef(r); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		rec, err := tx.MediaRecord(mediaID(2))
		if err != nil || rec.Size != 200 || !rec.Stored || rec.Type != "image/png" || rec.Width != 4 {
			t.Errorf("MediaRecord = %+v, %v", rec, err)
		}
		rec.Size = 1 // a copy: the stored record does not change
		var ids []node.MediaID
		if err := tx.EachMediaRecord("", func(m *node.MediaRecord) bool { ids = append(ids, m.ID); return true }); err != nil {
			return err
		}
		if !slices.Equal(ids, []node.MediaID{mediaID(1), mediaID(2), mediaID(3)}) {
			t.Errorf("EachMediaRecord = %v", ids)
		}
		ids = nil
		if err := tx.EachMediaRecord(mediaID(1), func(m *node.MediaRecord) bool { ids = append(ids, m.ID); return false }); err != nil {
			return err
		}
		if !slices.Equal(ids, []node.MediaID{mediaID(2)}) {
			t.Errorf("EachMediaRecord after the first, stopping = %v", ids)
		}
		var kinds []string
		if err := tx.EachMediaRef(mediaID(1), func(r *node.MediaRef) bool { kinds = append(kinds, r.Kind+":"+r.Target); return true }); err != nil {
			return err
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, []string{"av:alice@N", "msg:e1", "up:alice@N"}) {
			t.Errorf("EachMediaRef = %v", kinds)
		}
		r, err := tx.MediaRef(mediaID(1), node.RefMessage, "e1")
		if err != nil || r.Room != "r" || r.Node != "N" || r.At != 3 {
			t.Errorf("MediaRef = %+v, %v", r, err)
		}
		if n, err := tx.MediaUsage("alice@N"); n != 300 || err != nil {
			t.Errorf("MediaUsage(alice) = %d, %v, want 300", n, err)
		}
		if n, err := tx.MediaUsage("bob@N"); n != 200 || err != nil {
			t.Errorf("MediaUsage(bob) = %d, %v, want 200", n, err)
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		if rec, _ := tx.MediaRecord(mediaID(2)); rec == nil || rec.Size != 200 {
			t.Errorf("changing a read record changed the store: %+v", rec)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.DeleteMediaRef(mediaID(2), node.RefUpload, "alice@N"); err != nil {
			return err
		}
		return tx.DeleteMediaRecord(mediaID(3))
	})
	mustView(t, s, func(tx node.Tx) error {
		if n, err := tx.MediaUsage("alice@N"); n != 100 || err != nil {
			t.Errorf("MediaUsage(alice) after deleting an upload = %d, %v, want 100", n, err)
		}
		_, err := tx.MediaRef(mediaID(2), node.RefUpload, "alice@N")
		wantNotFound(t, "deleted MediaRef", err)
		_, err = tx.MediaRecord(mediaID(3))
		wantNotFound(t, "deleted MediaRecord", err)
		count := 0
		if err := tx.EachMediaRef(mediaID(2), func(*node.MediaRef) bool { count++; return true }); err != nil {
			return err
		}
		if count != 1 {
			t.Errorf("file 2 has %d references, want bob's upload", count)
		}
		return nil
	})
}
