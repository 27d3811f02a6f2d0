package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
)

// Node administration (node.AdminTx); docs/storage.md lists the tables.
const (
	pInvite   = "inv/"   // inv/<sha256 hex> → InviteToken
	pNodeRule = "nrule/" // nrule/<nodeID> → NodeRule
	pSetting  = "set/"   // set/<name> → value
	pClosed   = "rclo/"  // rclo/<roomID> → ClosedRoom
	pAudit    = "aud/"   // aud/<int64be id> → AuditEntry
)

func auditKey(id int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pAudit), uint64(id))
}

func eachJSON[T any](t *tx, prefix string, fn func(*T) bool) error {
	return t.each([]byte(prefix), func(_, v []byte) (bool, error) {
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			return false, fmt.Errorf("decode %s: %w", prefix, err)
		}
		return fn(x), nil
	})
}

func (t *tx) EachAccount(fn func(*node.Account) bool) error {
	return eachJSON(t, pAccount, fn)
}

func (t *tx) DeleteProfile(id node.UserID) error { return t.del(key(pProfile, string(id))) }

func (t *tx) DeleteCrossSigning(u node.UserID) error { return t.del(key(pCrossSign, string(u))) }

func (t *tx) InviteToken(hash string) (*node.InviteToken, error) {
	var it node.InviteToken
	return &it, t.getJSON(key(pInvite, hash), &it)
}

func (t *tx) PutInviteToken(it *node.InviteToken) error { return t.putJSON(key(pInvite, it.Hash), it) }

func (t *tx) DeleteInviteToken(hash string) error { return t.del(key(pInvite, hash)) }

func (t *tx) EachInviteToken(fn func(*node.InviteToken) bool) error {
	return eachJSON(t, pInvite, fn)
}

func (t *tx) PutNodeRule(r *node.NodeRule) error { return t.putJSON(key(pNodeRule, string(r.Node)), r) }

func (t *tx) DeleteNodeRule(id node.NodeID) error { return t.del(key(pNodeRule, string(id))) }

func (t *tx) EachNodeRule(fn func(*node.NodeRule) bool) error { return eachJSON(t, pNodeRule, fn) }

func (t *tx) Setting(name string) (string, error) {
	item, err := t.txn.Get(key(pSetting, name))
	if err != nil {
		return "", translate(err)
	}
	v, err := item.ValueCopy(nil)
	return string(v), translate(err)
}

func (t *tx) PutSetting(name, value string) error { return t.set(key(pSetting, name), []byte(value)) }

func (t *tx) PutClosedRoom(c *node.ClosedRoom) error {
	return t.putJSON(key(pClosed, string(c.Room)), c)
}

func (t *tx) DeleteClosedRoom(id node.RoomID) error { return t.del(key(pClosed, string(id))) }

func (t *tx) EachClosedRoom(fn func(*node.ClosedRoom) bool) error { return eachJSON(t, pClosed, fn) }

func (t *tx) PutAudit(e *node.AuditEntry) error { return t.putJSON(auditKey(e.ID), e) }

func (t *tx) DeleteAudit(id int64) error { return t.del(auditKey(id)) }

func (t *tx) EachAudit(before int64, fn func(*node.AuditEntry) bool) error {
	return eachBack(t, pAudit, before, fn)
}

func (t *tx) EachAuditOldest(fn func(*node.AuditEntry) bool) error { return eachJSON(t, pAudit, fn) }

const pReport = "rep/" // rep/<int64be id> → Report

func reportKey(id int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pReport), uint64(id))
}

func (t *tx) Report(id int64) (*node.Report, error) {
	var r node.Report
	if err := t.getJSON(reportKey(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *tx) PutReport(r *node.Report) error { return t.putJSON(reportKey(r.ID), r) }

func (t *tx) DeleteReport(id int64) error { return t.del(reportKey(id)) }

func (t *tx) EachReport(before int64, fn func(*node.Report) bool) error {
	return eachBack(t, pReport, before, fn)
}

// eachBack visits the records of an int64-keyed table below before (0:
// all), newest first.
func eachBack[T any](t *tx, prefix string, before int64, fn func(*T) bool) error {
	p := []byte(prefix)
	it := t.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: p, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	seek := append([]byte(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if before > 0 {
		seek = binary.BigEndian.AppendUint64([]byte(prefix), uint64(before-1))
	}
	for it.Seek(seek); it.ValidForPrefix(p); it.Next() {
		v := new(T)
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, v) }); err != nil {
			return fmt.Errorf("decode %s: %w", prefix, err)
		}
		if !fn(v) {
			return nil
		}
	}
	return nil
}
