package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Registration is a sign-up request.
type Registration struct {
	Username    string
	Password    string
	DisplayName string
	// Token is an invite token; required when the node's registration
	// mode is RegistrationToken, ignored otherwise.
	Token string
}

var (
	errRegClosed = errorf(ErrForbidden, "sign-up is closed on this node")
	errNeedToken = errorf(ErrForbidden, "this node needs an invite token to sign up")
	errBadInvite = errorf(ErrForbidden, "this invite token is not valid: it may be used up, expired or revoked")
)

// Register creates a local account and its profile in open registration
// (RegisterWith for the other modes).
func (n *Node) Register(ctx context.Context, username, password, displayName string) (*User, error) {
	return n.RegisterWith(ctx, Registration{Username: username, Password: password, DisplayName: displayName})
}

// RegisterWith creates a local account and its profile, as the node's
// registration mode allows. The first account of a node becomes its node
// admin.
// Kept whole (over 80 lines): the mode check, the token spend and the first-admin rule must share one transaction, which reads best in one place.
func (n *Node) RegisterWith(ctx context.Context, r Registration) (*User, error) {
	mode := n.admin.registration
	switch {
	case mode == RegistrationClosed:
		return nil, errRegClosed
	case mode == RegistrationToken && r.Token == "":
		return nil, errNeedToken
	case mode != RegistrationToken:
		r.Token = ""
	}
	username := NormalizeUsername(r.Username)
	if err := ValidUsername(username); err != nil {
		return nil, err
	}
	if err := validPassword(r.Password); err != nil {
		return nil, err
	}
	displayName := strings.TrimSpace(r.DisplayName)
	if err := validDisplayName(displayName); err != nil {
		return nil, err
	}
	if displayName == "" {
		displayName = username
	}
	tokenKey := ""
	if r.Token != "" {
		// Check the token before spending a hash on the password.
		if len(r.Token) > 256 {
			return nil, errBadInvite
		}
		tokenKey = tokenHash(r.Token)
		var usable bool
		err := n.store.View(ctx, func(tx Tx) error {
			t, err := tx.InviteToken(tokenKey)
			usable = err == nil && t.Usable(n.now())
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		if !usable {
			return nil, errBadInvite
		}
	}
	var hash string
	if err := n.withHashSlot(ctx, func() { hash = hashPassword(r.Password) }); err != nil {
		return nil, err
	}
	u := &User{ID: NewUserID(username, n.ID()), Username: username, DisplayName: displayName, Node: n.ID()}
	first := false
	n.admin.regMu.Lock()
	err := n.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Account(username); err == nil {
			return errorf(ErrConflict, "username is taken")
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if tokenKey != "" {
			t, err := tx.InviteToken(tokenKey)
			if errors.Is(err, ErrNotFound) || err == nil && !t.Usable(n.now()) {
				return errBadInvite
			} else if err != nil {
				return err
			}
			t.Uses++
			if err := tx.PutInviteToken(t); err != nil {
				return err
			}
		}
		first = true
		if err := tx.EachAccount(func(*Account) bool { first = false; return false }); err != nil {
			return err
		}
		acct := &Account{Username: username, PasswordHash: hash, CreatedAt: n.now(), Admin: first}
		if err := tx.PutAccount(acct); err != nil {
			return err
		}
		return tx.PutProfile(u)
	})
	n.admin.regMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", username, err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	if first {
		n.log.Info("first account registered; it is the node admin", "user", u.ID)
		n.audit(ctx, string(u.ID), "user.admin", string(u.ID), "first account of the node")
	}
	if tokenKey != "" {
		n.audit(ctx, string(u.ID), "invite.use", tokenKey[:inviteIDLen], "")
	}
	n.publishProfile(u)
	return n.withPresence(u), nil
}

// inviteIDLen is how many hex characters of a token's hash name it.
const inviteIDLen = 12

// CreateInvite makes an invite token that allows uses registrations (0:
// any number) until ttl has passed (0: never). The token is returned
// once; the node keeps only its hash.
func (n *Node) CreateInvite(ctx context.Context, actor string, uses int, ttl time.Duration, note string) (string, *InviteToken, error) {
	if uses < 0 || uses > MaxInviteUses {
		return "", nil, errorf(ErrInvalid, fmt.Sprintf("uses must be 0 (any number) to %d", MaxInviteUses))
	}
	if ttl < 0 || ttl > MaxInviteTTL {
		return "", nil, errorf(ErrInvalid, "expiry must be in the future and at most a year away")
	}
	if err := validNote(note); err != nil {
		return "", nil, err
	}
	tok := newToken()
	h := tokenHash(tok)
	now := n.now()
	t := &InviteToken{ID: h[:inviteIDLen], Hash: h, CreatedAt: now, CreatedBy: actor, UsesAllowed: uses, Note: note}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		// Past the cap, spent and expired tokens make room first.
		var all []*InviteToken
		if err := tx.EachInviteToken(func(o *InviteToken) bool { all = append(all, o); return true }); err != nil {
			return err
		}
		count := len(all)
		for _, o := range all {
			if count < MaxInviteTokens {
				break
			}
			if !o.Usable(now) {
				if err := tx.DeleteInviteToken(o.Hash); err != nil {
					return err
				}
				count--
			}
		}
		if count >= MaxInviteTokens {
			return errorf(ErrConflict, fmt.Sprintf("there are %d live invite tokens; revoke some first", count))
		}
		if err := tx.PutInviteToken(t); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "invite.create", Target: t.ID, Detail: inviteDetail(t)})
	})
	if err != nil {
		return "", nil, fmt.Errorf("create invite token: %w", err)
	}
	n.pruneAudit(ctx)
	return tok, t, n.WaitDurable(ctx)
}

func inviteDetail(t *InviteToken) string {
	d := "uses: any"
	if t.UsesAllowed > 0 {
		d = fmt.Sprintf("uses: %d", t.UsesAllowed)
	}
	if !t.ExpiresAt.IsZero() {
		d += ", expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// Invites lists the stored invite tokens, newest first.
func (n *Node) Invites(ctx context.Context) ([]*InviteToken, error) {
	out := []*InviteToken{}
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachInviteToken(func(t *InviteToken) bool { out = append(out, t); return true })
	})
	if err != nil {
		return nil, fmt.Errorf("list invite tokens: %w", err)
	}
	sortNewest(out, func(t *InviteToken) time.Time { return t.CreatedAt })
	return out, nil
}

// RevokeInvite deletes the invite token with this ID (or hash).
func (n *Node) RevokeInvite(ctx context.Context, actor, id string) error {
	if len(id) < inviteIDLen {
		return errorf(ErrNotFound, "no such invite token")
	}
	err := n.store.Update(ctx, func(tx Tx) error {
		var hash string
		if err := tx.EachInviteToken(func(t *InviteToken) bool {
			if strings.HasPrefix(t.Hash, id) || t.ID == id {
				hash = t.Hash
				return false
			}
			return true
		}); err != nil {
			return err
		}
		if hash == "" {
			return errorf(ErrNotFound, "no such invite token")
		}
		if err := tx.DeleteInviteToken(hash); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "invite.revoke", Target: hash[:inviteIDLen]})
	})
	if err != nil {
		return fmt.Errorf("revoke invite token: %w", err)
	}
	n.pruneAudit(ctx)
	return n.WaitDurable(ctx)
}
