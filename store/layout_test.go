package store_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestPageReadsIgnoreRewrites: a message rewritten many times (edits; in
// schema 1 every reaction too) leaves versions behind until compaction.
// A page read of its room, of a room whose ID sorts next to it and an
// unread count must not walk them: each costs O(page), not O(versions).
func TestPageReadsIgnoreRewrites(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	defer db.Close()
	body := strings.Repeat("x", 16<<10)
	m := &node.Message{ID: "hot", Room: "roomA", Sender: "alice@N", Body: body, TS: 1, Order: order(1)}
	for i := range 600 {
		m.Body = body[:len(body)-i]
		if err := db.Update(ctx, func(tx node.Tx) error { return tx.PutMessage(m) }); err != nil {
			t.Fatal(err)
		}
	}
	putMessages(t, db, "roomC", 10, 20)
	reads := map[string]func(tx node.Tx) error{
		"page of the rewritten room": func(tx node.Tx) error {
			page, _, err := tx.Messages("roomA", nil, 1)
			if err == nil && (len(page) != 1 || page[0].ID != "hot") {
				err = fmt.Errorf("page = %v", page)
			}
			return err
		},
		"page of an empty room sorting after it": func(tx node.Tx) error {
			page, _, err := tx.Messages("roomB", nil, 50)
			if err == nil && len(page) != 0 {
				err = fmt.Errorf("page = %v", page)
			}
			return err
		},
		"unread count": func(tx node.Tx) error {
			n, err := tx.CountMessagesAfter("roomA", nil, "bob@N", 999)
			if err == nil && n != 1 {
				err = fmt.Errorf("count = %d", n)
			}
			return err
		},
	}
	for name, read := range reads {
		var err error
		got := allocated(func() { err = db.View(ctx, read) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// One 16 KiB record is read at most; 600 versions would be ~5 MiB.
		if got > 512<<10 {
			t.Errorf("%s allocated %d KiB: it walks the rewritten record's versions", name, got>>10)
		}
	}
}

// TestMigrateV1: a schema 1 database opens in the current schema with its reactions,
// thread counts and idempotent sends carried over.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := func(i int) string { return base64.StdEncoding.EncodeToString(order(i)) }
	loc := "r1/" + string(order(1))
	recs := map[string][]byte{
		"msg/" + loc: []byte(`{"id":"m1","room":"r1","sender":"alice@N","body":"hello","ts":1,"threadCount":2,` +
			`"reactions":{"👍":["bob@N","carol@N"],"not an emoji":["bob@N"]},` +
			`"ro":{"👍\u0000bob@N":"` + o(5) + `","👍\u0000carol@N":"` + o(6) + `","🎉\u0000bob@N":"` + o(7) + `","not an emoji\u0000bob@N":"` + o(8) + `"},` +
			`"o":"` + o(1) + `"}`),
		"msg/r1/" + string(order(2)): []byte(`{"id":"m2","room":"r1","sender":"bob@N","body":"plain","ts":2,"o":"` + o(2) + `"}`),
	}
	ids := map[node.EventID]string{"m1": loc, "m2": "r1/" + string(order(2))}
	if err := store.WriteV1Fixture(dir, recs, ids, map[string]node.EventID{"cid/alice@N/c1": "m1"}); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second open finds schema 2 and changes nothing
		db := mustOpen(t, dir)
		err := db.View(ctx, func(tx node.Tx) error {
			page, more, err := tx.Messages("r1", nil, 10)
			if err != nil {
				return err
			}
			if len(page) != 2 || more || page[0].ID != "m2" || page[1].ID != "m1" {
				return fmt.Errorf("page = %+v", page)
			}
			m := page[1]
			if m.Body != "hello" || m.ThreadCount != 2 || len(m.Reactions) != 1 ||
				m.Reactions[0].Emoji != "👍" || m.Reactions[0].Count != 2 {
				return fmt.Errorf("m1 = %+v", m)
			}
			if n, err := tx.CountMessagesAfter("r1", nil, "carol@N", 99); err != nil || n != 2 {
				return fmt.Errorf("unread = %d, %v", n, err)
			}
			ur, err := tx.UserReactions("m1", "bob@N")
			if err != nil || len(ur.Keys) != 1 || ur.Keys[0].Key != "👍" || !ur.Keys[0].On {
				return fmt.Errorf("bob's reactions = %+v, %v", ur, err)
			}
			if id, err := tx.ClientMessage("alice@N", "r1", "c1"); err != nil || id != "m1" {
				return fmt.Errorf("clientId = %q, %v", id, err)
			}
			return nil
		})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
	}
}
