package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Registration modes (API.md §8).
const (
	RegistrationOpen   = "open"
	RegistrationToken  = "token"
	RegistrationClosed = "closed"
)

// Operator is the actor the audit log names for requests that came
// through the admin socket (the node's operator, on its machine).
const Operator = "operator"

// AdminConfig configures node administration. Zero fields take the
// defaults.
type AdminConfig struct {
	// Registration is RegistrationOpen (the default), RegistrationToken
	// or RegistrationClosed.
	Registration string
	// Federation, when set, is stored as the federation mode at start
	// (FederationOpen or FederationAllowlist); empty keeps the stored
	// mode, which is FederationOpen on a new node.
	Federation string
	// AuditRetention drops audit entries older than this; 180 days.
	AuditRetention time.Duration
	// AuditMax is the most audit entries kept; 100,000.
	AuditMax int
}

// Caps on what node admins control (docs/security.md).
const (
	// MaxInviteTokens bounds stored invite tokens, spent ones included
	// until they are pruned.
	MaxInviteTokens = 1000
	// MaxInviteUses bounds one token's uses.
	MaxInviteUses = 100000
	// MaxInviteTTL bounds a token's lifetime.
	MaxInviteTTL = 366 * 24 * time.Hour
	// MaxNodeRules bounds the block and allow lists together.
	MaxNodeRules = 10000
	// MaxClosedRooms bounds the rooms closed on this node.
	MaxClosedRooms = 10000
	// MaxNoteLen bounds notes, reasons and audit details, in bytes.
	MaxNoteLen = 500
	// MaxAuditPage bounds one page of the audit log.
	MaxAuditPage = 500
)

// adminState is the node's administrative state held in memory: the
// registration mode, the federation policy and the rooms closed here
// (read on hot paths, so kept as immutable snapshots behind atomic
// pointers), and the audit log's bookkeeping. Its mutexes are leaves in
// the lock order, except regMu, which is held around a store Update.
type adminState struct {
	registration string

	regMu sync.Mutex // serialises registrations: the first account, token uses

	polMu  sync.Mutex // serialises policy and closed-room changes
	policy atomic.Pointer[fedPolicy]
	closed atomic.Pointer[map[RoomID]bool]

	auditMu    sync.Mutex
	lastID     int64 // the newest audit entry's or report's ID (uniqueID)
	auditCount int
	retention  time.Duration
	auditMax   int

	reports reportLimiter
}

// fedPolicy is one version of the federation policy; never changed once
// published.
type fedPolicy struct {
	mode  string
	rules map[NodeID]string
}

func (p *fedPolicy) allowed(id NodeID) bool {
	switch p.rules[id] {
	case RuleBlock:
		return false
	case RuleAllow:
		return true
	}
	return p.mode != FederationAllowlist
}

// loadAdmin reads the federation policy, the closed rooms and the audit
// log's size, and applies the configured federation mode.
func (n *Node) loadAdmin(ctx context.Context) error {
	c := n.cfg.Admin
	switch c.Registration {
	case "":
		c.Registration = RegistrationOpen
	case RegistrationOpen, RegistrationToken, RegistrationClosed:
	default:
		return fmt.Errorf("registration mode %q: %w (open, token or closed)", c.Registration, ErrInvalid)
	}
	if c.Federation != "" && c.Federation != FederationOpen && c.Federation != FederationAllowlist {
		return fmt.Errorf("federation mode %q: %w (open or allowlist)", c.Federation, ErrInvalid)
	}
	a := &adminState{
		registration: c.Registration,
		retention:    c.AuditRetention,
		auditMax:     c.AuditMax,
	}
	if a.retention == 0 {
		a.retention = 180 * 24 * time.Hour
	}
	if a.auditMax == 0 {
		a.auditMax = 100000
	}
	n.admin = a
	if c.Federation != "" {
		err := n.store.Update(ctx, func(tx Tx) error { return tx.PutSetting(settingFederation, c.Federation) })
		if err != nil {
			return fmt.Errorf("store federation mode: %w", err)
		}
	}
	pol := &fedPolicy{mode: FederationOpen, rules: map[NodeID]string{}}
	closed := map[RoomID]bool{}
	err := n.store.View(ctx, func(tx Tx) error {
		mode, err := tx.Setting(settingFederation)
		switch {
		case err == nil:
			pol.mode = mode
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if err := tx.EachNodeRule(func(r *NodeRule) bool {
			pol.rules[r.Node] = r.Action
			return true
		}); err != nil {
			return err
		}
		if err := tx.EachClosedRoom(func(c *ClosedRoom) bool {
			closed[c.Room] = true
			return true
		}); err != nil {
			return err
		}
		if err := tx.EachReport(0, func(r *Report) bool {
			a.lastID = max(a.lastID, r.ID)
			return false
		}); err != nil {
			return err
		}
		return tx.EachAuditOldest(func(e *AuditEntry) bool {
			a.auditCount++
			a.lastID = max(a.lastID, e.ID)
			return true
		})
	})
	if err != nil {
		return fmt.Errorf("load admin state: %w", err)
	}
	a.policy.Store(pol)
	a.closed.Store(&closed)
	return nil
}

const settingFederation = "federation"

// RegistrationMode is the node's registration mode.
func (n *Node) RegistrationMode() string { return n.admin.registration }

// errLocked answers a locked user's correct password.
var errLocked = errorf(ErrForbidden, "this account is locked; ask the node's admins")

// validNote checks an admin's free text: a note, a reason.
func validNote(s string) error {
	if len(s) > MaxNoteLen {
		return errorf(ErrTooLarge, fmt.Sprintf("notes and reasons are at most %d bytes", MaxNoteLen))
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return errorf(ErrInvalid, "notes and reasons must be UTF-8 text")
	}
	return nil
}

// IsNodeAdmin reports whether a local user is a node admin.
func (n *Node) IsNodeAdmin(ctx context.Context, u UserID) (bool, error) {
	if !n.IsLocal(u) {
		return false, nil
	}
	username, _, _ := u.Split()
	var admin bool
	err := n.store.View(ctx, func(tx Tx) error {
		a, err := tx.Account(username)
		if err != nil {
			return err
		}
		admin = a.Admin && !a.Locked && !a.Deleted
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check node admin: %w", err)
	}
	return admin, nil
}

// RequireNodeAdmin returns ErrForbidden unless u is a node admin.
func (n *Node) RequireNodeAdmin(ctx context.Context, u UserID) error {
	ok, err := n.IsNodeAdmin(ctx, u)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrForbidden, "only node admins may do this")
	}
	return nil
}

// sortNewest sorts by a time, newest first.
func sortNewest[T any](s []T, at func(T) time.Time) {
	slices.SortStableFunc(s, func(a, b T) int { return at(b).Compare(at(a)) })
}
