package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// Media tables (docs/storage.md). A file's references are keyed under
// its ID, so that deciding access or collection is one prefix scan; an
// upload is also indexed under its user, so that a quota check is one
// prefix scan of that user's uploads and never a counter that could
// drift from the references.
const (
	pMedia    = "media/" // media/<mediaID> → MediaRecord
	pMediaRef = "mref/"  // mref/<mediaID>/<kind>/<target> → MediaRef
	pMediaUse = "mup/"   // mup/<userID>/<mediaID> → bytes (decimal)
)

func (t *tx) MediaRecord(id node.MediaID) (*node.MediaRecord, error) {
	var m node.MediaRecord
	if err := t.getJSON(key(pMedia, string(id)), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (t *tx) PutMediaRecord(m *node.MediaRecord) error {
	return t.putJSON(key(pMedia, string(m.ID)), m)
}

func (t *tx) DeleteMediaRecord(id node.MediaID) error { return t.del(key(pMedia, string(id))) }

func (t *tx) EachMediaRecord(after node.MediaID, fn func(*node.MediaRecord) bool) error {
	prefix := []byte(pMedia)
	start := key(pMedia, string(after))
	it := t.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
	defer it.Close()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		if after != "" && bytes.Equal(item.Key(), start) {
			continue
		}
		var m node.MediaRecord
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
			return fmt.Errorf("decode media record: %w", err)
		}
		if !fn(&m) {
			return nil
		}
	}
	return nil
}

func mediaRefKey(id node.MediaID, kind, target string) []byte {
	return key(pMediaRef, string(id), kind, target)
}

func (t *tx) MediaRef(id node.MediaID, kind, target string) (*node.MediaRef, error) {
	var r node.MediaRef
	if err := t.getJSON(mediaRefKey(id, kind, target), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *tx) PutMediaRef(r *node.MediaRef) error {
	if err := t.putJSON(mediaRefKey(r.Media, r.Kind, r.Target), r); err != nil {
		return err
	}
	if r.Kind == node.RefUpload {
		return t.set(key(pMediaUse, r.Target, string(r.Media)), strconv.AppendInt(nil, r.Size, 10))
	}
	return nil
}

func (t *tx) DeleteMediaRef(id node.MediaID, kind, target string) error {
	if err := t.del(mediaRefKey(id, kind, target)); err != nil {
		return err
	}
	if kind == node.RefUpload {
		return t.del(key(pMediaUse, target, string(id)))
	}
	return nil
}

func (t *tx) EachMediaRef(id node.MediaID, fn func(*node.MediaRef) bool) error {
	return t.each(append(key(pMediaRef, string(id)), '/'), func(_, v []byte) (bool, error) {
		var r node.MediaRef
		if err := json.Unmarshal(v, &r); err != nil {
			return false, fmt.Errorf("decode media ref: %w", err)
		}
		return fn(&r), nil
	})
}

func (t *tx) MediaUsage(u node.UserID) (int64, error) {
	var sum int64
	err := t.each(append(key(pMediaUse, string(u)), '/'), func(_, v []byte) (bool, error) {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return false, fmt.Errorf("decode media usage: %w", err)
		}
		sum += n
		return true, nil
	})
	return sum, err
}
