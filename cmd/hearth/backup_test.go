package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

func startTestMain(t *testing.T, data string) *Main {
	t.Helper()
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m
}

// TestBackupAndRestore backs up a running node through its admin socket,
// restores into an empty directory, and checks the restored node has the
// same identity, users, rooms and messages.
func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	m := startTestMain(t, src)
	u, err := m.node.Register(ctx, "alice", "correct horse", "")
	if err != nil {
		t.Fatal(err)
	}
	room, err := m.node.CreateRoom(ctx, u.ID, "Kept", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	var sent []node.EventID
	for _, body := range []string{"one", "two", "three"} {
		msg, err := m.node.Send(ctx, u.ID, node.SendParams{Room: room.ID, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msg.ID)
	}
	file := bytes.Repeat([]byte("a file worth keeping "), 5000)
	up, err := m.node.Upload(ctx, u.ID, node.UploadParams{Name: "kept.txt", Length: int64(len(file)), Body: bytes.NewReader(file)})
	if err != nil {
		t.Fatal(err)
	}
	withFile, err := m.node.Send(ctx, u.ID, node.SendParams{Room: room.ID, Attachments: []json.RawMessage{json.RawMessage(`{"id":"` + string(up.ID) + `"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	sent = append(sent, withFile.ID)
	id := m.node.ID()

	backup := filepath.Join(t.TempDir(), "node.backup")
	var out bytes.Buffer
	if err := backupCommand(ctx, []string{"--data", src, backup}, &out, io.Discard); err != nil {
		t.Fatalf("backup of a running node: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "dst")
	if err := restoreCommand(ctx, []string{"--data", dst, backup}, &out, io.Discard); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(out.String(), "with 1 media files") {
		t.Errorf("restore said %q", out.String())
	}
	if err := restoreCommand(ctx, []string{"--data", dst, backup}, &out, io.Discard); err == nil {
		t.Fatal("restore into a non-empty directory succeeded")
	}
	for _, key := range []string{"node.key", "token.key", "vapid.key"} {
		want, err := os.ReadFile(filepath.Join(src, key))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dst, key)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("restored %s differs from the original (%v): browsers' push subscriptions would break", key, err)
		}
	}
	r := startTestMain(t, dst)
	defer r.Close()
	if r.node.ID() != id {
		t.Fatalf("restored node id %s, want %s", r.node.ID(), id)
	}
	if _, err := r.node.Login(ctx, "alice", "correct horse"); err != nil {
		t.Fatalf("login on restored node: %v", err)
	}
	msgs, _, err := r.node.History(ctx, u.ID, room.ID, "", "", 10)
	if err != nil || len(msgs) != 4 || msgs[0].ID != sent[3] || msgs[3].ID != sent[0] {
		t.Fatalf("restored history = %d messages, %v", len(msgs), err)
	}
	_, f, err := r.node.OpenMedia(ctx, u.ID, up.ID)
	if err != nil {
		t.Fatalf("restored media: %v", err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, file) {
		t.Fatal("restored media differs")
	}

	// A version 2 file (before vapid.key) still restores: the same
	// backup with that key's chunk cut out.
	v3, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	rest := bytes.NewReader(v3[len(backupMagic):])
	v2 := bytes.NewBufferString(backupMagicV2)
	for i := range 3 {
		k, err := readChunk(rest, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 { // node.key and token.key; vapid.key is cut
			_ = writeChunk(v2, k)
		}
	}
	_, _ = rest.WriteTo(v2)
	old := filepath.Join(t.TempDir(), "v2.backup")
	if err := os.WriteFile(old, v2.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dst2 := filepath.Join(t.TempDir(), "dst2")
	if err := restoreCommand(ctx, []string{"--data", dst2, old}, &out, io.Discard); err != nil {
		t.Fatalf("restore of a version 2 backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst2, "vapid.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a version 2 backup restored a vapid.key: %v", err)
	}

	// With the node stopped, backup opens the directory itself.
	r.Close()
	if err := backupCommand(ctx, []string{"--data", dst, filepath.Join(t.TempDir(), "offline.backup")}, &out, io.Discard); err != nil {
		t.Fatalf("offline backup: %v", err)
	}
}
