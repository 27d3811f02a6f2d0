package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Server-side key backup (API.md §7, the Matrix room_keys API). The node
// keeps it opaque: the session keys are encrypted by the client to the
// backup's public key in auth_data; the node reads only the ranking
// fields that decide which copy of a session to keep. The latest version
// is the current one, the only one that takes keys.

// BackupInfo is a version as GET /room_keys/version answers it.
type BackupInfo struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Count     int             `json:"count"`
	Etag      string          `json:"etag"`
	Version   string          `json:"version"`
}

// BackupVersionRequest is the body of POST and PUT /room_keys/version.
type BackupVersionRequest struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Version   string          `json:"version,omitempty"`
}

// BackupCount is the answer of the key writes: {"etag", "count"}.
type BackupCount struct {
	Etag  string `json:"etag"`
	Count int    `json:"count"`
}

// RoomKeyBackup is one room's keys in the Matrix shape.
type RoomKeyBackup struct {
	Sessions map[string]json.RawMessage `json:"sessions"`
}

// BackupKeys is all keys of a version in the Matrix shape.
type BackupKeys struct {
	Rooms map[string]*RoomKeyBackup `json:"rooms"`
}

func (b *BackupVersion) info() *BackupInfo {
	return &BackupInfo{
		Algorithm: b.Algorithm, AuthData: b.AuthData, Count: b.Count,
		Etag: strconv.FormatInt(b.Etag, 10), Version: strconv.FormatInt(b.Version, 10),
	}
}

// ParseBackupVersion reads a version from a path or query.
func ParseBackupVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, errorf(ErrNotFound, "unknown backup version")
	}
	return v, nil
}

func validBackupVersion(req *BackupVersionRequest) error {
	if req.Algorithm == "" || len(req.Algorithm) > 128 {
		return errorf(ErrInvalid, "algorithm is required")
	}
	if _, err := object(req.AuthData, MaxAuthDataBytes, "auth_data"); err != nil {
		return err
	}
	return nil
}

// CreateBackup starts a new backup version, which becomes the current one.
func (n *Node) CreateBackup(ctx context.Context, u UserID, req *BackupVersionRequest) (string, error) {
	if err := validBackupVersion(req); err != nil {
		return "", err
	}
	var b *BackupVersion
	err := n.store.Update(ctx, func(tx Tx) error {
		count := 0
		var last int64
		if err := tx.EachBackupVersion(u, func(v *BackupVersion) bool {
			count++
			last = max(last, v.Version)
			return true
		}); err != nil {
			return err
		}
		if count >= MaxBackupVersions {
			return errorf(ErrConflict, fmt.Sprintf("at most %d backup versions; delete an old one first", MaxBackupVersions))
		}
		// Versions grow with time, so a deleted one is never reused.
		b = &BackupVersion{User: u, Version: max(last+1, n.now().UnixMilli()), Algorithm: req.Algorithm, AuthData: req.AuthData}
		return tx.PutBackupVersion(b)
	})
	if err != nil {
		return "", fmt.Errorf("create backup: %w", err)
	}
	return strconv.FormatInt(b.Version, 10), n.WaitDurable(ctx)
}

// Backup returns a backup version, the latest when version is "".
func (n *Node) Backup(ctx context.Context, u UserID, version string) (*BackupInfo, error) {
	var b *BackupVersion
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		if version == "" {
			b, err = tx.LatestBackupVersion(u)
			return err
		}
		v, err := ParseBackupVersion(version)
		if err != nil {
			return err
		}
		b, err = tx.BackupVersion(u, v)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "no such backup version")
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return b.info(), nil
}

// UpdateBackup changes a version's auth_data (only that may change).
func (n *Node) UpdateBackup(ctx context.Context, u UserID, version string, req *BackupVersionRequest) error {
	v, err := ParseBackupVersion(version)
	if err != nil {
		return err
	}
	if req.Version != "" && req.Version != version {
		return errorf(ErrInvalid, "version in the body differs from the path")
	}
	if err := validBackupVersion(req); err != nil {
		return err
	}
	err = n.store.Update(ctx, func(tx Tx) error {
		b, err := tx.BackupVersion(u, v)
		if err != nil {
			return err
		}
		if b.Algorithm != req.Algorithm {
			return errorf(ErrInvalid, "algorithm does not match the backup's")
		}
		b.AuthData = req.AuthData
		return tx.PutBackupVersion(b)
	})
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "no such backup version")
	}
	if err != nil {
		return fmt.Errorf("update backup: %w", err)
	}
	return n.WaitDurable(ctx)
}

// DeleteBackup deletes a version and its keys; deleting one that is gone
// already succeeds (Matrix).
func (n *Node) DeleteBackup(ctx context.Context, u UserID, version string) error {
	v, err := ParseBackupVersion(version)
	if err != nil {
		return err
	}
	err = n.store.Update(ctx, func(tx Tx) error {
		err := tx.DeleteBackupVersion(u, v)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete backup: %w", err)
	}
	// The version is gone, so no key can be added to it; its keys go in
	// chunks, as many may not fit one transaction.
	for {
		var batch []*BackupKey
		err := n.store.Update(ctx, func(tx Tx) error {
			batch = batch[:0]
			if err := tx.EachBackupKey(u, v, "", func(k *BackupKey) bool {
				batch = append(batch, k)
				return len(batch) < 2000
			}); err != nil {
				return err
			}
			for _, k := range batch {
				if err := tx.DeleteBackupKey(u, v, k.Room, k.Session); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delete backup keys: %w", err)
		}
		if len(batch) < 2000 {
			return n.WaitDurable(ctx)
		}
	}
}

// backupRank is what decides which copy of a session key to keep.
type backupRank struct {
	FirstMessageIndex *int64          `json:"first_message_index"`
	ForwardedCount    *int64          `json:"forwarded_count"`
	IsVerified        *bool           `json:"is_verified"`
	SessionData       json.RawMessage `json:"session_data"`
}

func rankOf(raw json.RawMessage) (*backupRank, error) {
	if len(raw) > MaxBackupKeyBytes {
		return nil, errorf(ErrTooLarge, fmt.Sprintf("a backed-up key is over %d bytes", MaxBackupKeyBytes))
	}
	var r backupRank
	if err := json.Unmarshal(raw, &r); err != nil || r.FirstMessageIndex == nil || r.ForwardedCount == nil || r.IsVerified == nil {
		return nil, errorf(ErrInvalid, "a backed-up key needs first_message_index, forwarded_count, is_verified and session_data")
	}
	if _, err := object(r.SessionData, MaxBackupKeyBytes, "session_data"); err != nil {
		return nil, err
	}
	return &r, nil
}

// better reports whether a should replace b (the Matrix rule): verified
// over unverified, then a lower first message index, then fewer
// forwards.
func (a *backupRank) better(b *backupRank) bool {
	if *a.IsVerified != *b.IsVerified {
		return *a.IsVerified
	}
	if *a.FirstMessageIndex != *b.FirstMessageIndex {
		return *a.FirstMessageIndex < *b.FirstMessageIndex
	}
	return *a.ForwardedCount < *b.ForwardedCount
}

// validBackupID checks a room ID (no '/') or a session ID (base64, which
// may hold '/') of the backup.
func validBackupID(s, what string, slash bool) error {
	if s == "" || len(s) > MaxBackupIDLen || strings.ContainsRune(s, 0) || !slash && strings.ContainsRune(s, '/') {
		return errorf(ErrInvalid, fmt.Sprintf("%s must be 1 to %d characters", what, MaxBackupIDLen))
	}
	return nil
}

// PutBackupKeys stores keys in the current version (PUT
// /room_keys/keys...). A key replaces a stored copy of its session only
// when it is better. Another version is refused (403, as Matrix's
// M_WRONG_ROOM_KEYS_VERSION).
func (n *Node) PutBackupKeys(ctx context.Context, u UserID, version string, keys *BackupKeys) (*BackupCount, error) {
	v, err := ParseBackupVersion(version)
	if err != nil {
		return nil, err
	}
	total := 0
	for room, rk := range keys.Rooms {
		if err := validBackupID(room, "room id", false); err != nil {
			return nil, err
		}
		if rk == nil {
			continue
		}
		for sid, raw := range rk.Sessions {
			if err := validBackupID(sid, "session id", true); err != nil {
				return nil, err
			}
			if _, err := rankOf(raw); err != nil {
				return nil, err
			}
			total++
		}
	}
	if total > MaxBackupKeys {
		return nil, errorf(ErrTooLarge, "too many keys at once")
	}
	var out *BackupCount
	err = n.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LatestBackupVersion(u)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "no such backup version")
		} else if err != nil {
			return err
		}
		if cur.Version != v {
			return errorf(ErrForbidden, fmt.Sprintf("backup version %d is not the current one (%d)", v, cur.Version))
		}
		changed := false
		for room, rk := range keys.Rooms {
			if rk == nil {
				continue
			}
			for sid, raw := range rk.Sessions {
				nr, _ := rankOf(raw)
				old, err := tx.BackupKey(u, v, room, sid)
				switch {
				case errors.Is(err, ErrNotFound):
					if cur.Count >= MaxBackupKeys {
						return errorf(ErrTooLarge, fmt.Sprintf("a backup holds at most %d keys", MaxBackupKeys))
					}
					cur.Count++
				case err != nil:
					return err
				default:
					if or, err := rankOf(old.Data); err == nil && !nr.better(or) {
						continue
					}
				}
				if err := tx.PutBackupKey(u, v, &BackupKey{Room: room, Session: sid, Data: raw}); err != nil {
					return err
				}
				changed = true
			}
		}
		if changed {
			cur.Etag++
			if err := tx.PutBackupVersion(cur); err != nil {
				return err
			}
		}
		out = &BackupCount{Etag: strconv.FormatInt(cur.Etag, 10), Count: cur.Count}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("put backup keys: %w", err)
	}
	return out, n.WaitDurable(ctx)
}

// EachBackupKey visits the keys of a version (of one room when room is
// not empty; one session when session is not empty too).
func (n *Node) EachBackupKey(ctx context.Context, u UserID, version, room, session string, fn func(*BackupKey) bool) error {
	v, err := ParseBackupVersion(version)
	if err != nil {
		return err
	}
	err = n.store.View(ctx, func(tx Tx) error {
		if _, err := tx.BackupVersion(u, v); err != nil {
			return errorf(ErrNotFound, "no such backup version")
		}
		if session != "" {
			k, err := tx.BackupKey(u, v, room, session)
			if err != nil {
				return errorf(ErrNotFound, "no such key in the backup")
			}
			fn(k)
			return nil
		}
		return tx.EachBackupKey(u, v, room, fn)
	})
	if err != nil {
		return fmt.Errorf("backup keys: %w", err)
	}
	return nil
}

// DeleteBackupKeys deletes keys of a version: all, one room's, or one
// session's.
func (n *Node) DeleteBackupKeys(ctx context.Context, u UserID, version, room, session string) (*BackupCount, error) {
	v, err := ParseBackupVersion(version)
	if err != nil {
		return nil, err
	}
	var out *BackupCount
	for {
		more := false
		err := n.store.Update(ctx, func(tx Tx) error {
			more = false
			cur, err := tx.BackupVersion(u, v)
			if err != nil {
				return errorf(ErrNotFound, "no such backup version")
			}
			var gone []*BackupKey
			if session != "" {
				if k, err := tx.BackupKey(u, v, room, session); err == nil {
					gone = append(gone, k)
				}
			} else if err := tx.EachBackupKey(u, v, room, func(k *BackupKey) bool {
				gone = append(gone, k)
				more = len(gone) == 2000
				return !more
			}); err != nil {
				return err
			}
			for _, k := range gone {
				if err := tx.DeleteBackupKey(u, v, k.Room, k.Session); err != nil {
					return err
				}
			}
			if len(gone) > 0 {
				cur.Count = max(cur.Count-len(gone), 0)
				cur.Etag++
				if err := tx.PutBackupVersion(cur); err != nil {
					return err
				}
			}
			out = &BackupCount{Etag: strconv.FormatInt(cur.Etag, 10), Count: cur.Count}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("delete backup keys: %w", err)
		}
		if !more {
			return out, n.WaitDurable(ctx)
		}
	}
}
