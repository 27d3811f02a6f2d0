package memstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/hearth-chat/hearth/node"
)

// Node administration (node.AdminTx), with the Badger store's keys.
const (
	pInvite   = "inv/"
	pNodeRule = "nrule/"
	pSetting  = "set/"
	pClosed   = "rclo/"
	pAudit    = "aud/"
)

func auditKey(id int64) string {
	return string(binary.BigEndian.AppendUint64([]byte(pAudit), uint64(id)))
}

func (t *tx) EachAccount(fn func(*node.Account) bool) error {
	t.ascend(pAccount, pAccount, func(it item) bool {
		a := *it.val.(*node.Account)
		return fn(&a)
	})
	return nil
}

func (t *tx) DeleteProfile(id node.UserID) error { return t.del(key(pProfile, string(id))) }

func (t *tx) DeleteCrossSigning(u node.UserID) error { return t.del(key(pCrossSign, string(u))) }

func (t *tx) InviteToken(hash string) (*node.InviteToken, error) {
	var it node.InviteToken
	if err := t.getJ(key(pInvite, hash), &it); err != nil {
		return nil, err
	}
	return &it, nil
}

func (t *tx) PutInviteToken(it *node.InviteToken) error { return t.setJ(key(pInvite, it.Hash), it, 0) }

func (t *tx) DeleteInviteToken(hash string) error { return t.del(key(pInvite, hash)) }

func (t *tx) EachInviteToken(fn func(*node.InviteToken) bool) error {
	return eachJ(t, pInvite, func(_ string, v *node.InviteToken) bool { return fn(v) })
}

func (t *tx) PutNodeRule(r *node.NodeRule) error { return t.setJ(key(pNodeRule, string(r.Node)), r, 0) }

func (t *tx) DeleteNodeRule(id node.NodeID) error { return t.del(key(pNodeRule, string(id))) }

func (t *tx) EachNodeRule(fn func(*node.NodeRule) bool) error {
	return eachJ(t, pNodeRule, func(_ string, v *node.NodeRule) bool { return fn(v) })
}

func (t *tx) Setting(name string) (string, error) {
	v, err := t.get(key(pSetting, name))
	if err != nil {
		return "", err
	}
	return string(v.([]byte)), nil
}

func (t *tx) PutSetting(name, value string) error {
	return t.set(key(pSetting, name), []byte(value), 0)
}

func (t *tx) PutClosedRoom(c *node.ClosedRoom) error {
	return t.setJ(key(pClosed, string(c.Room)), c, 0)
}

func (t *tx) DeleteClosedRoom(id node.RoomID) error { return t.del(key(pClosed, string(id))) }

func (t *tx) EachClosedRoom(fn func(*node.ClosedRoom) bool) error {
	return eachJ(t, pClosed, func(_ string, v *node.ClosedRoom) bool { return fn(v) })
}

func (t *tx) PutAudit(e *node.AuditEntry) error { return t.setJ(auditKey(e.ID), e, 0) }

func (t *tx) DeleteAudit(id int64) error { return t.del(auditKey(id)) }

func (t *tx) EachAudit(before int64, fn func(*node.AuditEntry) bool) error {
	from := ""
	if before > 0 {
		from = auditKey(before)
	}
	var err error
	t.descend(pAudit, from, func(it item) bool {
		var e node.AuditEntry
		if err = json.Unmarshal(it.val.([]byte), &e); err != nil {
			err = fmt.Errorf("decode audit entry: %w", err)
			return false
		}
		return fn(&e)
	})
	return err
}

func (t *tx) EachAuditOldest(fn func(*node.AuditEntry) bool) error {
	return eachJ(t, pAudit, func(_ string, v *node.AuditEntry) bool { return fn(v) })
}

const pReport = "rep/"

func reportKey(id int64) string {
	return string(binary.BigEndian.AppendUint64([]byte(pReport), uint64(id)))
}

func (t *tx) Report(id int64) (*node.Report, error) {
	var r node.Report
	if err := t.getJ(reportKey(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *tx) PutReport(r *node.Report) error { return t.setJ(reportKey(r.ID), r, 0) }

func (t *tx) DeleteReport(id int64) error { return t.del(reportKey(id)) }

func (t *tx) EachReport(before int64, fn func(*node.Report) bool) error {
	from := ""
	if before > 0 {
		from = reportKey(before)
	}
	var err error
	t.descend(pReport, from, func(it item) bool {
		var r node.Report
		if err = json.Unmarshal(it.val.([]byte), &r); err != nil {
			err = fmt.Errorf("decode report: %w", err)
			return false
		}
		return fn(&r)
	})
	return err
}
