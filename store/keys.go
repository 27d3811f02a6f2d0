package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// The key directory and mailboxes of end-to-end encryption (node.KeyTx);
// docs/storage.md lists the tables. A record that changes often is kept
// small (a device's mailbox counters apart from its keys), and what grows
// (one-time keys, to-device messages, backup keys) is one key per item.
const (
	pDevice     = "dev/"  // dev/<user>/<device> → Device
	pOneTime    = "otk/"  // otk/<user>/<device>/<algorithm>/<keyID> → OneTimeKey
	pCrossSign  = "xs/"   // xs/<user> → CrossSigning
	pUserSig    = "usig/" // usig/<target>/<signer> → UserSignature
	pDLVersion  = "dlv/"  // dlv/<user> → device-list version
	pMailbox    = "mbx/"  // mbx/<user>/<device> → Mailbox
	pToDevice   = "tdm/"  // tdm/<user>/<device>/<uint64be seq> → ToDeviceMessage
	pDLEntry    = "dle/"  // dle/<user>/<device>/<about> → DeviceListEntry
	pTxn        = "tdtx/" // tdtx/<user>/<device>/<txnID> → "" (TTL)
	pReceived   = "rcv/"  // rcv/<origin>/<messageID> → "" (TTL)
	pOutState   = "obs/"  // obs/<node> → OutboxState
	pOutMsg     = "obm/"  // obm/<node>/<uint64be seq> → Outbound
	pOutDL      = "obd/"  // obd/<node>/<user> → version
	pBackupVer  = "bkv/"  // bkv/<user>/<uint64be version> → BackupVersion
	pBackupKey  = "bkk/"  // bkk/<user>/<uint64be version>/<room>/<session> → BackupKey
	keysPerScan = 64
)

func devKey(prefix string, u node.UserID, d node.DeviceID, rest ...string) []byte {
	return key(append([]string{prefix, string(u), string(d)}, rest...)...)
}

func seqKey(prefix []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(slices.Clone(prefix), '/'), seq)
}

// under is a key prefix followed by the separator, for scans of its children.
func under(k []byte) []byte { return append(k, '/') }

// deletePrefix deletes every key under prefix.
func (t *tx) deletePrefix(prefix []byte) error {
	var keys [][]byte
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}

// has reports whether a key exists (and has not expired).
func (t *tx) has(k []byte) (bool, error) {
	_, err := t.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, translate(err)
}

func (t *tx) Device(u node.UserID, id node.DeviceID) (*node.Device, error) {
	var d node.Device
	if err := t.getJSON(devKey(pDevice, u, id), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (t *tx) PutDevice(d *node.Device) error { return t.putJSON(devKey(pDevice, d.User, d.ID), d) }

func (t *tx) DeleteDevice(u node.UserID, id node.DeviceID) error {
	if _, err := t.Device(u, id); err != nil {
		return err
	}
	for _, p := range []string{pOneTime, pToDevice, pDLEntry} {
		if err := t.deletePrefix(under(devKey(p, u, id))); err != nil {
			return err
		}
	}
	if err := t.del(devKey(pMailbox, u, id)); err != nil {
		return err
	}
	return t.del(devKey(pDevice, u, id))
}

func (t *tx) EachDevice(u node.UserID, fn func(*node.Device) bool) error {
	return t.each(under(key(pDevice, string(u))), func(_, v []byte) (bool, error) {
		var d node.Device
		if err := json.Unmarshal(v, &d); err != nil {
			return false, fmt.Errorf("decode device: %w", err)
		}
		return fn(&d), nil
	})
}

func (t *tx) OneTimeKey(u node.UserID, d node.DeviceID, algorithm, keyID string) (*node.OneTimeKey, error) {
	var k node.OneTimeKey
	if err := t.getJSON(devKey(pOneTime, u, d, algorithm, keyID), &k); err != nil {
		return nil, err
	}
	return &k, nil
}

func (t *tx) PutOneTimeKey(u node.UserID, d node.DeviceID, k *node.OneTimeKey) error {
	return t.putJSON(devKey(pOneTime, u, d, k.Algorithm, k.KeyID), k)
}

func (t *tx) TakeOneTimeKey(u node.UserID, d node.DeviceID, algorithm string) (*node.OneTimeKey, error) {
	var oldest *node.OneTimeKey
	err := t.each(under(devKey(pOneTime, u, d, algorithm)), func(_, v []byte) (bool, error) {
		var k node.OneTimeKey
		if err := json.Unmarshal(v, &k); err != nil {
			return false, fmt.Errorf("decode one-time key: %w", err)
		}
		if oldest == nil || k.Seq < oldest.Seq {
			oldest = &k
		}
		return true, nil
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
	prefix := under(devKey(pOneTime, u, d))
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		rest := it.Item().Key()[len(prefix):]
		for i, c := range rest {
			if c == '/' {
				out[string(rest[:i])]++
				break
			}
		}
	}
	return out, nil
}

func (t *tx) CrossSigning(u node.UserID) (*node.CrossSigning, error) {
	var c node.CrossSigning
	if err := t.getJSON(key(pCrossSign, string(u)), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (t *tx) PutCrossSigning(c *node.CrossSigning) error {
	return t.putJSON(key(pCrossSign, string(c.User)), c)
}

func (t *tx) UserSignature(target, signer node.UserID) (*node.UserSignature, error) {
	var s node.UserSignature
	if err := t.getJSON(key(pUserSig, string(target), string(signer)), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutUserSignature(s *node.UserSignature) error {
	return t.putJSON(key(pUserSig, string(s.Target), string(s.Signer)), s)
}

func (t *tx) DeviceListVersion(u node.UserID) (int64, error) {
	var v int64
	if err := t.getJSON(key(pDLVersion, string(u)), &v); err != nil {
		return 0, err
	}
	return v, nil
}

func (t *tx) PutDeviceListVersion(u node.UserID, v int64) error {
	return t.putJSON(key(pDLVersion, string(u)), v)
}

func (t *tx) Mailbox(u node.UserID, d node.DeviceID) (*node.Mailbox, error) {
	var m node.Mailbox
	if err := t.getJSON(devKey(pMailbox, u, d), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (t *tx) PutMailbox(m *node.Mailbox) error {
	return t.putJSON(devKey(pMailbox, m.User, m.Device), m)
}

func (t *tx) PutToDevice(u node.UserID, d node.DeviceID, m *node.ToDeviceMessage) error {
	return t.putJSON(seqKey(devKey(pToDevice, u, d), m.Seq), m)
}

// eachAfter visits values under prefix whose 8-byte big-endian sequence
// suffix is above after, in order, up to limit.
func (t *tx) eachAfter(prefix []byte, after uint64, limit int, fn func(v []byte) error) error {
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: min(limit, keysPerScan)})
	defer it.Close()
	n := 0
	for it.Seek(binary.BigEndian.AppendUint64(slices.Clone(prefix), after+1)); it.ValidForPrefix(prefix) && n < limit; it.Next() {
		if err := it.Item().Value(fn); err != nil {
			return err
		}
		n++
	}
	return nil
}

func (t *tx) ToDeviceAfter(u node.UserID, d node.DeviceID, after uint64, limit int) ([]*node.ToDeviceMessage, error) {
	var out []*node.ToDeviceMessage
	err := t.eachAfter(under(devKey(pToDevice, u, d)), after, limit, func(v []byte) error {
		var m node.ToDeviceMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode to-device message: %w", err)
		}
		out = append(out, &m)
		return nil
	})
	return out, err
}

func (t *tx) DeleteToDevice(u node.UserID, d node.DeviceID, seq uint64) error {
	return t.del(seqKey(devKey(pToDevice, u, d), seq))
}

func (t *tx) DeviceListEntry(u node.UserID, d node.DeviceID, about node.UserID) (*node.DeviceListEntry, error) {
	var e node.DeviceListEntry
	if err := t.getJSON(devKey(pDLEntry, u, d, string(about)), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (t *tx) PutDeviceListEntry(u node.UserID, d node.DeviceID, e *node.DeviceListEntry) error {
	return t.putJSON(devKey(pDLEntry, u, d, string(e.User)), e)
}

func (t *tx) DeviceListEntries(u node.UserID, d node.DeviceID, after uint64, limit int) ([]*node.DeviceListEntry, error) {
	var out []*node.DeviceListEntry
	err := t.each(under(devKey(pDLEntry, u, d)), func(_, v []byte) (bool, error) {
		var e node.DeviceListEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("decode device-list entry: %w", err)
		}
		if e.Seq > after {
			out = append(out, &e)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *node.DeviceListEntry) int { return cmpUint(a.Seq, b.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (t *tx) DeleteDeviceListEntry(u node.UserID, d node.DeviceID, about node.UserID) error {
	return t.del(devKey(pDLEntry, u, d, string(about)))
}

func (t *tx) ToDeviceTxn(u node.UserID, d node.DeviceID, txn string) (bool, error) {
	return t.has(devKey(pTxn, u, d, txn))
}

func (t *tx) PutToDeviceTxn(u node.UserID, d node.DeviceID, txn string, ttl time.Duration) error {
	return t.setTTL(devKey(pTxn, u, d, txn), nil, ttl)
}

func (t *tx) Received(origin node.NodeID, id string) (bool, error) {
	return t.has(key(pReceived, string(origin), id))
}

func (t *tx) PutReceived(origin node.NodeID, id string, ttl time.Duration) error {
	return t.setTTL(key(pReceived, string(origin), id), nil, ttl)
}

func (t *tx) OutboxState(to node.NodeID) (*node.OutboxState, error) {
	var s node.OutboxState
	if err := t.getJSON(key(pOutState, string(to)), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutOutboxState(s *node.OutboxState) error {
	return t.putJSON(key(pOutState, string(s.Node)), s)
}

func (t *tx) EachOutboxState(fn func(*node.OutboxState) bool) error {
	return t.each([]byte(pOutState), func(_, v []byte) (bool, error) {
		var s node.OutboxState
		if err := json.Unmarshal(v, &s); err != nil {
			return false, fmt.Errorf("decode outbox state: %w", err)
		}
		return fn(&s), nil
	})
}

func (t *tx) PutOutbound(m *node.Outbound) error {
	return t.putJSON(seqKey(key(pOutMsg, string(m.To)), m.Seq), m)
}

func (t *tx) OutboundAfter(to node.NodeID, after uint64, limit int) ([]*node.Outbound, error) {
	var out []*node.Outbound
	err := t.eachAfter(under(key(pOutMsg, string(to))), after, limit, func(v []byte) error {
		var m node.Outbound
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode outbound message: %w", err)
		}
		out = append(out, &m)
		return nil
	})
	return out, err
}

func (t *tx) DeleteOutbound(to node.NodeID, seq uint64) error {
	return t.del(seqKey(key(pOutMsg, string(to)), seq))
}

func (t *tx) PutDeviceListOut(to node.NodeID, u node.UserID, version int64) error {
	return t.set(key(pOutDL, string(to), string(u)), []byte(strconv.FormatInt(version, 10)))
}

func (t *tx) DeviceListOut(to node.NodeID, limit int) (map[node.UserID]int64, error) {
	out := map[node.UserID]int64{}
	prefix := under(key(pOutDL, string(to)))
	err := t.each(prefix, func(k, v []byte) (bool, error) {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return false, fmt.Errorf("decode device-list update: %w", err)
		}
		out[node.UserID(k[len(prefix):])] = n
		return len(out) < limit, nil
	})
	return out, err
}

func (t *tx) DeleteDeviceListOut(to node.NodeID, u node.UserID) error {
	return t.del(key(pOutDL, string(to), string(u)))
}

func versionKey(u node.UserID, v int64) []byte {
	return binary.BigEndian.AppendUint64(under(key(pBackupVer, string(u))), uint64(v))
}

func backupKeysPrefix(u node.UserID, v int64) []byte {
	return under(binary.BigEndian.AppendUint64(under(key(pBackupKey, string(u))), uint64(v)))
}

func (t *tx) BackupVersion(u node.UserID, version int64) (*node.BackupVersion, error) {
	var b node.BackupVersion
	if err := t.getJSON(versionKey(u, version), &b); err != nil {
		return nil, err
	}
	return &b, nil
}

func (t *tx) LatestBackupVersion(u node.UserID) (*node.BackupVersion, error) {
	// A version's record is rewritten with its counts: find the newest
	// by a key-only reverse seek and Get it, since a reverse scan with
	// values copies every stored version of the keys it passes.
	prefix := under(key(pBackupVer, string(u)))
	last, _ := t.scanKeysBack(prefix, nil, 1)
	if len(last) == 0 {
		return nil, fmt.Errorf("no backup: %w", node.ErrNotFound)
	}
	var b node.BackupVersion
	if err := t.getJSON(append(append([]byte{}, prefix...), last[0]...), &b); err != nil {
		return nil, fmt.Errorf("decode backup version: %w", err)
	}
	return &b, nil
}

func (t *tx) PutBackupVersion(b *node.BackupVersion) error {
	return t.putJSON(versionKey(b.User, b.Version), b)
}

func (t *tx) DeleteBackupVersion(u node.UserID, version int64) error {
	return t.del(versionKey(u, version))
}

func (t *tx) EachBackupVersion(u node.UserID, fn func(*node.BackupVersion) bool) error {
	return t.each(under(key(pBackupVer, string(u))), func(_, v []byte) (bool, error) {
		var b node.BackupVersion
		if err := json.Unmarshal(v, &b); err != nil {
			return false, fmt.Errorf("decode backup version: %w", err)
		}
		return fn(&b), nil
	})
}

func (t *tx) BackupKey(u node.UserID, version int64, room, session string) (*node.BackupKey, error) {
	var k node.BackupKey
	if err := t.getJSON(append(backupKeysPrefix(u, version), room+"/"+session...), &k); err != nil {
		return nil, err
	}
	return &k, nil
}

func (t *tx) PutBackupKey(u node.UserID, version int64, k *node.BackupKey) error {
	return t.putJSON(append(backupKeysPrefix(u, version), k.Room+"/"+k.Session...), k)
}

func (t *tx) DeleteBackupKey(u node.UserID, version int64, room, session string) error {
	return t.del(append(backupKeysPrefix(u, version), room+"/"+session...))
}

func (t *tx) EachBackupKey(u node.UserID, version int64, room string, fn func(*node.BackupKey) bool) error {
	prefix := backupKeysPrefix(u, version)
	if room != "" {
		prefix = append(prefix, room+"/"...)
	}
	return t.each(prefix, func(_, v []byte) (bool, error) {
		var k node.BackupKey
		if err := json.Unmarshal(v, &k); err != nil {
			return false, fmt.Errorf("decode backup key: %w", err)
		}
		return fn(&k), nil
	})
}
