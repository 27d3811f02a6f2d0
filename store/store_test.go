package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
)

func mustOpen(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func order(i int) node.OrderKey {
	return node.MakeOrderKey(node.Stamp{Wall: int64(1_000_000 + i)}, node.EventID(fmt.Sprintf("e%06d", i)))
}

func testMessage(room node.RoomID, i int) *node.Message {
	return &node.Message{ID: node.EventID(fmt.Sprintf("%s-m%d", room, i)), Room: room, Sender: "alice@N", Body: fmt.Sprint(i), TS: int64(i), Order: order(i)}
}

func putMessages(t testing.TB, db *store.DB, room node.RoomID, from, to int) {
	t.Helper()
	ctx := context.Background()
	for start := from; start < to; start += 1000 {
		err := db.Update(ctx, func(tx node.Tx) error {
			for i := start; i < min(start+1000, to); i++ {
				if err := tx.PutMessage(testMessage(room, i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessagesPageAndCount(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	defer db.Close()
	putMessages(t, db, "room1", 0, 250)
	putMessages(t, db, "room10", 0, 5) // a room whose ID extends room1's

	err := db.View(ctx, func(tx node.Tx) error {
		page, more, err := tx.Messages("room1", nil, 100)
		if err != nil {
			return err
		}
		if len(page) != 100 || !more || page[0].Body != "249" || page[99].Body != "150" {
			return fmt.Errorf("first page: %d msgs, more=%v, first %q", len(page), more, page[0].Body)
		}
		page, more, err = tx.Messages("room1", page[99].Order, 200)
		if err != nil {
			return err
		}
		if len(page) != 150 || more || page[0].Body != "149" || page[149].Body != "0" {
			return fmt.Errorf("second page: %d msgs, more=%v", len(page), more)
		}
		n, err := tx.CountMessagesAfter("room1", order(239), "bob@N", 999)
		if err != nil || n != 10 {
			return fmt.Errorf("count after 239 = %d, %v; want 10", n, err)
		}
		n, _ = tx.CountMessagesAfter("room1", nil, "alice@N", 999)
		if n != 0 {
			return fmt.Errorf("own messages counted as unread: %d", n)
		}
		m, err := tx.Message("room1-m42")
		if err != nil || m.Body != "42" || string(m.Order) != string(order(42)) {
			return fmt.Errorf("message by id = %+v, %v", m, err)
		}
		if _, err := tx.Message("nope"); !errors.Is(err, node.ErrNotFound) {
			return fmt.Errorf("missing message = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDurableRunsInOrderAfterSync(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		db.Durable(func(err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, v := range got {
		if v != i {
			t.Fatalf("callback %d ran at position %d", v, i)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	db.Durable(func(err error) { done <- err })
	if err := <-done; !errors.Is(err, node.ErrClosed) {
		t.Fatalf("Durable after Close = %v, want ErrClosed", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, dir)
	putMessages(t, db, "r", 0, 10)
	err := db.Update(ctx, func(tx node.Tx) error {
		return tx.PutSession(&node.Session{ID: "s1", User: "alice@N", ExpiresAt: time.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, dir)
	defer db.Close()
	err = db.View(ctx, func(tx node.Tx) error {
		page, _, err := tx.Messages("r", nil, 50)
		if err != nil || len(page) != 10 {
			return fmt.Errorf("after reopen: %d messages, %v", len(page), err)
		}
		var ids []string
		err = tx.EachSessionOf("alice@N", func(s *node.Session) bool { ids = append(ids, s.ID); return true })
		if err != nil || len(ids) != 1 {
			return fmt.Errorf("sessions after reopen: %v, %v", ids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	defer db.Close()
	if _, err := store.Open(dir, store.Options{}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
}

// TestBulkMatchesUpdate: the benchmarks' bulk fixture stores what Update
// stores.
func TestBulkMatchesUpdate(t *testing.T) {
	ctx := context.Background()
	a, b := mustOpen(t, t.TempDir()), mustOpen(t, t.TempDir())
	defer a.Close()
	defer b.Close()
	putMessages(t, a, "r", 0, 120)
	putMessagesBulk(t, b, "r", 0, 120)
	var pages [2][]*node.Message
	for i, db := range []*store.DB{a, b} {
		err := db.View(ctx, func(tx node.Tx) error {
			page, _, err := tx.Messages("r", order(100), 50)
			if err != nil {
				return err
			}
			m, err := tx.Message("r-m7")
			pages[i] = append(page, m)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(pages[0], pages[1]) {
		t.Fatalf("bulk fixture differs from Update:\n%+v\n%+v", pages[0], pages[1])
	}
}
