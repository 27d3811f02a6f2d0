package memstore

import (
	"github.com/hearth-chat/hearth/node"
)

// Media tables, keyed as in the Badger store (docs/storage.md).
const (
	pMedia    = "media/"
	pMediaRef = "mref/"
	pMediaUse = "mup/"
)

func (t *tx) MediaRecord(id node.MediaID) (*node.MediaRecord, error) {
	v, err := t.get(key(pMedia, string(id)))
	if err != nil {
		return nil, err
	}
	m := *v.(*node.MediaRecord)
	return &m, nil
}

func (t *tx) PutMediaRecord(m *node.MediaRecord) error {
	c := *m
	return t.set(key(pMedia, string(m.ID)), &c, 0)
}

func (t *tx) DeleteMediaRecord(id node.MediaID) error { return t.del(key(pMedia, string(id))) }

func (t *tx) EachMediaRecord(after node.MediaID, fn func(*node.MediaRecord) bool) error {
	start := key(pMedia, string(after))
	t.ascend(pMedia, start, func(it item) bool {
		if after != "" && it.key == start {
			return true
		}
		m := *it.val.(*node.MediaRecord)
		return fn(&m)
	})
	return nil
}

func (t *tx) MediaRef(id node.MediaID, kind, target string) (*node.MediaRef, error) {
	v, err := t.get(key(pMediaRef, string(id), kind, target))
	if err != nil {
		return nil, err
	}
	r := *v.(*node.MediaRef)
	return &r, nil
}

func (t *tx) PutMediaRef(r *node.MediaRef) error {
	c := *r
	if err := t.set(key(pMediaRef, string(r.Media), r.Kind, r.Target), &c, 0); err != nil {
		return err
	}
	if r.Kind == node.RefUpload {
		return t.set(key(pMediaUse, r.Target, string(r.Media)), r.Size, 0)
	}
	return nil
}

func (t *tx) DeleteMediaRef(id node.MediaID, kind, target string) error {
	if err := t.del(key(pMediaRef, string(id), kind, target)); err != nil {
		return err
	}
	if kind == node.RefUpload {
		return t.del(key(pMediaUse, target, string(id)))
	}
	return nil
}

func (t *tx) EachMediaRef(id node.MediaID, fn func(*node.MediaRef) bool) error {
	prefix := key(pMediaRef, string(id)) + "/"
	t.ascend(prefix, prefix, func(it item) bool {
		r := *it.val.(*node.MediaRef)
		return fn(&r)
	})
	return nil
}

func (t *tx) MediaUsage(u node.UserID) (int64, error) {
	prefix := key(pMediaUse, string(u)) + "/"
	var sum int64
	t.ascend(prefix, prefix, func(it item) bool {
		sum += it.val.(int64)
		return true
	})
	return sum, nil
}
