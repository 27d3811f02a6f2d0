package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// TestMigrationIndexesRoomKeys opens a schema-1 database, which held room
// keys only as room.key events, and finds them indexed by room and epoch,
// the earlier event winning an epoch that two events claim.
func TestMigrationIndexesRoomKeys(t *testing.T) {
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := node.NewSigner(key)
	keyEvent := func(ts int64, epoch uint32) *node.Event {
		c, _ := json.Marshal(node.RoomKeyContent{Epoch: epoch, Keys: map[node.NodeID][]byte{signer.NodeID(): make([]byte, 72)}})
		e := &node.Event{Type: node.EventRoomKey, Room: "r1", Sender: node.NewUserID("alice", signer.NodeID()), TS: ts, Content: c}
		if err := signer.Seal(e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	later1, earlier1, second := keyEvent(2_000_000, 1), keyEvent(1_000_000, 1), keyEvent(3_000_000, 2)
	msg := &node.Event{Type: node.EventMessage, Room: "r1", Sender: node.NewUserID("alice", signer.NodeID()), TS: 1_500_000, Content: json.RawMessage(`{"body":"room.key"}`)}
	if err := signer.Seal(msg); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	db := mustOpen(t, dir)
	if err := db.Update(ctx, func(tx node.Tx) error {
		for _, e := range []*node.Event{later1, msg, earlier1, second} {
			if err := tx.PutEvent(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetSchemaVersion(db, 1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = mustOpen(t, dir)
	defer db.Close()
	if v, err := store.SchemaVersionOf(db); err != nil || v != store.SchemaVersion {
		t.Fatalf("schema after open = %d, %v; want %d", v, err, store.SchemaVersion)
	}
	err := db.View(ctx, func(tx node.Tx) error {
		latest, err := tx.LatestRoomKeyRef("r1")
		if err != nil {
			return err
		}
		if latest.Epoch != 2 || latest.Event != second.ID {
			t.Errorf("latest = %+v, want epoch 2 from %s", latest, second.ID)
		}
		one, err := tx.RoomKeyRef("r1", 1)
		if err != nil {
			return err
		}
		if one.Event != earlier1.ID || len(one.Nodes) != 1 || one.Nodes[0] != signer.NodeID() {
			t.Errorf("epoch 1 = %+v, want the earlier event %s", one, earlier1.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
