package storetest

import (
	"errors"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// testNotify: notification settings per user and room (a forgotten
// level is absent), push subscriptions per user and across users in
// (user, ID) order, and the push outbox in sequence order (the key order
// of seq 256 after 255 catches a non-big-endian key).
// Kept whole (over 80 lines): a conformance scenario, whose steps build on each other in order.
func testNotify(t *testing.T, s Store) {
	alice, bob := node.UserID("alice@n"), node.UserID("bob@n")
	mustView(t, s, func(tx node.Tx) error {
		if _, err := tx.NotifyPrefs(alice); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("absent prefs: %v, want ErrNotFound", err)
		}
		if _, err := tx.RoomNotify(alice, "r1"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("absent level: %v, want ErrNotFound", err)
		}
		if _, err := tx.PushSubscription(alice, "x"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("absent subscription: %v, want ErrNotFound", err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.PutNotifyPrefs(alice, &node.NotifyPrefs{DND: true, DNDUntil: 42}); err != nil {
			return err
		}
		for room, level := range map[node.RoomID]string{"r2": node.NotifyMute, "r1": node.NotifyAll, "r3": node.NotifyMentions} {
			if err := tx.PutRoomNotify(alice, room, level); err != nil {
				return err
			}
		}
		if err := tx.PutRoomNotify(bob, "r1", node.NotifyMute); err != nil {
			return err
		}
		for _, sub := range []*node.PushSubscription{
			{ID: "b", User: alice, Endpoint: "https://p/b"}, {ID: "a", User: alice, Endpoint: "https://p/a"},
			{ID: "c", User: bob, Endpoint: "https://p/c"},
		} {
			if err := tx.PutPushSubscription(sub); err != nil {
				return err
			}
		}
		for _, seq := range []uint64{256, 1, 255} {
			if err := tx.PutPushJob(&node.PushJob{Seq: seq, User: alice, Sub: "a", Payload: []byte(`{"room":"r1"}`)}); err != nil {
				return err
			}
		}
		return tx.PutRoomNotify(alice, "r3", "") // forgotten
	})
	mustView(t, s, func(tx node.Tx) error {
		if p, err := tx.NotifyPrefs(alice); err != nil || !p.DND || p.DNDUntil != 42 {
			t.Errorf("prefs = %+v, %v", p, err)
		}
		levels := map[node.RoomID]string{}
		var order []node.RoomID
		if err := tx.EachRoomNotify(alice, func(r node.RoomID, l string) bool {
			levels[r] = l
			order = append(order, r)
			return true
		}); err != nil {
			return err
		}
		if len(order) != 2 || order[0] != "r1" || levels["r1"] != node.NotifyAll || levels["r2"] != node.NotifyMute {
			t.Errorf("alice's levels = %v in order %v, want r1 all, r2 mute", levels, order)
		}
		if l, err := tx.RoomNotify(bob, "r1"); err != nil || l != node.NotifyMute {
			t.Errorf("bob's level = %q, %v", l, err)
		}
		var ids []string
		if err := tx.EachPushSubscription(alice, func(s *node.PushSubscription) bool { ids = append(ids, s.ID); return true }); err != nil {
			return err
		}
		if len(ids) != 2 || ids[0] != "a" || ids[1] != "b" {
			t.Errorf("alice's subscriptions = %v, want a, b", ids)
		}
		ids = nil
		if err := tx.EachPushSubscription("", func(s *node.PushSubscription) bool { ids = append(ids, s.ID); return true }); err != nil {
			return err
		}
		if len(ids) != 3 || ids[2] != "c" {
			t.Errorf("all subscriptions = %v, want a, b, c", ids)
		}
		var seqs []uint64
		if err := tx.EachPushJob(func(j *node.PushJob) bool { seqs = append(seqs, j.Seq); return true }); err != nil {
			return err
		}
		if len(seqs) != 3 || seqs[0] != 1 || seqs[1] != 255 || seqs[2] != 256 {
			t.Errorf("jobs = %v, want 1, 255, 256", seqs)
		}
		return nil
	})
	mustUpdate(t, s, func(tx node.Tx) error {
		if err := tx.DeletePushSubscription(alice, "a"); err != nil {
			return err
		}
		return tx.DeletePushJob(255)
	})
	mustView(t, s, func(tx node.Tx) error {
		if _, err := tx.PushSubscription(alice, "a"); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("deleted subscription: %v", err)
		}
		n := 0
		_ = tx.EachPushJob(func(*node.PushJob) bool { n++; return true })
		if n != 2 {
			t.Errorf("%d jobs after a delete, want 2", n)
		}
		return nil
	})
}
