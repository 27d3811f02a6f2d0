package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Report is a user's report of a message, a user or a room to the admins
// of the user's node (API.md §8, POST /api/v1/reports). Admins list and
// resolve reports (`hearth admin reports`, the admin page).
type Report struct {
	// ID orders reports: nanoseconds since the epoch, made unique.
	ID       int64   `json:"id,string"`
	TS       int64   `json:"ts"`
	Reporter UserID  `json:"reporter"`
	Room     RoomID  `json:"room,omitempty"`
	Message  EventID `json:"message,omitempty"`
	User     UserID  `json:"user,omitempty"`
	Reason   string  `json:"reason"`
	// Body is the reported message's text when the report was made (not
	// for encrypted rooms), so admins see what was reported even after
	// an edit or a deletion.
	Body       string `json:"body,omitempty"`
	Resolved   bool   `json:"resolved,omitempty"`
	ResolvedBy string `json:"resolvedBy,omitempty"`
	ResolvedAt int64  `json:"resolvedAt,omitempty"`
	Note       string `json:"note,omitempty"`
}

// ReportParams is what a user reports.
type ReportParams struct {
	Room    RoomID
	Message EventID
	User    UserID
	Reason  string
}

// Caps on reports (docs/security.md).
const (
	// MaxReportReason bounds a report's reason, in bytes.
	MaxReportReason = 1000
	// MaxReports bounds stored reports; past it the oldest resolved ones
	// go, and while every stored report is open new ones are refused.
	MaxReports = 10000
	// ReportsPerHour bounds one user's reports.
	ReportsPerHour = 20
	// MaxReportPage bounds one page of reports.
	MaxReportPage = 200
)

// reportLimiter counts each user's reports in the last hour. It holds at
// most one entry per local user who reported within the hour.
type reportLimiter struct {
	mu   sync.Mutex
	last map[UserID][]int64 // report times (ms), oldest first
}

func (l *reportLimiter) allow(u UserID, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[UserID][]int64{}
	}
	ts := l.last[u]
	for len(ts) > 0 && now-ts[0] > 3600_000 {
		ts = ts[1:]
	}
	if len(ts) >= ReportsPerHour {
		l.last[u] = ts
		return false
	}
	l.last[u] = append(ts, now)
	// Forget users with nothing in the window, so the map does not keep
	// every reporter ever.
	for o, ots := range l.last {
		if len(ots) > 0 && now-ots[len(ots)-1] > 3600_000 {
			delete(l.last, o)
		}
	}
	return true
}

// FileReport stores a local user's report for the node's admins. The
// reporter must be able to see what they report: a room they are in (or a
// public one), a message they may read.
func (n *Node) FileReport(ctx context.Context, reporter UserID, p ReportParams) (*Report, error) {
	reason := strings.TrimSpace(p.Reason)
	switch {
	case !n.IsLocal(reporter):
		return nil, errorf(ErrForbidden, "only this node's users report to it")
	case reason == "":
		return nil, errorf(ErrInvalid, "a report needs a reason")
	case len(reason) > MaxReportReason || !utf8.ValidString(reason):
		return nil, errorf(ErrInvalid, fmt.Sprintf("a reason is at most %d bytes of text", MaxReportReason))
	case p.Room == "" && p.Message == "" && p.User == "":
		return nil, errorf(ErrInvalid, "a report names a room, a message or a user")
	case p.Message != "" && p.Room == "":
		return nil, errorf(ErrInvalid, "a reported message needs its room")
	}
	r := &Report{Reporter: reporter, Room: p.Room, Message: p.Message, User: p.User, Reason: reason}
	if p.User != "" {
		if _, _, ok := p.User.Split(); !ok {
			return nil, errorf(ErrInvalid, "bad user id")
		}
	}
	if p.Room != "" {
		if _, err := n.Room(ctx, reporter, p.Room); err != nil {
			return nil, err
		}
	}
	if p.Message != "" {
		m, err := n.Message(ctx, reporter, p.Room, p.Message)
		if err != nil {
			return nil, err
		}
		r.Body = m.Body
		if r.User == "" {
			r.User = m.Sender
		}
	}
	now := n.now()
	if !n.admin.reports.allow(reporter, now.UnixMilli()) {
		return nil, errorf(ErrRateLimited, fmt.Sprintf("at most %d reports an hour", ReportsPerHour))
	}
	r.TS = now.UnixMilli()
	err := n.store.Update(ctx, func(tx Tx) error {
		var count int
		var oldestResolved int64
		if err := tx.EachReport(0, func(o *Report) bool {
			count++
			if o.Resolved {
				oldestResolved = o.ID
			}
			return true
		}); err != nil {
			return err
		}
		if count >= MaxReports {
			if oldestResolved == 0 {
				return errorf(ErrRateLimited, "the node's admins have too many open reports; try again later")
			}
			if err := tx.DeleteReport(oldestResolved); err != nil {
				return err
			}
		}
		if r.ID == 0 {
			r.ID = n.uniqueID()
		}
		return tx.PutReport(r)
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	n.log.Info("user report filed", "reporter", reporter, "room", r.Room, "user", r.User)
	return r, nil
}

// uniqueID is an ID from the clock: nanoseconds, made unique within the
// process (audit entries and reports).
func (n *Node) uniqueID() int64 {
	a := n.admin
	a.auditMu.Lock()
	defer a.auditMu.Unlock()
	id := max(n.now().UnixNano(), a.lastID+1)
	a.lastID = id
	return id
}

// Reports lists up to limit reports older than before (0: the newest),
// newest first, open ones only unless all is set; and whether more follow.
func (n *Node) Reports(ctx context.Context, all bool, before int64, limit int) ([]*Report, bool, error) {
	if limit <= 0 || limit > MaxReportPage {
		limit = MaxReportPage
	}
	out := []*Report{}
	more := false
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachReport(before, func(r *Report) bool {
			if r.Resolved && !all {
				return true
			}
			if len(out) == limit {
				more = true
				return false
			}
			out = append(out, r)
			return true
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("reports: %w", err)
	}
	return out, more, nil
}

// ResolveReport marks a report handled, with an optional note.
func (n *Node) ResolveReport(ctx context.Context, actor string, id int64, note string) error {
	if err := validNote(note); err != nil {
		return err
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		r, err := tx.Report(id)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "no such report")
		} else if err != nil {
			return err
		}
		if r.Resolved {
			return errorf(ErrConflict, "this report is resolved already")
		}
		r.Resolved, r.ResolvedBy, r.ResolvedAt, r.Note = true, actor, n.now().UnixMilli(), note
		if err := tx.PutReport(r); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "report.resolve", Target: fmt.Sprint(id), Room: r.Room, Detail: note})
	})
	if err != nil {
		return fmt.Errorf("resolve report: %w", err)
	}
	n.pruneAudit(ctx)
	return n.WaitDurable(ctx)
}
