package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sessions: a signed-in device's lease, renewed with rotating refresh
// tokens (API.md §3). Accounts (accounts.go) say who a user is; sessions
// say which of their sign-ins is live.

// SessionTTL is how long a session lives without a refresh.
func (n *Node) SessionTTL() time.Duration { return n.cfg.SessionTTL }

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return b64.EncodeToString(b)
}

func tokenHash(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// DefaultSessionsPerUser bounds one user's sessions (Config).
const DefaultSessionsPerUser = 100

// NewSession starts a session for a local user on a device (the named
// one, resumed or created, or a new one when device is empty; see
// devices.go) and returns it with its first refresh token. Only the
// token's hash is stored. A user has at most SessionsPerUser sessions
// (several may resume one device): past it the oldest end, and
// Session.Ended names them so their sockets can be closed.
func (n *Node) NewSession(ctx context.Context, u UserID, device DeviceID) (*Session, string, error) {
	now := n.now()
	s := &Session{ID: newToken()[:22], User: u, CreatedAt: now, ExpiresAt: now.Add(n.cfg.SessionTTL)}
	tok := newToken()
	s.Refresh = tokenHash(tok)
	var retired DeviceID
	err := n.store.Update(ctx, func(tx Tx) error {
		var err error
		if retired, err = n.attachDevice(tx, s, device); err != nil {
			return err
		}
		s.Ended = nil // the function may run again
		var live []*Session
		if err := tx.EachSessionOf(u, func(o *Session) bool {
			live = append(live, o)
			return true
		}); err != nil {
			return err
		}
		if extra := len(live) + 1 - n.cfg.SessionsPerUser; extra > 0 {
			slices.SortFunc(live, func(a, b *Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
			for _, o := range live[:extra] {
				if err := tx.DeleteSession(o.ID); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				s.Ended = append(s.Ended, o.ID)
			}
		}
		if err := tx.PutSession(s); err != nil {
			return err
		}
		return tx.PutRefresh(s.Refresh, &RefreshRecord{Session: s.ID, Expires: s.ExpiresAt})
	})
	if err != nil {
		return nil, "", fmt.Errorf("new session: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, "", err
	}
	if retired != "" {
		n.deviceListChanged(ctx, u)
	}
	return s, tok, nil
}

var errBadRefresh = errorf(ErrUnauthenticated, "refresh token is invalid or expired")

// MaxSpentRefresh is how many spent refresh tokens of a session are
// remembered for reuse detection: at one refresh per 15 minutes, the
// last 16 hours. An older stolen token is refused without revoking.
const MaxSpentRefresh = 64

// Refresh spends a refresh token and returns the session with a new one.
// A token that was already spent revokes the whole session: either the
// client or a thief holds a copy, and only the session's end is safe.
func (n *Node) Refresh(ctx context.Context, token string) (*Session, string, error) {
	if token == "" || len(token) > 256 {
		return nil, "", errBadRefresh
	}
	n.authMu.Lock()
	defer n.authMu.Unlock()
	h := tokenHash(token)
	now := n.now()
	var s *Session
	var revoked string
	next := newToken()
	err := n.store.Update(ctx, func(tx Tx) error {
		rec, err := tx.Refresh(h)
		if err != nil {
			return err
		}
		if rec.Used {
			revoked = rec.Session
			n.log.Warn("refresh token reused; revoking session", "session", rec.Session)
			if err := tx.DeleteSession(rec.Session); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return errReuse
		}
		if s, err = tx.Session(rec.Session); err != nil {
			return err
		}
		if now.After(s.ExpiresAt) || s.Refresh != h {
			return errBadRefresh
		}
		rec.Used = true
		if err := tx.PutRefresh(h, rec); err != nil {
			return err
		}
		// Keep the records of the last spent tokens only: one per refresh
		// for as long as the session lives would grow without end.
		s.Spent = append(s.Spent, h)
		for len(s.Spent) > MaxSpentRefresh {
			if err := tx.DeleteRefresh(s.Spent[0]); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			s.Spent = s.Spent[1:]
		}
		s.Refresh = tokenHash(next)
		s.ExpiresAt = now.Add(n.cfg.SessionTTL)
		if err := tx.PutRefresh(s.Refresh, &RefreshRecord{Session: s.ID, Expires: s.ExpiresAt}); err != nil {
			return err
		}
		return tx.PutSession(s)
	})
	if errors.Is(err, errReuse) {
		// The revocation must stick: commit it, then refuse.
		if err := n.WaitDurable(ctx); err != nil {
			return nil, "", err
		}
		return nil, "", &RevokedError{Session: revoked}
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, errBadRefresh) {
		return nil, "", errBadRefresh
	}
	if err != nil {
		return nil, "", fmt.Errorf("refresh: %w", err)
	}
	return s, next, n.WaitDurable(ctx)
}

// RevokedError is Refresh's answer to a refresh token that was already
// spent: the token's session has been revoked, and the caller should also
// end what that session holds open (live sockets). To the client it is
// the same 401 as any bad refresh token.
type RevokedError struct{ Session string }

func (e *RevokedError) Error() string { return errBadRefresh.Error() }

// Unwrap makes it a bad-refresh *Error wrapping ErrUnauthenticated.
func (e *RevokedError) Unwrap() error { return errBadRefresh }

// errReuse marks the reuse path inside Refresh's transaction. The store
// commits a transaction whose function returns an error wrapping
// ErrCommitAnyway, so the revocation is saved.
var errReuse = fmt.Errorf("refresh token reuse: %w", ErrCommitAnyway)

// ErrCommitAnyway, wrapped in the error a Store.Update function returns,
// asks the store to commit the transaction's writes before returning the
// error.
var ErrCommitAnyway = errors.New("commit anyway")

// CheckSession reports whether a session is live and belongs to u. Access
// tokens name their session, so a logout or a password change ends them
// at once rather than at expiry.
func (n *Node) CheckSession(ctx context.Context, sid string, u UserID) error {
	var s *Session
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		s, err = tx.Session(sid)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrUnauthenticated, "session has ended")
	}
	if err != nil {
		return fmt.Errorf("check session: %w", err)
	}
	if s.User != u || n.now().After(s.ExpiresAt) {
		return errorf(ErrUnauthenticated, "session has ended")
	}
	return nil
}

// Logout ends a session.
func (n *Node) Logout(ctx context.Context, sid string) error {
	err := n.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(sid) })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	return n.WaitDurable(ctx)
}
