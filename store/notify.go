package store

import (
	"encoding/binary"

	"github.com/hearth-chat/hearth/node"
)

// Notification settings, push subscriptions and the push outbox
// (node.NotifyTx); docs/storage.md lists the tables. New tables only: no
// schema bump. Each record is small and one per item, so a change writes
// one small record.
const (
	pNotifyPrefs = "nglob/" // nglob/<user> → NotifyPrefs
	pNotifyRoom  = "nroom/" // nroom/<user>/<room> → level
	pPushSub     = "psub/"  // psub/<user>/<id> → PushSubscription
	pPushJob     = "pjob/"  // pjob/<uint64be seq> → PushJob
)

func pushJobKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pPushJob), seq)
}

func (t *tx) NotifyPrefs(u node.UserID) (*node.NotifyPrefs, error) {
	var p node.NotifyPrefs
	if err := t.getJSON(key(pNotifyPrefs, string(u)), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (t *tx) PutNotifyPrefs(u node.UserID, p *node.NotifyPrefs) error {
	return t.putJSON(key(pNotifyPrefs, string(u)), p)
}

func (t *tx) RoomNotify(u node.UserID, room node.RoomID) (string, error) {
	item, err := t.txn.Get(key(pNotifyRoom, string(u), string(room)))
	if err != nil {
		return "", translate(err)
	}
	v, err := item.ValueCopy(nil)
	return string(v), translate(err)
}

func (t *tx) PutRoomNotify(u node.UserID, room node.RoomID, level string) error {
	k := key(pNotifyRoom, string(u), string(room))
	if level == "" {
		return t.del(k)
	}
	return t.set(k, []byte(level))
}

func (t *tx) EachRoomNotify(u node.UserID, fn func(node.RoomID, string) bool) error {
	prefix := under(key(pNotifyRoom, string(u)))
	return t.each(prefix, func(k, v []byte) (bool, error) {
		return fn(node.RoomID(k[len(prefix):]), string(v)), nil
	})
}

func (t *tx) PushSubscription(u node.UserID, id string) (*node.PushSubscription, error) {
	var s node.PushSubscription
	if err := t.getJSON(key(pPushSub, string(u), id), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutPushSubscription(s *node.PushSubscription) error {
	return t.putJSON(key(pPushSub, string(s.User), s.ID), s)
}

func (t *tx) DeletePushSubscription(u node.UserID, id string) error {
	return t.del(key(pPushSub, string(u), id))
}

func (t *tx) EachPushSubscription(u node.UserID, fn func(*node.PushSubscription) bool) error {
	prefix := pPushSub
	if u != "" {
		prefix = string(under(key(pPushSub, string(u))))
	}
	return eachJSON(t, prefix, fn)
}

func (t *tx) PutPushJob(j *node.PushJob) error { return t.putJSON(pushJobKey(j.Seq), j) }

func (t *tx) DeletePushJob(seq uint64) error { return t.del(pushJobKey(seq)) }

func (t *tx) EachPushJob(fn func(*node.PushJob) bool) error { return eachJSON(t, pPushJob, fn) }
