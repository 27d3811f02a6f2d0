package memstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// The key directory and mailboxes (node.KeyTx), laid out like the Badger
// store's tables (store/keys.go). Records are kept as their JSON
// encoding, which copies them on the way in and out.
const (
	pDevice    = "dev/"
	pOneTime   = "otk/"
	pCrossSign = "xs/"
	pUserSig   = "usig/"
	pDLVersion = "dlv/"
	pMailbox   = "mbx/"
	pToDevice  = "tdm/"
	pDLEntry   = "dle/"
	pTxn       = "tdtx/"
	pReceived  = "rcv/"
	pOutState  = "obs/"
	pOutMsg    = "obm/"
	pOutDL     = "obd/"
	pBackupVer = "bkv/"
	pBackupKey = "bkk/"
)

func devKey(prefix string, u node.UserID, d node.DeviceID, rest ...string) string {
	return key(prefix, append([]string{string(u), string(d)}, rest...)...)
}

func seqKey(prefix string, seq uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte(prefix+"/"), seq))
}

func (t *tx) getJ(k string, v any) error {
	b, err := t.get(k)
	if err != nil {
		return err
	}
	return json.Unmarshal(b.([]byte), v)
}

func (t *tx) setJ(k string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", k, err)
	}
	return t.set(k, b, ttl)
}

func (t *tx) has(k string) bool {
	_, err := t.get(k)
	return err == nil
}

// eachJ decodes every record under prefix into a fresh T, in key order,
// until fn returns false.
func eachJ[T any](t *tx, prefix string, fn func(k string, v *T) bool) error {
	var err error
	t.ascend(prefix, prefix, func(it item) bool {
		v := new(T)
		if err = json.Unmarshal(it.val.([]byte), v); err != nil {
			return false
		}
		return fn(it.key, v)
	})
	return err
}

func (t *tx) deletePrefix(prefix string) error {
	var keys []string
	t.ascend(prefix, prefix, func(it item) bool {
		keys = append(keys, it.key)
		return true
	})
	for _, k := range keys {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Device(u node.UserID, id node.DeviceID) (*node.Device, error) {
	var d node.Device
	return &d, t.getJ(devKey(pDevice, u, id), &d)
}

func (t *tx) PutDevice(d *node.Device) error { return t.setJ(devKey(pDevice, d.User, d.ID), d, 0) }

func (t *tx) DeleteDevice(u node.UserID, id node.DeviceID) error {
	if _, err := t.get(devKey(pDevice, u, id)); err != nil {
		return err
	}
	for _, p := range []string{pOneTime, pToDevice, pDLEntry} {
		if err := t.deletePrefix(devKey(p, u, id) + "/"); err != nil {
			return err
		}
	}
	if err := t.del(devKey(pMailbox, u, id)); err != nil {
		return err
	}
	return t.del(devKey(pDevice, u, id))
}

func (t *tx) EachDevice(u node.UserID, fn func(*node.Device) bool) error {
	return eachJ(t, key(pDevice, string(u))+"/", func(_ string, d *node.Device) bool { return fn(d) })
}

func (t *tx) OneTimeKey(u node.UserID, d node.DeviceID, algorithm, keyID string) (*node.OneTimeKey, error) {
	var k node.OneTimeKey
	return &k, t.getJ(devKey(pOneTime, u, d, algorithm, keyID), &k)
}

func (t *tx) PutOneTimeKey(u node.UserID, d node.DeviceID, k *node.OneTimeKey) error {
	return t.setJ(devKey(pOneTime, u, d, k.Algorithm, k.KeyID), k, 0)
}

func (t *tx) TakeOneTimeKey(u node.UserID, d node.DeviceID, algorithm string) (*node.OneTimeKey, error) {
	var oldest *node.OneTimeKey
	err := eachJ(t, devKey(pOneTime, u, d, algorithm)+"/", func(_ string, k *node.OneTimeKey) bool {
		if oldest == nil || k.Seq < oldest.Seq {
			oldest = k
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if oldest == nil {
		return nil, fmt.Errorf("no %s one-time key: %w", algorithm, node.ErrNotFound)
	}
	return oldest, t.del(devKey(pOneTime, u, d, algorithm, oldest.KeyID))
}

func (t *tx) CountOneTimeKeys(u node.UserID, d node.DeviceID) (map[string]int, error) {
	out := map[string]int{}
	prefix := devKey(pOneTime, u, d) + "/"
	t.ascend(prefix, prefix, func(it item) bool {
		alg, _, _ := strings.Cut(it.key[len(prefix):], "/")
		out[alg]++
		return true
	})
	return out, nil
}

func (t *tx) CrossSigning(u node.UserID) (*node.CrossSigning, error) {
	var c node.CrossSigning
	return &c, t.getJ(key(pCrossSign, string(u)), &c)
}

func (t *tx) PutCrossSigning(c *node.CrossSigning) error {
	return t.setJ(key(pCrossSign, string(c.User)), c, 0)
}

func (t *tx) UserSignature(target, signer node.UserID) (*node.UserSignature, error) {
	var s node.UserSignature
	return &s, t.getJ(key(pUserSig, string(target), string(signer)), &s)
}

func (t *tx) PutUserSignature(s *node.UserSignature) error {
	return t.setJ(key(pUserSig, string(s.Target), string(s.Signer)), s, 0)
}

func (t *tx) DeviceListVersion(u node.UserID) (int64, error) {
	var v int64
	return v, t.getJ(key(pDLVersion, string(u)), &v)
}

func (t *tx) PutDeviceListVersion(u node.UserID, v int64) error {
	return t.setJ(key(pDLVersion, string(u)), v, 0)
}

func (t *tx) Mailbox(u node.UserID, d node.DeviceID) (*node.Mailbox, error) {
	var m node.Mailbox
	return &m, t.getJ(devKey(pMailbox, u, d), &m)
}

func (t *tx) PutMailbox(m *node.Mailbox) error {
	return t.setJ(devKey(pMailbox, m.User, m.Device), m, 0)
}

func (t *tx) PutToDevice(u node.UserID, d node.DeviceID, m *node.ToDeviceMessage) error {
	return t.setJ(seqKey(devKey(pToDevice, u, d), m.Seq), m, 0)
}

// afterSeq lists the records under prefix whose sequence is above after,
// in order, up to limit.
func afterSeq[T any](t *tx, prefix string, after uint64, limit int) ([]*T, error) {
	var out []*T
	start := string(binary.BigEndian.AppendUint64([]byte(prefix+"/"), after+1))
	var err error
	t.ascend(prefix+"/", start, func(it item) bool {
		v := new(T)
		if err = json.Unmarshal(it.val.([]byte), v); err != nil {
			return false
		}
		out = append(out, v)
		return len(out) < limit
	})
	return out, err
}

func (t *tx) ToDeviceAfter(u node.UserID, d node.DeviceID, after uint64, limit int) ([]*node.ToDeviceMessage, error) {
	return afterSeq[node.ToDeviceMessage](t, devKey(pToDevice, u, d), after, limit)
}

func (t *tx) DeleteToDevice(u node.UserID, d node.DeviceID, seq uint64) error {
	return t.del(seqKey(devKey(pToDevice, u, d), seq))
}

func (t *tx) DeviceListEntry(u node.UserID, d node.DeviceID, about node.UserID) (*node.DeviceListEntry, error) {
	var e node.DeviceListEntry
	return &e, t.getJ(devKey(pDLEntry, u, d, string(about)), &e)
}

func (t *tx) PutDeviceListEntry(u node.UserID, d node.DeviceID, e *node.DeviceListEntry) error {
	return t.setJ(devKey(pDLEntry, u, d, string(e.User)), e, 0)
}

func (t *tx) DeviceListEntries(u node.UserID, d node.DeviceID, after uint64, limit int) ([]*node.DeviceListEntry, error) {
	var out []*node.DeviceListEntry
	err := eachJ(t, devKey(pDLEntry, u, d)+"/", func(_ string, e *node.DeviceListEntry) bool {
		if e.Seq > after {
			out = append(out, e)
		}
		return true
	})
	slices.SortFunc(out, func(a, b *node.DeviceListEntry) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

func (t *tx) DeleteDeviceListEntry(u node.UserID, d node.DeviceID, about node.UserID) error {
	return t.del(devKey(pDLEntry, u, d, string(about)))
}

func (t *tx) ToDeviceTxn(u node.UserID, d node.DeviceID, txn string) (bool, error) {
	return t.has(devKey(pTxn, u, d, txn)), nil
}

func (t *tx) PutToDeviceTxn(u node.UserID, d node.DeviceID, txn string, ttl time.Duration) error {
	return t.set(devKey(pTxn, u, d, txn), []byte{}, ttl)
}

func (t *tx) Received(origin node.NodeID, id string) (bool, error) {
	return t.has(key(pReceived, string(origin), id)), nil
}

func (t *tx) PutReceived(origin node.NodeID, id string, ttl time.Duration) error {
	return t.set(key(pReceived, string(origin), id), []byte{}, ttl)
}

func (t *tx) OutboxState(to node.NodeID) (*node.OutboxState, error) {
	var s node.OutboxState
	return &s, t.getJ(key(pOutState, string(to)), &s)
}

func (t *tx) PutOutboxState(s *node.OutboxState) error {
	return t.setJ(key(pOutState, string(s.Node)), s, 0)
}

func (t *tx) EachOutboxState(fn func(*node.OutboxState) bool) error {
	return eachJ(t, pOutState, func(_ string, s *node.OutboxState) bool { return fn(s) })
}

func (t *tx) PutOutbound(m *node.Outbound) error {
	return t.setJ(seqKey(key(pOutMsg, string(m.To)), m.Seq), m, 0)
}

func (t *tx) OutboundAfter(to node.NodeID, after uint64, limit int) ([]*node.Outbound, error) {
	return afterSeq[node.Outbound](t, key(pOutMsg, string(to)), after, limit)
}

func (t *tx) DeleteOutbound(to node.NodeID, seq uint64) error {
	return t.del(seqKey(key(pOutMsg, string(to)), seq))
}

func (t *tx) PutDeviceListOut(to node.NodeID, u node.UserID, version int64) error {
	return t.setJ(key(pOutDL, string(to), string(u)), version, 0)
}

func (t *tx) DeviceListOut(to node.NodeID, limit int) (map[node.UserID]int64, error) {
	out := map[node.UserID]int64{}
	prefix := key(pOutDL, string(to)) + "/"
	err := eachJ(t, prefix, func(k string, v *int64) bool {
		out[node.UserID(k[len(prefix):])] = *v
		return len(out) < limit
	})
	return out, err
}

func (t *tx) DeleteDeviceListOut(to node.NodeID, u node.UserID) error {
	return t.del(key(pOutDL, string(to), string(u)))
}

func versionKey(u node.UserID, v int64) string {
	return string(binary.BigEndian.AppendUint64([]byte(key(pBackupVer, string(u))+"/"), uint64(v)))
}

func backupKeysPrefix(u node.UserID, v int64) string {
	return string(binary.BigEndian.AppendUint64([]byte(key(pBackupKey, string(u))+"/"), uint64(v))) + "/"
}

func (t *tx) BackupVersion(u node.UserID, version int64) (*node.BackupVersion, error) {
	var b node.BackupVersion
	return &b, t.getJ(versionKey(u, version), &b)
}

func (t *tx) LatestBackupVersion(u node.UserID) (*node.BackupVersion, error) {
	var out *node.BackupVersion
	var err error
	t.descend(key(pBackupVer, string(u))+"/", "", func(it item) bool {
		out = &node.BackupVersion{}
		err = json.Unmarshal(it.val.([]byte), out)
		return false
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("no backup: %w", node.ErrNotFound)
	}
	return out, nil
}

func (t *tx) PutBackupVersion(b *node.BackupVersion) error {
	return t.setJ(versionKey(b.User, b.Version), b, 0)
}

func (t *tx) DeleteBackupVersion(u node.UserID, version int64) error {
	return t.del(versionKey(u, version))
}

func (t *tx) EachBackupVersion(u node.UserID, fn func(*node.BackupVersion) bool) error {
	return eachJ(t, key(pBackupVer, string(u))+"/", func(_ string, b *node.BackupVersion) bool { return fn(b) })
}

func (t *tx) BackupKey(u node.UserID, version int64, room, session string) (*node.BackupKey, error) {
	var k node.BackupKey
	return &k, t.getJ(backupKeysPrefix(u, version)+room+"/"+session, &k)
}

func (t *tx) PutBackupKey(u node.UserID, version int64, k *node.BackupKey) error {
	return t.setJ(backupKeysPrefix(u, version)+k.Room+"/"+k.Session, k, 0)
}

func (t *tx) DeleteBackupKey(u node.UserID, version int64, room, session string) error {
	return t.del(backupKeysPrefix(u, version) + room + "/" + session)
}

func (t *tx) EachBackupKey(u node.UserID, version int64, room string, fn func(*node.BackupKey) bool) error {
	prefix := backupKeysPrefix(u, version)
	if room != "" {
		prefix += room + "/"
	}
	return eachJ(t, prefix, func(_ string, k *node.BackupKey) bool { return fn(k) })
}
