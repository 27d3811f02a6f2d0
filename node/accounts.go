package node

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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

// UpdateMe changes a local user's profile or password, or both in one
// transaction: a password change revokes the user's other sessions.
func (n *Node) UpdateMe(ctx context.Context, u UserID, c ProfileChange) (*User, error) {
	if err := n.checkProfileChange(ctx, u, &c); err != nil {
		return nil, err
	}
	var newHash string
	if c.NewPassword != nil {
		var err error
		if newHash, err = n.newPasswordHash(ctx, u, c.OldPassword, *c.NewPassword); err != nil {
			return nil, err
		}
	}
	var prof *User
	err := n.store.Update(ctx, func(tx Tx) error {
		var err error
		if prof, err = n.putProfileTx(tx, u, c); err != nil {
			return err
		}
		if newHash == "" {
			return nil
		}
		return putPasswordTx(tx, u, newHash, c.KeepSession)
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

// checkProfileChange validates the profile part of c, and trims its
// display name.
func (n *Node) checkProfileChange(ctx context.Context, u UserID, c *ProfileChange) error {
	if c.DisplayName != nil {
		v := strings.TrimSpace(*c.DisplayName)
		if err := validDisplayName(v); err != nil {
			return err
		}
		if v == "" {
			return errorf(ErrInvalid, "display name is empty")
		}
		c.DisplayName = &v
	}
	if c.Avatar != nil {
		return n.checkAvatar(ctx, u, *c.Avatar) // media.go
	}
	return nil
}

// newPasswordHash checks u's old password and hashes the new one, in a
// hash slot (both cost a password hash).
func (n *Node) newPasswordHash(ctx context.Context, u UserID, oldPassword, newPassword string) (string, error) {
	if err := validPassword(newPassword); err != nil {
		return "", err
	}
	username, _, _ := u.Split()
	var acct *Account
	if err := n.store.View(ctx, func(tx Tx) error {
		var err error
		acct, err = tx.Account(username)
		return err
	}); err != nil {
		return "", fmt.Errorf("update me: %w", err)
	}
	var hash string
	if err := n.withHashSlot(ctx, func() {
		if checkPassword(acct.PasswordHash, oldPassword) {
			hash = hashPassword(newPassword)
		}
	}); err != nil {
		return "", err
	}
	if hash == "" {
		return "", ErrWrongPassword
	}
	return hash, nil
}

// putProfileTx writes the profile part of c (checked) and returns the
// profile.
func (n *Node) putProfileTx(tx Tx, u UserID, c ProfileChange) (*User, error) {
	prof, err := tx.Profile(u)
	if err != nil {
		return nil, err
	}
	if c.DisplayName != nil {
		prof.DisplayName = *c.DisplayName
	}
	if c.Avatar != nil {
		if err := n.setAvatarRef(tx, u, prof.Avatar, *c.Avatar); err != nil {
			return nil, err
		}
		prof.Avatar = *c.Avatar
	}
	return prof, tx.PutProfile(prof)
}

// putPasswordTx sets u's password hash and revokes every session of u but
// keep.
func putPasswordTx(tx Tx, u UserID, hash, keep string) error {
	username, _, _ := u.Split()
	acct, err := tx.Account(username)
	if err != nil {
		return err
	}
	acct.PasswordHash = hash
	if err := tx.PutAccount(acct); err != nil {
		return err
	}
	var revoke []string
	if err := tx.EachSessionOf(u, func(s *Session) bool {
		if s.ID != keep {
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
