package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The federation policy is the operator's say over which nodes this node
// federates with (docs/operations.md): in FederationOpen mode every node
// but the blocked ones, in FederationAllowlist mode only the allowed
// ones. The rule lives here; transports ask NodeAllowed at their doors
// (p2p's connection gater, topic validators and sync), and the node
// refuses a disallowed node's events in IngestAsync whichever way they
// came, relayed by a third node included.

// PolicyEnforcer is implemented by a Federation that can act on a policy
// change at once: close its connections to nodes no longer allowed.
type PolicyEnforcer interface {
	PolicyChanged()
}

// NodeAllowed reports whether this node federates with id.
func (n *Node) NodeAllowed(id NodeID) bool {
	if id == n.ID() {
		return true
	}
	return n.admin.policy.Load().allowed(id)
}

// FederationMode is the federation policy's mode.
func (n *Node) FederationMode() string { return n.admin.policy.Load().mode }

// errNodeRefused answers an event or a request of a node the policy
// refuses.
func errNodeRefused(id NodeID) error {
	return &Error{Kind: ErrPolicy, Message: fmt.Sprintf("node %s is not allowed to federate with this node", id)}
}

// Policy is the federation policy as admins see it.
type Policy struct {
	Mode  string      `json:"mode"`
	Rules []*NodeRule `json:"rules"`
}

// FederationPolicy returns the mode and the rules, in node ID order.
func (n *Node) FederationPolicy(ctx context.Context) (*Policy, error) {
	p := &Policy{Mode: n.FederationMode(), Rules: []*NodeRule{}}
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachNodeRule(func(r *NodeRule) bool { p.Rules = append(p.Rules, r); return true })
	})
	if err != nil {
		return nil, fmt.Errorf("federation policy: %w", err)
	}
	return p, nil
}

// SetNodeRule blocks or allows a node (action RuleBlock or RuleAllow), or
// clears its rule (action ""). A node blocked here has its connections
// closed at once.
func (n *Node) SetNodeRule(ctx context.Context, actor string, id NodeID, action, note string) error {
	if _, err := id.PublicKey(); err != nil {
		return errorf(ErrInvalid, "not a node ID: "+string(id))
	}
	if id == n.ID() {
		return errorf(ErrInvalid, "this is the node's own ID")
	}
	if action != RuleBlock && action != RuleAllow && action != "" {
		return errorf(ErrInvalid, "a node rule is block or allow")
	}
	if err := validNote(note); err != nil {
		return err
	}
	a := n.admin
	a.polMu.Lock()
	defer a.polMu.Unlock()
	old := a.policy.Load()
	if _, has := old.rules[id]; !has && action != "" && len(old.rules) >= MaxNodeRules {
		return errorf(ErrConflict, fmt.Sprintf("the block and allow lists hold %d nodes, the most they may", MaxNodeRules))
	}
	if _, has := old.rules[id]; !has && action == "" {
		return errorf(ErrNotFound, "this node has no rule")
	}
	auditAction := "node." + action
	if action == "" {
		auditAction = "node.clear"
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		var err error
		if action == "" {
			err = tx.DeleteNodeRule(id)
		} else {
			err = tx.PutNodeRule(&NodeRule{Node: id, Action: action, Note: note, At: n.now(), By: actor})
		}
		if err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: auditAction, Target: string(id), Detail: note})
	})
	if err != nil {
		return fmt.Errorf("node rule: %w", err)
	}
	rules := maps.Clone(old.rules)
	if action == "" {
		delete(rules, id)
	} else {
		rules[id] = action
	}
	a.policy.Store(&fedPolicy{mode: old.mode, rules: rules})
	n.policyChanged()
	n.pruneAudit(ctx)
	return n.WaitDurable(ctx)
}

// SetFederationMode switches between FederationOpen and
// FederationAllowlist; it is stored, and outlives a restart unless the
// node is started with another mode.
func (n *Node) SetFederationMode(ctx context.Context, actor, mode string) error {
	if mode != FederationOpen && mode != FederationAllowlist {
		return errorf(ErrInvalid, "the federation mode is open or allowlist")
	}
	a := n.admin
	a.polMu.Lock()
	defer a.polMu.Unlock()
	old := a.policy.Load()
	err := n.store.Update(ctx, func(tx Tx) error {
		if err := tx.PutSetting(settingFederation, mode); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "federation.mode", Target: mode})
	})
	if err != nil {
		return fmt.Errorf("federation mode: %w", err)
	}
	a.policy.Store(&fedPolicy{mode: mode, rules: old.rules})
	n.policyChanged()
	n.pruneAudit(ctx)
	return n.WaitDurable(ctx)
}

// policyChanged has the transport close what the policy no longer allows.
func (n *Node) policyChanged() {
	if pe, ok := n.federation().(PolicyEnforcer); ok {
		pe.PolicyChanged()
	}
	n.log.Info("federation policy changed", "mode", n.FederationMode())
}

// roomClosed reports whether the operator closed a room on this node.
func (n *Node) roomClosed(id RoomID) bool {
	return (*n.admin.closed.Load())[id]
}

var (
	errRoomClosed      = errorf(ErrForbidden, "this room is closed on this node")
	errUserNodeRefused = errorf(ErrForbidden, "this node does not federate with that user's node")
)

// AdminRoom is a room as node admins see it.
type AdminRoom struct {
	ID           RoomID `json:"id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Visibility   string `json:"visibility"`
	MemberCount  int    `json:"memberCount"`
	LocalMembers int    `json:"localMembers"`
	CreatedBy    UserID `json:"createdBy"`
	Encrypted    bool   `json:"encrypted"`
	Closed       bool   `json:"closed,omitempty"`
}

// AdminRooms lists the rooms this node holds and the ones closed here, by
// ID. A DM's name is left out: it is the two users' business.
func (n *Node) AdminRooms(ctx context.Context) ([]*AdminRoom, error) {
	out := []*AdminRoom{}
	closed := *n.admin.closed.Load()
	for id, r := range n.roomEntries() {
		r.mu.Lock()
		s := r.state
		if s.Created() {
			ar := &AdminRoom{ID: id, Kind: s.Kind, Visibility: s.Visibility, MemberCount: s.MemberCount(),
				LocalMembers: len(r.index().local), CreatedBy: s.CreatedBy, Encrypted: s.Encrypted, Closed: closed[id]}
			if s.Kind != KindDM {
				ar.Name = s.Name
			}
			out = append(out, ar)
		}
		r.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b *AdminRoom) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// CloseRoom closes a room on this node: its local members and invitees
// leave it (membership events every node applies), and this node no
// longer serves it: it stops following its topic, refuses its events and
// sync requests for it, leaves it out of the public directory, and local
// users cannot join it again. Its stored history stays on disk (for the
// operator, and for a later ReopenRoom); the room goes on elsewhere.
func (n *Node) CloseRoom(ctx context.Context, actor string, id RoomID, reason string) (int, error) {
	if err := validNote(reason); err != nil {
		return 0, err
	}
	r := n.room(id, false)
	if r == nil || !ValidOpaqueID(string(id)) {
		return 0, errorf(ErrNotFound, "no such room")
	}
	r.mu.Lock()
	if !r.state.Created() {
		r.mu.Unlock()
		return 0, errorf(ErrNotFound, "no such room")
	}
	name := r.state.Name
	var local []UserID
	for u := range r.state.History {
		if st, _ := r.state.At(u, nil); n.IsLocal(u) && (st == MemberJoin || st == MemberInvite) {
			local = append(local, u)
		}
	}
	r.mu.Unlock()
	slices.Sort(local)
	a := n.admin
	a.polMu.Lock()
	if len(*a.closed.Load()) >= MaxClosedRooms {
		a.polMu.Unlock()
		return 0, errorf(ErrConflict, fmt.Sprintf("%d rooms are closed on this node, the most there may be", MaxClosedRooms))
	}
	a.polMu.Unlock()
	// The members leave first, while the room is still served, so their
	// leave events reach the room's other nodes.
	left := 0
	for _, u := range local {
		r.mu.Lock()
		st, _ := r.state.At(u, nil)
		if st != MemberJoin && st != MemberInvite {
			r.mu.Unlock()
			continue
		}
		if _, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: u, Membership: MemberLeave}); err != nil {
			return left, fmt.Errorf("close room %s: remove %s: %w", id, u, err)
		}
		left++
	}
	a.polMu.Lock()
	err := n.store.Update(ctx, func(tx Tx) error {
		if err := tx.PutClosedRoom(&ClosedRoom{Room: id, Name: name, Reason: reason, At: n.now(), By: actor}); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "room.close", Target: string(id), Room: id,
			Detail: fmt.Sprintf("%d local members removed; %s", left, reason)})
	})
	if err == nil {
		closed := maps.Clone(*a.closed.Load())
		closed[id] = true
		a.closed.Store(&closed)
	}
	a.polMu.Unlock()
	if err != nil {
		return left, fmt.Errorf("close room %s: %w", id, err)
	}
	n.federation().RoomsChanged()
	n.pruneAudit(ctx)
	return left, n.WaitDurable(ctx)
}

// ReopenRoom undoes CloseRoom: the node serves the room again and local
// users may join it (nobody is brought back).
func (n *Node) ReopenRoom(ctx context.Context, actor string, id RoomID) error {
	a := n.admin
	a.polMu.Lock()
	defer a.polMu.Unlock()
	if !(*a.closed.Load())[id] {
		return errorf(ErrNotFound, "this room is not closed")
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		if err := tx.DeleteClosedRoom(id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "room.reopen", Target: string(id), Room: id})
	})
	if err != nil {
		return fmt.Errorf("reopen room %s: %w", id, err)
	}
	closed := maps.Clone(*a.closed.Load())
	delete(closed, id)
	a.closed.Store(&closed)
	n.federation().RoomsChanged()
	n.pruneAudit(ctx)
	return n.WaitDurable(ctx)
}

// ClosedRooms lists the rooms closed on this node.
func (n *Node) ClosedRooms(ctx context.Context) ([]*ClosedRoom, error) {
	out := []*ClosedRoom{}
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachClosedRoom(func(c *ClosedRoom) bool { out = append(out, c); return true })
	})
	if err != nil {
		return nil, fmt.Errorf("closed rooms: %w", err)
	}
	sortNewest(out, func(c *ClosedRoom) time.Time { return c.At })
	return out, nil
}
