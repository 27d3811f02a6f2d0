package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
)

// Devices: every session belongs to a device (API.md §7). A login names
// the device it resumes, or gets a new one; logging out ends the session
// but keeps the device, so that a browser that kept its crypto store
// logs in again as the same device. Deleting a device ends its sessions
// and removes its keys and mailbox.

// ValidDeviceID checks a device ID from outside: 1 to 64 URL-safe
// characters (it appears in paths and in Matrix key IDs).
func ValidDeviceID(s string) bool {
	return len(s) <= MaxDeviceIDLen && ValidOpaqueID(s)
}

// newDeviceID returns ten random capital letters, as Matrix servers make.
func newDeviceID() DeviceID {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = 'A' + b[i]%26
	}
	return DeviceID(b[:])
}

// attachDevice binds a new session to a device of its user in tx: the
// named one (created when the user has none by that ID), or a new one.
// A user at MaxDevicesPerUser loses the least recently seen device to
// make room. It returns the device retired that way, if any.
func (n *Node) attachDevice(tx Tx, s *Session, want DeviceID) (retired DeviceID, err error) {
	now := n.now().UnixMilli()
	if want != "" {
		if !ValidDeviceID(string(want)) {
			return "", errorf(ErrInvalid, fmt.Sprintf("deviceId must be 1 to %d characters of A-Z a-z 0-9 . _ ~ -", MaxDeviceIDLen))
		}
		d, err := tx.Device(s.User, want)
		if err == nil {
			d.LastSeen = now
			s.DeviceID = want
			return "", tx.PutDevice(d)
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		if xs, err := tx.CrossSigning(s.User); err == nil && xs.usesKeyID(string(want)) {
			return "", errorf(ErrConflict, "deviceId is one of the user's cross-signing keys")
		}
	}
	var devices []*Device
	if err := tx.EachDevice(s.User, func(d *Device) bool {
		devices = append(devices, d)
		return true
	}); err != nil {
		return "", err
	}
	if want == "" {
		for want = newDeviceID(); slices.ContainsFunc(devices, func(d *Device) bool { return d.ID == want }); {
			want = newDeviceID()
		}
	}
	if len(devices) >= MaxDevicesPerUser {
		oldest := slices.MinFunc(devices, func(a, b *Device) int { return cmpInt(max(a.LastSeen, a.CreatedAt), max(b.LastSeen, b.CreatedAt)) })
		if err := n.deleteDeviceTx(tx, s.User, oldest.ID); err != nil {
			return "", err
		}
		retired = oldest.ID
	}
	s.DeviceID = want
	return retired, tx.PutDevice(&Device{User: s.User, ID: want, CreatedAt: now, LastSeen: now})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deleteDeviceTx removes a device, its keys and mailbox, and ends its
// sessions. It returns ErrNotFound for an unknown device.
func (n *Node) deleteDeviceTx(tx Tx, u UserID, id DeviceID) error {
	if err := tx.DeleteDevice(u, id); err != nil {
		return err
	}
	var end []string
	if err := tx.EachSessionOf(u, func(s *Session) bool {
		if s.DeviceID == id {
			end = append(end, s.ID)
		}
		return true
	}); err != nil {
		return err
	}
	for _, sid := range end {
		if err := tx.DeleteSession(sid); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// SessionDevice checks that a session is live and belongs to u, and
// returns its device. A session from before devices existed is given a
// new device on first use.
func (n *Node) SessionDevice(ctx context.Context, sid string, u UserID) (DeviceID, error) {
	var dev DeviceID
	err := n.store.Update(ctx, func(tx Tx) error {
		s, err := tx.Session(sid)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrUnauthenticated, "session has ended")
		} else if err != nil {
			return err
		}
		if s.User != u || n.now().After(s.ExpiresAt) {
			return errorf(ErrUnauthenticated, "session has ended")
		}
		if s.DeviceID != "" {
			dev = s.DeviceID
			return nil
		}
		if _, err := n.attachDevice(tx, s, ""); err != nil {
			return err
		}
		dev = s.DeviceID
		return tx.PutSession(s)
	})
	if err != nil {
		return "", fmt.Errorf("session device: %w", err)
	}
	return dev, nil
}

// SeenDevice records that a device was just used (a socket opened).
func (n *Node) SeenDevice(ctx context.Context, u UserID, id DeviceID) {
	_ = n.store.Update(ctx, func(tx Tx) error {
		d, err := tx.Device(u, id)
		if err != nil {
			return err
		}
		d.LastSeen = n.now().UnixMilli()
		return tx.PutDevice(d)
	})
}

// Devices lists a user's devices (GET /api/v1/devices).
func (n *Node) Devices(ctx context.Context, u UserID) ([]DeviceInfo, error) {
	out := []DeviceInfo{}
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachDevice(u, func(d *Device) bool {
			out = append(out, DeviceInfo{DeviceID: d.ID, DisplayName: d.DisplayName, LastSeen: d.LastSeen})
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	return out, nil
}

// CheckPassword checks a local user's password for a sensitive action
// (deleting a device, replacing cross-signing keys). A wrong one is
// ErrForbidden; callers throttle failures like failed logins.
func (n *Node) CheckPassword(ctx context.Context, u UserID, password string) error {
	name, _, _ := u.Split()
	var acct *Account
	err := n.store.View(ctx, func(tx Tx) error {
		var err error
		acct, err = tx.Account(name)
		return err
	})
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	var ok bool
	if err := n.withHashSlot(ctx, func() { ok = checkPassword(acct.PasswordHash, password) }); err != nil {
		return err
	}
	if !ok || len(password) > MaxPasswordLen {
		return errorf(ErrForbidden, "wrong password")
	}
	return nil
}

// DeleteDevice deletes one of u's devices after checking u's password:
// its sessions end (their IDs are returned, so that live sockets can be
// closed), its keys and mailbox go, and whoever shares an encrypted room
// with u is told that u's devices changed.
func (n *Node) DeleteDevice(ctx context.Context, u UserID, id DeviceID, password string) ([]string, error) {
	if password == "" {
		return nil, errorf(ErrInvalid, "password is required to delete a device")
	}
	if err := n.CheckPassword(ctx, u, password); err != nil {
		return nil, err
	}
	var ended []string
	err := n.store.Update(ctx, func(tx Tx) error {
		ended = ended[:0]
		if err := tx.EachSessionOf(u, func(s *Session) bool {
			if s.DeviceID == id {
				ended = append(ended, s.ID)
			}
			return true
		}); err != nil {
			return err
		}
		return n.deleteDeviceTx(tx, u, id)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "no such device")
	}
	if err != nil {
		return nil, fmt.Errorf("delete device: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, err
	}
	n.deviceListChanged(ctx, u)
	n.dropDevicePushes(ctx, u, id)
	return ended, nil
}
