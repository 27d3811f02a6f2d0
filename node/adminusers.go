package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AdminUser is a local account as node admins see it.
type AdminUser struct {
	ID          UserID    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	Admin       bool      `json:"admin"`
	Locked      bool      `json:"locked"`
	Deleted     bool      `json:"deleted,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// MaxAdminUsersPage bounds one page of the user list.
const MaxAdminUsersPage = 1000

// AdminUsers lists up to limit local accounts after username after, in
// username order, whose username or display name contains q; and whether
// more follow.
func (n *Node) AdminUsers(ctx context.Context, q, after string, limit int) ([]*AdminUser, bool, error) {
	if limit <= 0 || limit > MaxAdminUsersPage {
		limit = MaxAdminUsersPage
	}
	q = strings.ToLower(strings.TrimSpace(q))
	out := []*AdminUser{}
	more := false
	err := n.store.View(ctx, func(tx Tx) error {
		var inner error
		err := tx.EachAccount(func(a *Account) bool {
			if a.Username <= after {
				return true
			}
			id := NewUserID(a.Username, n.ID())
			au := &AdminUser{ID: id, Username: a.Username, DisplayName: a.Username, Admin: a.Admin, Locked: a.Locked, Deleted: a.Deleted, CreatedAt: a.CreatedAt}
			if p, err := tx.Profile(id); err == nil {
				au.DisplayName = p.DisplayName
			} else if !errors.Is(err, ErrNotFound) {
				inner = err
				return false
			}
			if q != "" && !strings.Contains(a.Username, q) && !strings.Contains(strings.ToLower(au.DisplayName), q) {
				return true
			}
			if len(out) == limit {
				more = true
				return false
			}
			out = append(out, au)
			return true
		})
		if err != nil {
			return err
		}
		return inner
	})
	if err != nil {
		return nil, false, fmt.Errorf("list users: %w", err)
	}
	return out, more, nil
}

// account resolves a local user named by username or user ID.
func (n *Node) accountName(name string) (string, error) {
	if at := strings.IndexByte(name, '@'); at >= 0 {
		u := UserID(name)
		if !n.IsLocal(u) {
			return "", errorf(ErrInvalid, "that user does not live on this node")
		}
		name = name[:at]
	}
	name = NormalizeUsername(name)
	if ValidUsername(name) != nil {
		return "", errorf(ErrNotFound, "no such user")
	}
	return name, nil
}

// changeAccount runs fn on a live local account in a transaction, with
// the user's sessions to end when fn asks, and audits the action.
func (n *Node) changeAccount(ctx context.Context, actor, name, action, detail string, endSessions bool, fn func(*Account) error) (UserID, error) {
	username, err := n.accountName(name)
	if err != nil {
		return "", err
	}
	id := NewUserID(username, n.ID())
	err = n.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Account(username)
		if errors.Is(err, ErrNotFound) || err == nil && a.Deleted {
			return errorf(ErrNotFound, "no such user")
		} else if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		if err := tx.PutAccount(a); err != nil {
			return err
		}
		if endSessions {
			if err := endSessionsTx(tx, id); err != nil {
				return err
			}
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: action, Target: string(id), Detail: detail})
	})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", action, username, err)
	}
	n.pruneAudit(ctx)
	return id, n.WaitDurable(ctx)
}

// endSessionsTx ends every session of a user.
func endSessionsTx(tx Tx, u UserID) error {
	var ids []string
	if err := tx.EachSessionOf(u, func(s *Session) bool { ids = append(ids, s.ID); return true }); err != nil {
		return err
	}
	for _, sid := range ids {
		if err := tx.DeleteSession(sid); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// LockUser locks or unlocks a local account. Locking ends the user's
// sessions at once (the caller closes their sockets) and refuses their
// logins until they are unlocked.
func (n *Node) LockUser(ctx context.Context, actor, name string, locked bool, reason string) (UserID, error) {
	if err := validNote(reason); err != nil {
		return "", err
	}
	action := "user.unlock"
	if locked {
		action = "user.lock"
	}
	return n.changeAccount(ctx, actor, name, action, reason, locked, func(a *Account) error {
		a.Locked = locked
		return nil
	})
}

// SetNodeAdmin makes a local user a node admin or takes it back.
func (n *Node) SetNodeAdmin(ctx context.Context, actor, name string, admin bool) (UserID, error) {
	action := "user.unadmin"
	if admin {
		action = "user.admin"
	}
	return n.changeAccount(ctx, actor, name, action, "", false, func(a *Account) error {
		a.Admin = admin
		return nil
	})
}

// ResetPassword sets a local user's password (a random one when password
// is empty, returned) and ends their sessions.
func (n *Node) ResetPassword(ctx context.Context, actor, name, password string) (UserID, string, error) {
	if password == "" {
		password = newToken()[:20]
	}
	if err := validPassword(password); err != nil {
		return "", "", err
	}
	var hash string
	if err := n.withHashSlot(ctx, func() { hash = hashPassword(password) }); err != nil {
		return "", "", err
	}
	id, err := n.changeAccount(ctx, actor, name, "user.password", "", true, func(a *Account) error {
		a.PasswordHash = hash
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return id, password, nil
}

// Erasure says what DeleteUser removed.
type Erasure struct {
	User UserID `json:"user"`
	// Messages is how many of the user's messages were deleted by
	// deletion events, which every node of their rooms applies.
	Messages int `json:"messages"`
	// Rooms is how many rooms the user left (or whose invites they
	// declined).
	Rooms int `json:"rooms"`
	// Devices is how many devices, with their keys, were removed.
	Devices int `json:"devices"`
}

// DeleteUser erases a local user as the law may ask: the account (its
// username stays reserved, so nobody inherits the user ID), sessions,
// devices with their keys, to-device mailboxes, cross-signing keys and
// key backups, the profile (other nodes get a profile event that drops
// the display name and avatar; the avatar's file is collected after the
// media grace period, as are the files the deleted messages attached), and the user's messages in the rooms
// they are in, as deletion events that every node of those rooms
// applies; then the user leaves those rooms. See docs/operations.md for
// what stays (messages in rooms the user had already left, whose rules
// let only members delete).
// Kept whole (over 80 lines): the erasure is one ordered list of steps, each of which the next relies on; split, its order would be spread over helpers.
func (n *Node) DeleteUser(ctx context.Context, actor, name string) (*Erasure, error) {
	username, err := n.accountName(name)
	if err != nil {
		return nil, err
	}
	u := NewUserID(username, n.ID())
	er := &Erasure{User: u}
	// First lock the account and end its sessions, so the user cannot act
	// while their content goes.
	err = n.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Account(username)
		if errors.Is(err, ErrNotFound) || err == nil && a.Deleted {
			return errorf(ErrNotFound, "no such user")
		} else if err != nil {
			return err
		}
		a.Locked = true
		if err := tx.PutAccount(a); err != nil {
			return err
		}
		return endSessionsTx(tx, u)
	})
	if err != nil {
		return nil, fmt.Errorf("delete user %s: %w", username, err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	n.mu.RLock()
	var rooms []RoomID
	for id := range n.userRooms[u] {
		rooms = append(rooms, id)
	}
	n.mu.RUnlock()
	slices.Sort(rooms)
	for _, room := range rooms {
		c, err := n.eraseFromRoom(ctx, u, room)
		er.Messages += c
		if err != nil {
			return er, fmt.Errorf("delete user %s: room %s: %w", username, room, err)
		}
		er.Rooms++
	}
	err = n.store.Update(ctx, func(tx Tx) error {
		var devs []DeviceID
		if err := tx.EachDevice(u, func(d *Device) bool { devs = append(devs, d.ID); return true }); err != nil {
			return err
		}
		for _, d := range devs {
			if err := n.deleteDeviceTx(tx, u, d); err != nil {
				return err
			}
		}
		er.Devices = len(devs)
		if err := tx.DeleteCrossSigning(u); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		for {
			b, err := tx.LatestBackupVersion(u)
			if errors.Is(err, ErrNotFound) {
				break
			} else if err != nil {
				return err
			}
			if err := tx.DeleteBackupVersion(u, b.Version); err != nil {
				return err
			}
		}
		if err := endSessionsTx(tx, u); err != nil {
			return err
		}
		// The avatar's reference goes with the profile, so the collector
		// removes the picture (attachments lose theirs as the messages
		// are deleted above).
		if prof, err := tx.Profile(u); err == nil {
			if err := n.setAvatarRef(tx, u, prof.Avatar, ""); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.DeleteProfile(u); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutAccount(&Account{Username: username, CreatedAt: n.now(), Locked: true, Deleted: true}); err != nil {
			return err
		}
		return n.auditTx(tx, &AuditEntry{Actor: actor, Action: "user.delete", Target: string(u),
			Detail: fmt.Sprintf("%d messages deleted, %d rooms left, %d devices removed", er.Messages, er.Rooms, er.Devices)})
	})
	if err != nil {
		return er, fmt.Errorf("delete user %s: %w", username, err)
	}
	n.pruneAudit(ctx)
	if err := n.WaitDurable(ctx); err != nil {
		return er, err
	}
	n.publishProfile(&User{ID: u, Username: username, DisplayName: username, Node: n.ID()})
	if er.Devices > 0 {
		n.deviceListChanged(ctx, u)
	}
	return er, nil
}

// eraseFromRoom deletes a user's messages in a room they are in, by
// deletion events, and then has them leave it. It waits for the disk once,
// at the end.
func (n *Node) eraseFromRoom(ctx context.Context, u UserID, room RoomID) (int, error) {
	r := n.room(room, false)
	if r == nil {
		return 0, nil
	}
	r.mu.Lock()
	st, _ := r.state.At(u, nil)
	r.mu.Unlock()
	count := 0
	if st == MemberJoin {
		var ids []EventID
		err := n.store.View(ctx, func(tx Tx) error {
			var before OrderKey
			for {
				page, more, err := tx.Messages(room, before, 500)
				if err != nil {
					return err
				}
				for _, m := range page {
					if m.Sender == u && !m.Deleted {
						ids = append(ids, m.ID)
					}
				}
				if !more || len(page) == 0 {
					return nil
				}
				before = page[len(page)-1].Order
			}
		})
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			e, err := newEvent(EventDelete, room, u, DeleteContent{Target: id})
			if err != nil {
				return count, err
			}
			r.mu.Lock()
			if _, err := n.emitThen(ctx, r, e, func(*result, error) {}); err != nil {
				return count, err
			}
			count++
		}
	}
	r.mu.Lock()
	st, _ = r.state.At(u, nil)
	if st != MemberJoin && st != MemberInvite {
		r.mu.Unlock()
		return count, n.WaitDurable(ctx)
	}
	if _, err := n.emitNew(ctx, r, EventMember, u, MemberContent{User: u, Membership: MemberLeave}); err != nil {
		return count, err
	}
	return count, nil
}
