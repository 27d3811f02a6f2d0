package node

import (
	"context"
	"fmt"
)

// The audit log keeps what node admins and room moderators did on this
// node, for the operator to read (`hearth admin audit`, the admin page).
// It is bounded twice: entries older than AdminConfig.AuditRetention are
// dropped, and past AdminConfig.AuditMax entries the oldest go.

// Record appends an entry to the audit log. Room moderation (kicks, bans,
// deletions by moderators of this node's users) records itself through
// it; Actor, Action and TS are required (TS 0 means now).
func (n *Node) Record(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return errorf(ErrInvalid, "an audit entry needs an actor and an action")
	}
	if len(e.Detail) > MaxNoteLen {
		e.Detail = e.Detail[:MaxNoteLen]
	}
	err := n.store.Update(ctx, func(tx Tx) error { return n.auditTx(tx, &e) })
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	n.pruneAudit(ctx)
	return nil
}

// auditTx writes an entry inside a caller's transaction (so the action
// and its record commit together); the caller runs pruneAudit after.
func (n *Node) auditTx(tx Tx, e *AuditEntry) error {
	a := n.admin
	now := n.now()
	if e.TS == 0 {
		e.TS = now.UnixMilli()
	}
	if e.ID == 0 { // the store may run a transaction's function again
		e.ID = n.uniqueID()
		a.auditMu.Lock()
		a.auditCount++
		a.auditMu.Unlock()
	}
	return tx.PutAudit(e)
}

// audit records an action in its own transaction, logging a failure (the
// action itself is done by then).
func (n *Node) audit(ctx context.Context, actor, action, target, detail string) {
	if err := n.Record(ctx, AuditEntry{Actor: actor, Action: action, Target: target, Detail: detail}); err != nil {
		n.log.Error("audit log", "action", action, "target", target, "err", err)
	}
}

// pruneAudit drops entries past the retention or the count cap.
func (n *Node) pruneAudit(ctx context.Context) {
	a := n.admin
	a.auditMu.Lock()
	excess := a.auditCount - a.auditMax
	a.auditMu.Unlock()
	cutoff := n.now().Add(-a.retention).UnixMilli()
	var drop []int64
	_ = n.store.View(ctx, func(tx Tx) error {
		return tx.EachAuditOldest(func(e *AuditEntry) bool {
			if len(drop) < excess || e.TS < cutoff {
				drop = append(drop, e.ID)
				return true
			}
			return false
		})
	})
	if len(drop) == 0 {
		return
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		for _, id := range drop {
			if err := tx.DeleteAudit(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.log.Error("prune audit log", "err", err)
		return
	}
	a.auditMu.Lock()
	a.auditCount -= len(drop)
	a.auditMu.Unlock()
}

// Audit lists up to limit entries older than before (0: the newest),
// newest first, and whether older ones exist.
func (n *Node) Audit(ctx context.Context, before int64, limit int) ([]*AuditEntry, bool, error) {
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	out := []*AuditEntry{}
	more := false
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachAudit(before, func(e *AuditEntry) bool {
			if len(out) == limit {
				more = true
				return false
			}
			out = append(out, e)
			return true
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("audit log: %w", err)
	}
	return out, more, nil
}
