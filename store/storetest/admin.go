package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// testAdmin: accounts in username order, profile and cross-signing
// deletion, invite tokens, node rules, settings, closed rooms, and the
// audit log in both directions with a cursor.
// Kept whole (over 80 lines): a conformance scenario, whose steps build on each other in order.
func testAdmin(t *testing.T, s Store) {
	at := time.Unix(1_700_000_000, 0).UTC()
	nodeA, nodeB := node.NodeID("12D3KooWA"), node.NodeID("12D3KooWB")
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, u := range []string{"carol", "alice", "bob"} {
			if err := tx.PutAccount(&node.Account{Username: u, CreatedAt: at, Admin: u == "alice"}); err != nil {
				return err
			}
		}
		if err := tx.PutProfile(&node.User{ID: "alice@n", Username: "alice", DisplayName: "A"}); err != nil {
			return err
		}
		if err := tx.PutCrossSigning(&node.CrossSigning{User: "alice@n", Master: []byte(`{}`)}); err != nil {
			return err
		}
		for _, h := range []string{"bb", "aa"} {
			if err := tx.PutInviteToken(&node.InviteToken{ID: h, Hash: h, UsesAllowed: 2, CreatedAt: at}); err != nil {
				return err
			}
		}
		for _, r := range []*node.NodeRule{{Node: nodeB, Action: node.RuleAllow}, {Node: nodeA, Action: node.RuleBlock}} {
			if err := tx.PutNodeRule(r); err != nil {
				return err
			}
		}
		if err := tx.PutSetting("federation", "allowlist"); err != nil {
			return err
		}
		if err := tx.PutClosedRoom(&node.ClosedRoom{Room: "r1", Reason: "spam"}); err != nil {
			return err
		}
		for id := int64(1); id <= 5; id++ {
			if err := tx.PutAudit(&node.AuditEntry{ID: id * 1000, Actor: "operator", Action: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		var names []string
		if err := tx.EachAccount(func(a *node.Account) bool { names = append(names, a.Username); return true }); err != nil {
			return err
		}
		if len(names) != 3 || names[0] != "alice" || names[2] != "carol" {
			t.Errorf("accounts = %v, want alice, bob, carol", names)
		}
		it, err := tx.InviteToken("aa")
		if err != nil || it.UsesAllowed != 2 {
			t.Errorf("invite token = %+v, %v", it, err)
		}
		var hashes []string
		if err := tx.EachInviteToken(func(it *node.InviteToken) bool { hashes = append(hashes, it.Hash); return true }); err != nil {
			return err
		}
		if len(hashes) != 2 || hashes[0] != "aa" {
			t.Errorf("invite tokens = %v", hashes)
		}
		var rules []node.NodeRule
		if err := tx.EachNodeRule(func(r *node.NodeRule) bool { rules = append(rules, *r); return true }); err != nil {
			return err
		}
		if len(rules) != 2 || rules[0].Node != nodeA || rules[0].Action != node.RuleBlock {
			t.Errorf("node rules = %+v", rules)
		}
		if v, err := tx.Setting("federation"); err != nil || v != "allowlist" {
			t.Errorf("setting = %q, %v", v, err)
		}
		if _, err := tx.Setting("nothing"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("missing setting: %v, want ErrNotFound", err)
		}
		var closed []node.RoomID
		if err := tx.EachClosedRoom(func(c *node.ClosedRoom) bool { closed = append(closed, c.Room); return true }); err != nil {
			return err
		}
		if len(closed) != 1 || closed[0] != "r1" {
			t.Errorf("closed rooms = %v", closed)
		}
		var newest []int64
		if err := tx.EachAudit(0, func(e *node.AuditEntry) bool { newest = append(newest, e.ID); return len(newest) < 2 }); err != nil {
			return err
		}
		if len(newest) != 2 || newest[0] != 5000 || newest[1] != 4000 {
			t.Errorf("newest audit = %v, want 5000 4000", newest)
		}
		var page []int64
		if err := tx.EachAudit(3000, func(e *node.AuditEntry) bool { page = append(page, e.ID); return true }); err != nil {
			return err
		}
		if len(page) != 2 || page[0] != 2000 || page[1] != 1000 {
			t.Errorf("audit before 3000 = %v, want 2000 1000", page)
		}
		var oldest []int64
		if err := tx.EachAuditOldest(func(e *node.AuditEntry) bool { oldest = append(oldest, e.ID); return true }); err != nil {
			return err
		}
		if len(oldest) != 5 || oldest[0] != 1000 {
			t.Errorf("oldest audit = %v", oldest)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, err := range []error{
			tx.DeleteProfile("alice@n"), tx.DeleteCrossSigning("alice@n"), tx.DeleteInviteToken("aa"),
			tx.DeleteNodeRule(nodeA), tx.DeleteClosedRoom("r1"), tx.DeleteAudit(1000),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx node.Tx) error {
		if _, err := tx.Profile("alice@n"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("deleted profile: %v", err)
		}
		if _, err := tx.CrossSigning("alice@n"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("deleted cross-signing: %v", err)
		}
		if _, err := tx.InviteToken("aa"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("deleted token: %v", err)
		}
		n := 0
		_ = tx.EachNodeRule(func(*node.NodeRule) bool { n++; return true })
		_ = tx.EachClosedRoom(func(*node.ClosedRoom) bool { n++; return true })
		_ = tx.EachAuditOldest(func(*node.AuditEntry) bool { n++; return true })
		if n != 1+0+4 {
			t.Errorf("%d records left after deletes, want 5", n)
		}
		return nil
	})
}

// testReports: reports by ID, newest first with a cursor, rewritten in
// place and deleted.
func testReports(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		for id := int64(1); id <= 4; id++ {
			if err := tx.PutReport(&node.Report{ID: id * 10, Reporter: "a@n", Reason: "spam"}); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		r, err := tx.Report(20)
		if err != nil {
			return err
		}
		r.Resolved = true
		if err := tx.PutReport(r); err != nil {
			return err
		}
		return tx.DeleteReport(40)
	})
	mustView(t, s, func(tx node.Tx) error {
		if r, err := tx.Report(20); err != nil || !r.Resolved || r.Reason != "spam" {
			t.Errorf("report 20 = %+v, %v", r, err)
		}
		if _, err := tx.Report(40); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("deleted report: %v", err)
		}
		var ids []int64
		if err := tx.EachReport(0, func(r *node.Report) bool { ids = append(ids, r.ID); return true }); err != nil {
			return err
		}
		if len(ids) != 3 || ids[0] != 30 || ids[2] != 10 {
			t.Errorf("reports = %v, want 30 20 10", ids)
		}
		ids = nil
		if err := tx.EachReport(30, func(r *node.Report) bool { ids = append(ids, r.ID); return true }); err != nil {
			return err
		}
		if len(ids) != 2 || ids[0] != 20 {
			t.Errorf("reports before 30 = %v, want 20 10", ids)
		}
		return nil
	})
}
