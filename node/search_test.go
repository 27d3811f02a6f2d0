package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store/memstore"
)

// heldIndex is a SearchIndex whose searches wait until released, so a
// test can hold searches running; it indexes nothing.
type heldIndex struct {
	started chan struct{}
	release chan struct{}
}

func (h *heldIndex) Index(context.Context, []node.SearchDoc, []node.EventID) error { return nil }
func (h *heldIndex) Built() bool                                                   { return true }
func (h *heldIndex) MarkBuilt(context.Context) error                               { return nil }
func (h *heldIndex) Search(ctx context.Context, _ node.IndexQuery) ([]node.SearchHit, error) {
	h.started <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return nil, nil
}

// TestSearchSlots: a user runs one search at a time and the node at most
// Config.Searches; past either the search is refused at once, before any
// of its work, and a slot is free again when its search ends.
func TestSearchSlots(t *testing.T) {
	ctx := context.Background()
	idx := &heldIndex{started: make(chan struct{}, 8), release: make(chan struct{})}
	db := memstore.New()
	n, err := node.New(ctx, node.Config{Store: db, Key: mustKey(t), HashConcurrency: 4, Search: idx, Searches: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); db.Close() })
	var users []node.UserID
	for _, name := range []string{"alice", "bobby", "carol"} {
		u, err := n.Register(ctx, name, "password123", "")
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	if _, err := n.CreateRoom(ctx, users[0], "lobby", "", node.Public); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	for _, u := range users[:2] {
		go func() {
			_, _, err := n.Search(ctx, u, node.SearchParams{Text: "held"})
			done <- err
		}()
		<-idx.started
	}
	for name, u := range map[string]node.UserID{"the same user again": users[0], "a third user": users[2]} {
		if _, _, err := n.Search(ctx, u, node.SearchParams{Text: "more"}); !errors.Is(err, node.ErrRateLimited) {
			t.Fatalf("%s while two run: %v, want rate limited", name, err)
		}
	}
	close(idx.release)
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("held searches never ended")
		}
	}
	if _, _, err := n.Search(ctx, users[2], node.SearchParams{Text: "now"}); err != nil {
		t.Fatalf("a search once the others ended: %v", err)
	}
}
