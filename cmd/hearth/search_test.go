package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSearchOff runs a node with --search=false: it keeps no index in
// its data directory, searches answer 503 unavailable, and sending still
// works. Run again with search on, the same directory gets its index.
func TestSearchOff(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false", "--search=false"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	api := &apiClient{base: "http://" + m.HTTPAddr()}
	users, room := api.sharedRoom(t, "quiet", 1)
	api.mustDo(t, "POST", "/api/v1/rooms/"+room+"/messages", users[0], map[string]string{"body": "no index for this"}, 201, nil)
	api.mustDo(t, "GET", "/api/v1/search?q=index", users[0], nil, 503, nil)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "search")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a node with --search=false made %s/search: %v", data, err)
	}
	on := startTestMain(t, data)
	defer on.Close()
	if _, err := os.Stat(filepath.Join(data, "search")); err != nil {
		t.Fatalf("search on: no index directory: %v", err)
	}
}
