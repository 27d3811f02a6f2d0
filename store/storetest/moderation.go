package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// testDeleteEvent: a deleted event is gone by ID and from room order;
// deleting it again, or an event never stored, is no error.
func testDeleteEvent(t *testing.T, s Store) {
	g := newSigner(t)
	a := g.event(t, node.EventMessage, "room1", 1_000_001, node.MessageContent{Body: "a"})
	b := g.event(t, node.EventMessage, "room1", 1_000_002, node.MessageContent{Body: "b"})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutEvent(a); err != nil {
			return err
		}
		return tx.PutEvent(b)
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.DeleteEvent("room1", a.Order()); err != nil {
			return err
		}
		if err := tx.DeleteEvent("room1", a.Order()); err != nil {
			return err
		}
		return tx.DeleteEvent("room1", order(42))
	})
	mustView(t, s, func(tx node.Tx) error {
		if ok, err := tx.HasEvent(a.ID); ok || err != nil {
			t.Errorf("HasEvent(deleted) = %v, %v", ok, err)
		}
		_, err := tx.Event(a.ID)
		wantNotFound(t, "a deleted event", err)
		var ids []node.EventID
		if err := tx.EachEventAfter("room1", nil, func(id node.EventID, _ node.OrderKey) bool {
			ids = append(ids, id)
			return true
		}); err != nil {
			return err
		}
		if !slices.Equal(ids, []node.EventID{b.ID}) {
			t.Errorf("room order after a deletion = %v, want only %s", ids, b.ID)
		}
		return nil
	})
}

// testDeleteMessage: a deleted message is gone by ID, from its room's
// pages, from its thread, its clientId and its reaction records; the
// others stay.
func testDeleteMessage(t *testing.T, s Store) {
	m1, m2 := message("room1", 1, "alice@N"), message("room1", 2, "alice@N")
	m2.Thread, m2.ClientID = m1.ID, "c2"
	mustUpdate(t, s, func(tx node.Tx) error {
		for _, m := range []*node.Message{m1, m2} {
			if err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		if err := tx.PutAggregates(m2.ID, &node.Aggregates{ThreadCount: 1}); err != nil {
			return err
		}
		if err := tx.PutUserReactions(m2.ID, "bob@N", &node.UserReactions{Keys: []node.UserReaction{{Key: "👍", First: order(3), On: true}}}); err != nil {
			return err
		}
		if err := tx.PutReactionState(m2.ID, "👍", "bob@N", &node.ReactionState{Order: order(3), On: true}); err != nil {
			return err
		}
		return tx.PutClientMessage("alice@N", "room1", "c2", m2.ID, time.Hour)
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.DeleteMessage(m2); err != nil {
			return err
		}
		return tx.DeleteMessage(message("room1", 7, "bob@N")) // never stored
	})
	mustView(t, s, func(tx node.Tx) error {
		_, err := tx.Message(m2.ID)
		wantNotFound(t, "a deleted message", err)
		_, err = tx.ClientMessage("alice@N", "room1", "c2")
		wantNotFound(t, "a deleted message's clientId", err)
		_, err = tx.UserReactions(m2.ID, "bob@N")
		wantNotFound(t, "a deleted message's reactions", err)
		_, err = tx.ReactionState(m2.ID, "👍", "bob@N")
		wantNotFound(t, "a deleted message's reaction register", err)
		if a, err := tx.Aggregates(m2.ID); err == nil && a != nil && a.ThreadCount != 0 {
			t.Errorf("a deleted message's aggregates remain: %+v", a)
		}
		page, _, err := tx.Messages("room1", nil, 10)
		if err != nil {
			return err
		}
		if len(page) != 1 || page[0].ID != m1.ID {
			t.Errorf("page after a deletion = %d messages", len(page))
		}
		thread, _, err := tx.ThreadMessages("room1", m1.ID, nil, 10)
		if err != nil || len(thread) != 0 {
			t.Errorf("thread after a deletion = %d, %v", len(thread), err)
		}
		if n, err := tx.CountMessagesAfter("room1", nil, "bob@N", 10); n != 1 || err != nil {
			t.Errorf("count after a deletion = %d, %v", n, err)
		}
		return nil
	})
}
