package memstore

import (
	"encoding/binary"
	"strings"

	"github.com/hearth-chat/hearth/node"
)

// Notification settings, push subscriptions and the push outbox
// (node.NotifyTx), with the Badger store's keys.
const (
	pNotifyPrefs = "nglob/"
	pNotifyRoom  = "nroom/"
	pPushSub     = "psub/"
	pPushJob     = "pjob/"
)

func pushJobKey(seq uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte(pPushJob), seq))
}

func (t *tx) NotifyPrefs(u node.UserID) (*node.NotifyPrefs, error) {
	var p node.NotifyPrefs
	if err := t.getJ(key(pNotifyPrefs, string(u)), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (t *tx) PutNotifyPrefs(u node.UserID, p *node.NotifyPrefs) error {
	return t.setJ(key(pNotifyPrefs, string(u)), p, 0)
}

func (t *tx) RoomNotify(u node.UserID, room node.RoomID) (string, error) {
	v, err := t.get(key(pNotifyRoom, string(u), string(room)))
	if err != nil {
		return "", err
	}
	return string(v.([]byte)), nil
}

func (t *tx) PutRoomNotify(u node.UserID, room node.RoomID, level string) error {
	k := key(pNotifyRoom, string(u), string(room))
	if level == "" {
		return t.del(k)
	}
	return t.set(k, []byte(level), 0)
}

func (t *tx) EachRoomNotify(u node.UserID, fn func(node.RoomID, string) bool) error {
	prefix := key(pNotifyRoom, string(u)) + "/"
	t.ascend(prefix, prefix, func(it item) bool {
		return fn(node.RoomID(strings.TrimPrefix(it.key, prefix)), string(it.val.([]byte)))
	})
	return nil
}

func (t *tx) PushSubscription(u node.UserID, id string) (*node.PushSubscription, error) {
	var s node.PushSubscription
	if err := t.getJ(key(pPushSub, string(u), id), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutPushSubscription(s *node.PushSubscription) error {
	return t.setJ(key(pPushSub, string(s.User), s.ID), s, 0)
}

func (t *tx) DeletePushSubscription(u node.UserID, id string) error {
	return t.del(key(pPushSub, string(u), id))
}

func (t *tx) EachPushSubscription(u node.UserID, fn func(*node.PushSubscription) bool) error {
	prefix := pPushSub
	if u != "" {
		prefix = key(pPushSub, string(u)) + "/"
	}
	return eachJ(t, prefix, func(_ string, v *node.PushSubscription) bool { return fn(v) })
}

func (t *tx) PutPushJob(j *node.PushJob) error { return t.setJ(pushJobKey(j.Seq), j, 0) }

func (t *tx) DeletePushJob(seq uint64) error { return t.del(pushJobKey(seq)) }

func (t *tx) EachPushJob(fn func(*node.PushJob) bool) error {
	return eachJ(t, pPushJob, func(_ string, v *node.PushJob) bool { return fn(v) })
}
