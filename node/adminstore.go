package node

import "time"

// This file holds the records of node administration (docs/operations.md):
// invite tokens, the federation policy, rooms closed on this node and the
// audit log, and AdminTx, the part of Tx that stores them.

// InviteToken lets one or more people register while the node's
// registration mode is "token". Only the token's hash is stored; the
// token itself is shown once, when it is created.
type InviteToken struct {
	// ID names the token in lists and for revocation: the first
	// characters of its hash, never enough to register with.
	ID string `json:"id"`
	// Hash is the SHA-256 (hex) of the token; the store's key.
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	// ExpiresAt is when the token stops working; zero for never.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// UsesAllowed is how many registrations it allows; 0 for any number.
	UsesAllowed int `json:"usesAllowed"`
	// Uses counts the registrations made with it.
	Uses int    `json:"uses"`
	Note string `json:"note,omitempty"`
}

// Usable reports whether the token still admits a registration at t.
func (t *InviteToken) Usable(at time.Time) bool {
	if !t.ExpiresAt.IsZero() && !at.Before(t.ExpiresAt) {
		return false
	}
	return t.UsesAllowed == 0 || t.Uses < t.UsesAllowed
}

// Federation policy modes (docs/operations.md, "Federation policy").
const (
	// FederationOpen federates with every node but the blocked ones.
	FederationOpen = "open"
	// FederationAllowlist federates only with the allowed nodes.
	FederationAllowlist = "allowlist"
)

// Node rule actions.
const (
	RuleBlock = "block"
	RuleAllow = "allow"
)

// NodeRule is the operator's decision about one other node.
type NodeRule struct {
	Node   NodeID    `json:"node"`
	Action string    `json:"action"` // RuleBlock or RuleAllow
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
}

// ClosedRoom is a room this node's operator closed here: its local
// members were removed and the node no longer serves it.
type ClosedRoom struct {
	Room   RoomID    `json:"room"`
	Name   string    `json:"name,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
}

// AuditEntry is one administrative action taken on this node: by the
// node's operator or a node admin, or by a room moderator acting through
// this node (Record).
type AuditEntry struct {
	// ID orders entries: nanoseconds since the epoch, made unique.
	ID int64 `json:"id"`
	// TS is when the action was taken, in milliseconds.
	TS int64 `json:"ts"`
	// Actor is who acted: a user ID, or "operator" for the admin socket.
	Actor string `json:"actor"`
	// Action names what was done ("user.lock", "node.block", "room.kick").
	Action string `json:"action"`
	// Target is what it was done to (a user, node, room or token ID).
	Target string `json:"target,omitempty"`
	// Room is set for room moderation actions.
	Room   RoomID `json:"room,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// AdminTx stores the records of node administration. Getters return an
// error wrapping ErrNotFound for absent keys.
type AdminTx interface {
	// EachAccount visits local accounts in username order until fn
	// returns false.
	EachAccount(fn func(*Account) bool) error
	// DeleteProfile removes a user's profile.
	DeleteProfile(id UserID) error
	// DeleteCrossSigning removes a user's cross-signing keys.
	DeleteCrossSigning(u UserID) error

	// Invite tokens, by hash.
	InviteToken(hash string) (*InviteToken, error)
	PutInviteToken(t *InviteToken) error
	DeleteInviteToken(hash string) error
	// EachInviteToken visits tokens in hash order.
	EachInviteToken(fn func(*InviteToken) bool) error

	// The federation policy: one rule per node, and named settings.
	PutNodeRule(r *NodeRule) error
	DeleteNodeRule(id NodeID) error
	// EachNodeRule visits rules in node ID order.
	EachNodeRule(fn func(*NodeRule) bool) error
	// Setting returns a named node setting ("federation").
	Setting(name string) (string, error)
	PutSetting(name, value string) error

	// Rooms closed on this node.
	PutClosedRoom(c *ClosedRoom) error
	DeleteClosedRoom(id RoomID) error
	EachClosedRoom(fn func(*ClosedRoom) bool) error

	// The audit log, keyed by entry ID.
	PutAudit(e *AuditEntry) error
	DeleteAudit(id int64) error
	// EachAudit visits entries with an ID below before (0: all), newest
	// first, until fn returns false.
	EachAudit(before int64, fn func(*AuditEntry) bool) error
	// EachAuditOldest visits entries oldest first until fn returns false.
	EachAuditOldest(fn func(*AuditEntry) bool) error

	// Users' reports to the node's admins (reports.go), keyed by ID.
	Report(id int64) (*Report, error)
	PutReport(r *Report) error
	DeleteReport(id int64) error
	// EachReport visits reports with an ID below before (0: all), newest
	// first, until fn returns false.
	EachReport(before int64, fn func(*Report) bool) error
}
