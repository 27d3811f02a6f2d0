package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Moderation actions of room members (API.md §8): kick, ban, unban, role
// changes and ownership transfer, pins. Each is one signed state event,
// judged by RoomState.Authorize here and on every other node; what this
// file adds are the checks that give a local caller a clear answer
// before an event is made, and the no-ops (banning a banned user) that
// should not make one.

// validReason checks a kick's or ban's reason.
func validReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > MaxReasonLen || !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) {
		return "", errorf(ErrInvalid, fmt.Sprintf("reason must be at most %d bytes of text", MaxReasonLen))
	}
	return reason, nil
}

// moderated returns the room entry locked for an action of actor on
// target: the room must exist and actor be joined.
func (n *Node) moderated(actor UserID, id RoomID, target UserID) (*roomEntry, error) {
	if _, _, ok := target.Split(); !ok {
		return nil, errorf(ErrInvalid, "bad user id")
	}
	r, err := n.memberRoom(actor, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if !r.state.IsMember(actor) {
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "not a member of this room")
	}
	if r.state.Kind == KindDM {
		r.mu.Unlock()
		return nil, errorf(ErrForbidden, "direct message rooms have no moderation")
	}
	return r, nil
}

// Kick removes target (a member or an invitee) from a room. They may
// join again (a public room) or be invited again.
func (n *Node) Kick(ctx context.Context, actor UserID, id RoomID, target UserID, reason string) error {
	return n.remove(ctx, actor, id, target, reason, MemberKick)
}

// Ban removes target from a room, if they are in it, and keeps them out:
// they cannot join or be invited, from any node, until Unban. A user who
// never was in the room may be banned too.
func (n *Node) Ban(ctx context.Context, actor UserID, id RoomID, target UserID, reason string) error {
	return n.remove(ctx, actor, id, target, reason, MemberBan)
}

func (n *Node) remove(ctx context.Context, actor UserID, id RoomID, target UserID, reason, how string) error {
	reason, err := validReason(reason)
	if err != nil {
		return err
	}
	if target == actor {
		return errorf(ErrInvalid, "you cannot "+how+" yourself: leave the room instead")
	}
	r, err := n.moderated(actor, id, target)
	if err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	s := r.state
	power := PowerKick
	if how == MemberBan {
		power = PowerBan
	}
	if !s.May(actor, power, nil) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "only "+plural(s.powersAt(nil).Level(power))+" may "+how+" in this room")
	}
	st, _ := s.At(target, nil)
	switch {
	case how == MemberKick && st != MemberJoin && st != MemberInvite:
		r.mu.Unlock()
		return errorf(ErrNotFound, "user is not in this room")
	case how == MemberBan && st == MemberBan:
		r.mu.Unlock()
		return nil // banned already
	}
	if _, err := n.emitNew(ctx, r, EventMember, actor, MemberContent{User: target, Membership: how, Reason: reason}); err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	return nil
}

// Unban lifts target's ban; they may then join or be invited again.
func (n *Node) Unban(ctx context.Context, actor UserID, id RoomID, target UserID) error {
	r, err := n.moderated(actor, id, target)
	if err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	s := r.state
	if !s.May(actor, PowerBan, nil) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "not allowed to lift bans in this room")
	}
	if st, _ := s.At(target, nil); st != MemberBan {
		r.mu.Unlock()
		return nil // not banned: nothing to lift
	}
	if _, err := n.emitNew(ctx, r, EventMember, actor, MemberContent{User: target, Membership: MemberLeave}); err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	return nil
}

// SetRole gives target a role in a room. An owner who makes another
// member owner hands the room over: the other becomes owner and the
// actor admin, in two events. A user may lower their own role, but the
// last owner may not step down without naming another owner.
func (n *Node) SetRole(ctx context.Context, actor UserID, id RoomID, target UserID, role string) error {
	if !ValidRole(role) {
		return errorf(ErrInvalid, "role must be owner, admin, moderator or member")
	}
	r, err := n.moderated(actor, id, target)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	s := r.state
	st, cur := s.At(target, nil)
	_, mine := s.At(actor, nil)
	switch {
	case target != actor && !s.May(actor, PowerRoles, nil):
		r.mu.Unlock()
		return errorf(ErrForbidden, "only "+plural(s.powersAt(nil).Level(PowerRoles))+" may change roles in this room")
	case st != MemberJoin:
		r.mu.Unlock()
		return errorf(ErrNotFound, "user is not a member of this room")
	case cur == role:
		r.mu.Unlock()
		return nil
	case target == actor && cur == RoleOwner && len(s.owners()) == 1:
		r.mu.Unlock()
		return errorf(ErrForbidden, "the only owner cannot step down: make another member owner first")
	case Rank(cur) == 0 && Rank(role) > 0 && s.Elevated() >= MaxListedRoles:
		r.mu.Unlock()
		return errorf(ErrForbidden, fmt.Sprintf("a room has at most %d members above member", MaxListedRoles))
	}
	transfer := role == RoleOwner && mine == RoleOwner && target != actor
	if !transfer {
		if _, err := n.emitNew(ctx, r, EventMember, actor, MemberContent{User: target, Membership: MemberRole, Role: role}); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return nil
	}
	e, err := newEvent(EventMember, id, actor, MemberContent{User: target, Membership: MemberRole, Role: role})
	if err != nil {
		r.mu.Unlock()
		return err
	}
	if _, err := n.emitLocked(ctx, r, e, func(*result, error) {}); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("transfer ownership: %w", err)
	}
	if _, err := n.emitNew(ctx, r, EventMember, actor, MemberContent{User: actor, Membership: MemberRole, Role: RoleAdmin}); err != nil {
		return fmt.Errorf("transfer ownership: %w", err)
	}
	return nil
}

// owners lists the joined owners.
func (s *RoomState) owners() []UserID {
	s.ensureIndex()
	var out []UserID
	for u, r := range s.elevated {
		if r == RoleOwner {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// successor is who takes over a room whose only owner u leaves: the
// joined member of the highest rank, the earliest joined among equals
// (then the smallest ID). "" when u is the last member or not the only
// owner.
func (s *RoomState) successor(u UserID) UserID {
	if s.Kind == KindDM {
		return ""
	}
	if o := s.owners(); len(o) != 1 || o[0] != u {
		return ""
	}
	var best UserID
	var bestRank int
	var bestSince OrderKey
	for _, m := range s.joined {
		if m == u {
			continue
		}
		_, role := s.At(m, nil)
		since := s.joinedSince(m)
		better := best == "" || Rank(role) > bestRank ||
			Rank(role) == bestRank && (bytes.Compare(since, bestSince) < 0 || bytes.Equal(since, bestSince) && m < best)
		if better {
			best, bestRank, bestSince = m, Rank(role), since
		}
	}
	return best
}

// joinedSince is the position of the join that u's current membership
// began with.
func (s *RoomState) joinedSince(u UserID) OrderKey {
	h := s.History[u]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].State == MemberJoin {
			return h[i].Order
		}
	}
	return nil
}

// handOverLocked makes a successor owner before the room's only owner u
// leaves, so that a room always has someone who can manage its admins.
// r.mu is held and stays held.
func (n *Node) handOverLocked(ctx context.Context, r *roomEntry, u UserID) error {
	next := r.state.successor(u)
	if next == "" {
		return nil
	}
	e, err := newEvent(EventMember, r.state.ID, u, MemberContent{User: next, Membership: MemberRole, Role: RoleOwner})
	if err != nil {
		return err
	}
	if _, err := n.emitLocked(ctx, r, e, func(*result, error) {}); err != nil {
		return fmt.Errorf("hand the room over to %s: %w", next, err)
	}
	return nil
}

// Pin pins (on) or unpins a message of a room.
func (n *Node) Pin(ctx context.Context, actor UserID, id RoomID, msg EventID, on bool) error {
	if !ValidOpaqueID(string(msg)) {
		return errorf(ErrNotFound, "no such message")
	}
	r, err := n.memberRoom(actor, id)
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	var m *Message
	err = n.store.View(ctx, func(tx Tx) error {
		var err error
		m, err = tx.Message(msg)
		return err
	})
	if errors.Is(err, ErrNotFound) || err == nil && m.Room != id {
		if on {
			return errorf(ErrNotFound, "no such message in this room")
		}
		err = nil // unpinning a message that is gone is allowed
	}
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	r.mu.Lock()
	s := r.state
	if !s.May(actor, PowerPin, nil) {
		r.mu.Unlock()
		return errorf(ErrForbidden, "not allowed to pin messages in this room")
	}
	pinned := s.Pinned()
	switch {
	case on == slices.Contains(pinned, msg):
		r.mu.Unlock()
		return nil
	case on && len(pinned) >= MaxPinned:
		r.mu.Unlock()
		return errorf(ErrForbidden, fmt.Sprintf("a room has at most %d pinned messages: unpin one first", MaxPinned))
	}
	if _, err := n.emitNew(ctx, r, EventPin, actor, PinContent{Target: msg, On: on}); err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	return nil
}
