package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDisplayNameLen bounds display names, in bytes.
const MaxDisplayNameLen = 64

// withHashSlot runs a password hash under the node's concurrency bound.
// At most HashQueue callers wait for a slot; more are refused at once
// (ErrUnavailable, a 503), so a flood of logins or sign-ups holds a
// bounded number of requests, not one goroutine and body per attempt.
func (n *Node) withHashSlot(ctx context.Context, fn func()) error {
	if n.hashWaiting.Add(1) > int32(n.cfg.HashQueue) {
		n.hashWaiting.Add(-1)
		return errorf(ErrUnavailable, "the node is busy checking passwords; try again in a moment")
	}
	select {
	case n.hashes <- struct{}{}:
		n.hashWaiting.Add(-1)
	case <-ctx.Done():
		n.hashWaiting.Add(-1)
		return ctx.Err()
	}
	defer func() {
		<-n.hashes
		n.releaseHashMemorySoon()
	}()
	fn()
	return nil
}

// hashMemoryDelay is how long hashing must pause before its memory goes
// back to the operating system.
const hashMemoryDelay = 250 * time.Millisecond

// releaseHashMemorySoon returns argon2id's working memory (19 MiB per
// hash, the largest allocation the node makes) to the operating system
// once a burst of sign-ins is over. Go's scavenger would do it over
// seconds, and meanwhile a burst of fifty sign-ins keeps about a hundred
// MiB of freed memory resident: on a small server that is most of the
// node's footprint. The release (a GC and a scavenge) runs once per burst.
func (n *Node) releaseHashMemorySoon() {
	n.hashMu.Lock()
	defer n.hashMu.Unlock()
	if n.hashClosed {
		return
	}
	if n.hashRelease != nil {
		n.hashRelease.Reset(hashMemoryDelay)
		return
	}
	n.hashRelease = time.AfterFunc(hashMemoryDelay, func() {
		if len(n.hashes) == 0 { // a new burst resets the timer anyway
			debug.FreeOSMemory()
		}
	})
}

func validDisplayName(s string) error {
	if len(s) > MaxDisplayNameLen || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\n\r") {
		return errorf(ErrInvalid, fmt.Sprintf("display name must be at most %d bytes of text on one line", MaxDisplayNameLen))
	}
	return nil
}

// errBadLogin is the one answer for an unknown user and a wrong password.
var errBadLogin = errorf(ErrUnauthenticated, "wrong username or password")

// Login checks a username and password. Unknown users cost the same hash
// as known ones, so timing does not reveal which usernames exist.
func (n *Node) Login(ctx context.Context, username, password string) (*User, error) {
	username = NormalizeUsername(username)
	var acct *Account
	if ValidUsername(username) == nil {
		err := n.store.View(ctx, func(tx Tx) error {
			a, err := tx.Account(username)
			if err == nil {
				acct = a
			}
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("login: %w", err)
		}
	}
	// An unknown user is checked against a real hash of the same
	// parameters, so the answer takes as long as for a known one.
	encoded := n.dummy
	if acct != nil && acct.PasswordHash != "" {
		encoded = acct.PasswordHash
	}
	var ok bool
	if err := n.withHashSlot(ctx, func() { ok = checkPassword(encoded, password) }); err != nil {
		return nil, err
	}
	if acct == nil || !ok || len(password) > MaxPasswordLen || acct.Deleted {
		return nil, errBadLogin
	}
	if acct.Locked {
		return nil, errLocked
	}
	return n.User(ctx, NewUserID(username, n.ID()))
}

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

// ProfileChange is a partial update of the caller's profile.
type ProfileChange struct {
	DisplayName *string
	Avatar      *string
	OldPassword string
	NewPassword *string
	// KeepSession survives a password change; every other session of the
	// user is revoked.
	KeepSession string
}

// UpdateMe changes a local user's profile or password.
func (n *Node) UpdateMe(ctx context.Context, u UserID, c ProfileChange) (*User, error) {
	username, _, _ := u.Split()
	if c.DisplayName != nil {
		v := strings.TrimSpace(*c.DisplayName)
		if err := validDisplayName(v); err != nil {
			return nil, err
		}
		if v == "" {
			return nil, errorf(ErrInvalid, "display name is empty")
		}
		c.DisplayName = &v
	}
	if c.Avatar != nil {
		if err := n.checkAvatar(ctx, u, *c.Avatar); err != nil { // media.go
			return nil, err
		}
	}
	var newHash string
	if c.NewPassword != nil {
		if err := validPassword(*c.NewPassword); err != nil {
			return nil, err
		}
		var acct *Account
		if err := n.store.View(ctx, func(tx Tx) error {
			var err error
			acct, err = tx.Account(username)
			return err
		}); err != nil {
			return nil, fmt.Errorf("update me: %w", err)
		}
		var ok bool
		if err := n.withHashSlot(ctx, func() {
			ok = checkPassword(acct.PasswordHash, c.OldPassword)
			if ok {
				newHash = hashPassword(*c.NewPassword)
			}
		}); err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrWrongPassword
		}
	}
	var prof *User
	err := n.store.Update(ctx, func(tx Tx) error {
		var err error
		if prof, err = tx.Profile(u); err != nil {
			return err
		}
		if c.DisplayName != nil {
			prof.DisplayName = *c.DisplayName
		}
		if c.Avatar != nil {
			if err := n.setAvatarRef(tx, u, prof.Avatar, *c.Avatar); err != nil {
				return err
			}
			prof.Avatar = *c.Avatar
		}
		if err := tx.PutProfile(prof); err != nil {
			return err
		}
		if newHash == "" {
			return nil
		}
		acct, err := tx.Account(username)
		if err != nil {
			return err
		}
		acct.PasswordHash = newHash
		if err := tx.PutAccount(acct); err != nil {
			return err
		}
		var revoke []string
		if err := tx.EachSessionOf(u, func(s *Session) bool {
			if s.ID != c.KeepSession {
				revoke = append(revoke, s.ID)
			}
			return true
		}); err != nil {
			return err
		}
		for _, id := range revoke {
			if err := tx.DeleteSession(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update me: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	if c.DisplayName != nil || c.Avatar != nil {
		n.publishProfile(prof)
	}
	return n.withPresence(prof), nil
}

// publishProfile signs a profile event for federation.
func (n *Node) publishProfile(u *User) {
	content, err := jsonContent(ProfileContent{DisplayName: u.DisplayName, Avatar: u.Avatar})
	if err != nil {
		return
	}
	e := &Event{Type: EventProfile, Sender: u.ID, Content: content}
	st := n.clock.Now()
	e.TS, e.LC = st.Wall, st.Logical
	if err := n.signer.Seal(e); err != nil {
		n.log.Error("seal profile", "err", err)
		return
	}
	n.federation().Publish(&Delivery{Event: e})
}

// ProfileEvent returns a signed profile event for a local user, for
// federation to announce to newly met peers.
func (n *Node) ProfileEvent(ctx context.Context, u UserID) (*Event, error) {
	prof, err := n.User(ctx, u)
	if err != nil {
		return nil, err
	}
	content, err := jsonContent(ProfileContent{DisplayName: prof.DisplayName, Avatar: prof.Avatar})
	if err != nil {
		return nil, err
	}
	e := &Event{Type: EventProfile, Sender: u, Content: content}
	st := n.clock.Now()
	e.TS, e.LC = st.Wall, st.Logical
	return e, n.signer.Seal(e)
}

// ingestProfile stores a remote user's profile; profiles are not kept as
// events, only the newest view.
func (n *Node) ingestProfile(ctx context.Context, e *Event) error {
	if n.IsLocal(e.Sender) {
		return ErrDuplicate
	}
	c, err := decodeContent[ProfileContent](e)
	if err != nil {
		return err
	}
	if validDisplayName(c.DisplayName) != nil {
		return errorf(ErrInvalid, "bad display name")
	}
	if c.Avatar != "" && !ValidOpaqueID(c.Avatar) {
		return errorf(ErrInvalid, "avatar must be a media id")
	}
	username, node, _ := e.Sender.Split()
	n.profMu.Lock() // the count of remote profiles moves with the write
	defer n.profMu.Unlock()
	if err := n.countRemoteProfilesLocked(ctx); err != nil {
		return err
	}
	added := false
	err = n.store.Update(ctx, func(tx Tx) error {
		added = false
		prev, err := tx.Profile(e.Sender)
		if err == nil && prev.LastSeen > e.TS && prev.DisplayName == c.DisplayName {
			return nil
		}
		if errors.Is(err, ErrNotFound) {
			if n.remoteProfiles >= n.cfg.RemoteProfiles {
				// Any node can mint users: past the cap a new one is not
				// remembered (it shows under its username).
				return nil
			}
			added = true
		} else if err != nil {
			return err
		}
		u := &User{ID: e.Sender, Username: username, Node: node, DisplayName: c.DisplayName, Avatar: c.Avatar}
		if u.DisplayName == "" {
			u.DisplayName = username
		}
		if !MediaID(u.Avatar).Valid() {
			u.Avatar = ""
		}
		old := ""
		if err == nil {
			old = prev.Avatar
		}
		if err := n.setAvatarRef(tx, e.Sender, old, u.Avatar); err != nil {
			return err
		}
		return tx.PutProfile(u)
	})
	if err == nil && added {
		n.remoteProfiles++
	}
	return err
}

// countRemoteProfilesLocked counts the stored profiles of other nodes'
// users, once, when the first remote profile arrives (not at start-up).
// n.profMu must be held.
func (n *Node) countRemoteProfilesLocked(ctx context.Context) error {
	if n.remoteProfiles >= 0 {
		return nil
	}
	count := 0
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachProfile(func(u *User) bool {
			if !n.IsLocal(u.ID) {
				count++
			}
			return true
		})
	})
	if err != nil {
		return fmt.Errorf("count profiles: %w", err)
	}
	n.remoteProfiles = count
	return nil
}

// User returns a user's public view with presence.
func (n *Node) User(ctx context.Context, id UserID) (*User, error) {
	var u *User
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.Profile(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "no such user")
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return n.withPresence(u), nil
}

func (n *Node) withPresence(u *User) *User {
	c := *u
	c.Presence, c.LastSeen = n.Presence(u.ID)
	if c.LastSeen == 0 {
		c.LastSeen = u.LastSeen
	}
	if c.Presence == Online {
		c.LastSeen = 0
	}
	return &c
}

// SearchUsers finds local and known remote users whose username or display
// name contains q (case-insensitive), or whose ID starts with q when q
// names a node ("bob@12D3…"), at most limit of them. Letters of a node ID
// alone match nothing: they would pick users at random.
func (n *Node) SearchUsers(ctx context.Context, q string, limit int) ([]*User, error) {
	q = strings.TrimSpace(q)
	lq := strings.ToLower(q)
	var idPrefix string // usernames are lower case, node IDs are not
	if at := strings.Index(q, "@"); at >= 0 {
		idPrefix = NormalizeUsername(q[:at]) + q[at:]
	}
	var out []*User
	scanned := 0
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachProfile(func(u *User) bool {
			if q == "" || strings.Contains(u.Username, lq) || strings.Contains(strings.ToLower(u.DisplayName), lq) ||
				idPrefix != "" && strings.HasPrefix(string(u.ID), idPrefix) {
				out = append(out, n.withPresence(u))
			}
			scanned++
			return len(out) < limit && scanned < n.cfg.SearchScan
		})
	})
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	if out == nil {
		out = []*User{}
	}
	return out, nil
}

// SessionTTL is how long a session lives without a refresh.
func (n *Node) SessionTTL() time.Duration { return n.cfg.SessionTTL }
