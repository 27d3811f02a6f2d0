package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// The key directory's and mailboxes' contract (node.KeyTx).

func testKeyDirectory(t *testing.T, s Store) {
	const u, v = node.UserID("alice@N"), node.UserID("alice@NN") // one ID extends the other
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, d := range []*node.Device{{User: u, ID: "D1"}, {User: u, ID: "D2"}, {User: v, ID: "D1"}} {
			if err := tx.PutDevice(d); err != nil {
				return err
			}
		}
		for i, id := range []string{"k3", "k1", "k2"} {
			k := &node.OneTimeKey{Algorithm: "signed_curve25519", KeyID: id, Seq: uint64(i + 1), Key: json.RawMessage(`{"key":"` + id + `"}`)}
			if err := tx.PutOneTimeKey(u, "D1", k); err != nil {
				return err
			}
		}
		return tx.PutOneTimeKey(u, "D1", &node.OneTimeKey{Algorithm: "curve25519", KeyID: "c", Seq: 9, Key: json.RawMessage(`"c"`)})
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		var ids []node.DeviceID
		if err := tx.EachDevice(u, func(d *node.Device) bool { ids = append(ids, d.ID); return true }); err != nil {
			return err
		}
		if len(ids) != 2 || ids[0] != "D1" || ids[1] != "D2" {
			t.Errorf("EachDevice = %v (another user's devices leak in?)", ids)
		}
		c, err := tx.CountOneTimeKeys(u, "D1")
		if err != nil || c["signed_curve25519"] != 3 || c["curve25519"] != 1 {
			t.Errorf("CountOneTimeKeys = %v, %v", c, err)
		}
		// Taken oldest first (by Seq, not by key ID), each once.
		for _, want := range []string{"k3", "k1", "k2"} {
			k, err := tx.TakeOneTimeKey(u, "D1", "signed_curve25519")
			if err != nil || k.KeyID != want {
				t.Errorf("TakeOneTimeKey = %v, %v; want %s", k, err, want)
			}
		}
		_, err = tx.TakeOneTimeKey(u, "D1", "signed_curve25519")
		wantNotFound(t, "TakeOneTimeKey when none is left", err)
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		for seq := uint64(1); seq <= 5; seq++ {
			if err := tx.PutToDevice(u, "D1", &node.ToDeviceMessage{Seq: seq, Sender: v, Type: "t", Content: json.RawMessage(`{}`)}); err != nil {
				return err
			}
		}
		if err := tx.PutMailbox(&node.Mailbox{User: u, Device: "D1", NextToDevice: 5}); err != nil {
			return err
		}
		return tx.PutDeviceListEntry(u, "D1", &node.DeviceListEntry{User: v, Seq: 1})
	})
	mustView(t, s, func(tx node.Tx) error {
		ms, err := tx.ToDeviceAfter(u, "D1", 2, 2)
		if err != nil || len(ms) != 2 || ms[0].Seq != 3 || ms[1].Seq != 4 {
			t.Errorf("ToDeviceAfter(2, 2) = %v, %v", ms, err)
		}
		return nil
	})
	// Deleting a device takes its keys, mailbox and messages along.
	mustUpdate(t, s, func(tx node.Tx) error { return tx.DeleteDevice(u, "D1") })
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Device(u, "D1")
		wantNotFound(t, "Device after DeleteDevice", err)
		_, err = tx.Mailbox(u, "D1")
		wantNotFound(t, "Mailbox after DeleteDevice", err)
		if ms, _ := tx.ToDeviceAfter(u, "D1", 0, 10); len(ms) != 0 {
			t.Errorf("messages left after DeleteDevice: %d", len(ms))
		}
		if c, _ := tx.CountOneTimeKeys(u, "D1"); len(c) != 0 {
			t.Errorf("one-time keys left after DeleteDevice: %v", c)
		}
		if es, _ := tx.DeviceListEntries(u, "D1", 0, 10); len(es) != 0 {
			t.Errorf("device-list entries left after DeleteDevice: %v", es)
		}
		if _, err := tx.Device(v, "D1"); err != nil {
			t.Errorf("another user's device went too: %v", err)
		}
		return nil
	})
	wantNotFound(t, "DeleteDevice of an unknown device", s.Update(bg, func(tx node.Tx) error { return tx.DeleteDevice(u, "nope") }))
}

func testMarksAndOutbox(t *testing.T, s Store) {
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutToDeviceTxn("u@N", "D", "txn/1", time.Hour); err != nil {
			return err
		}
		if err := tx.PutReceived("N2", "id1", time.Hour); err != nil {
			return err
		}
		for seq := uint64(1); seq <= 3; seq++ {
			if err := tx.PutOutbound(&node.Outbound{To: "N2", Seq: seq, ID: "x", Content: json.RawMessage(`{}`)}); err != nil {
				return err
			}
		}
		if err := tx.PutOutboxState(&node.OutboxState{Node: "N2", Next: 3, Count: 3}); err != nil {
			return err
		}
		return tx.PutDeviceListOut("N2", "u@N", 42)
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if ok, err := tx.ToDeviceTxn("u@N", "D", "txn/1"); !ok || err != nil {
			t.Errorf("ToDeviceTxn = %v, %v", ok, err)
		}
		if ok, _ := tx.ToDeviceTxn("u@N", "D", "txn/2"); ok {
			t.Error("unknown txn reported seen")
		}
		if ok, err := tx.Received("N2", "id1"); !ok || err != nil {
			t.Errorf("Received = %v, %v", ok, err)
		}
		if err := tx.DeleteOutbound("N2", 1); err != nil {
			return err
		}
		ms, err := tx.OutboundAfter("N2", 0, 10)
		if err != nil || len(ms) != 2 || ms[0].Seq != 2 {
			t.Errorf("OutboundAfter = %v, %v", ms, err)
		}
		dl, err := tx.DeviceListOut("N2", 10)
		if err != nil || dl["u@N"] != 42 {
			t.Errorf("DeviceListOut = %v, %v", dl, err)
		}
		n := 0
		err = tx.EachOutboxState(func(*node.OutboxState) bool { n++; return true })
		if err != nil || n != 1 {
			t.Errorf("EachOutboxState saw %d, %v", n, err)
		}
		return nil
	})
}

func testBackup(t *testing.T, s Store) {
	const u = node.UserID("u@N")
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.LatestBackupVersion(u)
		wantNotFound(t, "LatestBackupVersion", err)
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, v := range []int64{5, 300} {
			if err := tx.PutBackupVersion(&node.BackupVersion{User: u, Version: v, Algorithm: "a"}); err != nil {
				return err
			}
		}
		for _, k := range []node.BackupKey{{Room: "!a:x", Session: "s/1"}, {Room: "!a:x", Session: "s2"}, {Room: "!a:xy", Session: "s3"}} {
			k.Data = json.RawMessage(`{}`)
			if err := tx.PutBackupKey(u, 300, &k); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		b, err := tx.LatestBackupVersion(u)
		if err != nil || b.Version != 300 {
			t.Errorf("LatestBackupVersion = %v, %v", b, err)
		}
		n := 0
		if err := tx.EachBackupKey(u, 300, "!a:x", func(*node.BackupKey) bool { n++; return true }); err != nil || n != 2 {
			t.Errorf("EachBackupKey of one room saw %d (a room whose ID extends another's leaks in?), %v", n, err)
		}
		if k, err := tx.BackupKey(u, 300, "!a:x", "s/1"); err != nil || k.Session != "s/1" {
			t.Errorf("BackupKey = %v, %v", k, err)
		}
		if err := tx.DeleteBackupVersion(u, 300); err != nil {
			return err
		}
		b, err = tx.LatestBackupVersion(u)
		if err != nil || b.Version != 5 {
			t.Errorf("LatestBackupVersion after delete = %v, %v", b, err)
		}
		if err := tx.DeleteBackupVersion(u, 9); !errors.Is(err, node.ErrNotFound) && err != nil {
			t.Errorf("DeleteBackupVersion of an unknown version: %v", err)
		}
		return nil
	})
}
