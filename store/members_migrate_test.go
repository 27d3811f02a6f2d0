package store_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// TestMigrateMembersOutOfRoomRecords opens a database of schema 1, whose
// room records held every member's history, and checks that the store
// moves the histories to one key per member (schema 3) and still loads
// them.
func TestMigrateMembersOutOfRoomRecords(t *testing.T) {
	dir := t.TempDir()
	hist := map[node.UserID][]node.MemberChange{
		"alice@N": {{Order: order(1), State: node.MemberJoin, Role: node.RoleOwner}},
		"bob@N":   {{Order: order(2), State: node.MemberJoin}, {Order: order(3), State: node.MemberLeave}},
	}
	old, err := json.Marshal(map[string]any{"id": "r1", "name": "old", "kind": "group", "visibility": "public", "history": hist})
	if err != nil {
		t.Fatal(err)
	}
	raw := func(fn func(*badger.Txn) error) {
		t.Helper()
		bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		if err := bdb.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	raw(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("meta/schema"), []byte("1")); err != nil {
			return err
		}
		return txn.Set([]byte("room/r1"), old)
	})

	db := mustOpen(t, dir)
	err = db.View(context.Background(), func(tx node.Tx) error {
		s, err := tx.RoomState("r1")
		if err != nil {
			return err
		}
		if len(s.History) != 2 || len(s.History["bob@N"]) != 2 || s.Name != "old" {
			t.Errorf("migrated room = %+v", s)
		}
		if !s.IsMember("alice@N") || s.IsMember("bob@N") || s.MemberCount() != 1 {
			t.Errorf("members after migration: %v", s.Members())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("room/r1"))
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if _, ok := rec["history"]; ok {
			t.Errorf("room record still holds the histories: %s", v)
		}
		if _, err := txn.Get([]byte("mem/r1/bob@N")); err != nil {
			t.Errorf("bob's history key: %v", err)
		}
		item, err = txn.Get([]byte("meta/schema"))
		if err != nil {
			return err
		}
		if v, _ := item.ValueCopy(nil); string(v) != strconv.Itoa(store.SchemaVersion) {
			t.Errorf("schema after migration = %s", v)
		}
		return nil
	})
	// A second open finds nothing left to move.
	mustOpen(t, dir).Close()
}

// TestMemberKeys: a member's history is its own key, and a nil history
// deletes it.
func TestMemberKeys(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	defer db.Close()
	s := node.NewRoomState("r2")
	err := db.Update(ctx, func(tx node.Tx) error {
		if err := tx.PutRoomState(s); err != nil {
			return err
		}
		if err := tx.PutMember("r2", "a@N", []node.MemberChange{{Order: order(1), State: node.MemberJoin}}); err != nil {
			return err
		}
		if err := tx.PutMember("r2", "b@N", []node.MemberChange{{Order: order(2), State: node.MemberJoin}}); err != nil {
			return err
		}
		return tx.PutMember("r2", "b@N", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []node.UserID
	err = db.View(ctx, func(tx node.Tx) error {
		return tx.EachRoomState(func(s *node.RoomState) bool {
			got = s.Members()
			return true
		})
	})
	if err != nil || len(got) != 1 || got[0] != "a@N" {
		t.Fatalf("members = %v, %v", got, err)
	}
}
