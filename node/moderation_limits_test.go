package node_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// TestModerationLimits: the local API's caps on what moderators make a
// room hold: MaxPinned pinned messages and MaxListedRoles members above
// member (here users of another node, joined by signed events).
func TestModerationLimits(t *testing.T) {
	ctx := context.Background()
	n, _ := newTestNode(t, "")
	owner := mustRegister(t, n, "owner")
	room, err := n.CreateRoom(ctx, owner, "big", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []node.EventID
	for i := range node.MaxPinned + 1 {
		m, err := n.Send(ctx, owner, node.SendParams{Room: room.ID, Body: fmt.Sprint("rule ", i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m.ID)
	}
	for _, id := range msgs[:node.MaxPinned] {
		if err := n.Pin(ctx, owner, room.ID, id, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Pin(ctx, owner, room.ID, msgs[node.MaxPinned], true); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("pin past MaxPinned = %v, want ErrForbidden", err)
	}
	if err := n.Pin(ctx, owner, room.ID, msgs[0], false); err != nil {
		t.Fatal(err)
	}
	if err := n.Pin(ctx, owner, room.ID, msgs[node.MaxPinned], true); err != nil {
		t.Fatalf("pin after an unpin: %v", err)
	}
	v, err := n.Room(ctx, owner, room.ID)
	if err != nil || len(v.Pinned) != node.MaxPinned || v.Pinned[0] != msgs[node.MaxPinned] || slices.Contains(v.Pinned, msgs[0]) {
		t.Fatalf("pinned = %d, newest first %v: %v", len(v.Pinned), v.Pinned[:1], err)
	}

	w := newWorld(t)
	w.ts = time.Now().UnixMilli()
	var remote []node.UserID
	for i := range node.MaxListedRoles + 1 {
		u := w.user(fmt.Sprintf("u%03d", i), "R")
		if err := n.Ingest(ctx, w.member(room.ID, u, u, node.MemberJoin)); err != nil {
			t.Fatal(err)
		}
		remote = append(remote, u)
	}
	// The owner counts as one above member.
	for _, u := range remote[:node.MaxListedRoles-1] {
		if err := n.SetRole(ctx, owner, room.ID, u, node.RoleModerator); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.SetRole(ctx, owner, room.ID, remote[node.MaxListedRoles-1], node.RoleModerator); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("role past MaxListedRoles = %v, want ErrForbidden", err)
	}
	if err := n.SetRole(ctx, owner, room.ID, remote[0], node.RoleAdmin); err != nil {
		t.Fatalf("a new role for a moderator is no new elevated member: %v", err)
	}
	v, err = n.Room(ctx, owner, room.ID)
	if err != nil || len(v.Roles) != node.MaxListedRoles || v.Roles[owner] != node.RoleOwner || v.Roles[remote[0]] != node.RoleAdmin {
		t.Fatalf("roles: %d listed, owner %q, first %q: %v", len(v.Roles), v.Roles[owner], v.Roles[remote[0]], err)
	}
}

// TestModerationLogsAreBounded: a room keeps a bounded log of pin and
// powers changes however many are made, and the newest decide.
func TestModerationLogsAreBounded(t *testing.T) {
	m := newModRoom(t)
	for i := range 300 {
		apply(t, m.s, m.w.event(m.id, m.mod, node.EventPin, node.PinContent{Target: m.msgOf[m.victim], On: i%2 == 0}))
	}
	if got := len(m.s.Pins); got > 128 {
		t.Fatalf("pin log holds %d changes", got)
	}
	if m.s.IsPinned(m.msgOf[m.victim]) {
		t.Fatal("the last change (an unpin) does not decide")
	}
	levels := []string{node.RoleMember, node.RoleModerator, node.RoleAdmin}
	for i := range 100 {
		apply(t, m.s, m.powers(m.admin, node.Powers{node.PowerPin: levels[i%3]}))
	}
	if got := len(m.s.PowersLog); got > 32 {
		t.Fatalf("powers log holds %d changes", got)
	}
	if got := m.s.Powers()[node.PowerPin]; got != levels[99%3] {
		t.Fatalf("pin level = %q after the last change set %q", got, levels[99%3])
	}
}
