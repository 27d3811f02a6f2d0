package node_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestModerationActions drives every action of a room's moderators
// through the node's API, with the answers a client gets.
func TestModerationActions(t *testing.T) {
	ctx := context.Background()
	n, rec := newTestNode(t, "")
	owner, adam, mona, bob, eve := mustRegister(t, n, "owner"), mustRegister(t, n, "adam"), mustRegister(t, n, "mona"), mustRegister(t, n, "bob"), mustRegister(t, n, "eve")
	room, err := n.CreateRoom(ctx, owner, "town", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []node.UserID{adam, mona, bob, eve} {
		if _, err := n.Join(ctx, u, room.ID); err != nil {
			t.Fatal(err)
		}
	}
	mustOK := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wantErr := func(what string, err, kind error) {
		t.Helper()
		if !errors.Is(err, kind) {
			t.Fatalf("%s = %v, want %v", what, err, kind)
		}
	}
	mustOK("make adam admin", n.SetRole(ctx, owner, room.ID, adam, node.RoleAdmin))
	mustOK("adam makes mona moderator", n.SetRole(ctx, adam, room.ID, mona, node.RoleModerator))
	wantErr("mona makes bob moderator", n.SetRole(ctx, mona, room.ID, bob, node.RoleModerator), node.ErrForbidden)
	wantErr("adam demotes the owner", n.SetRole(ctx, adam, room.ID, owner, node.RoleMember), node.ErrForbidden)
	wantErr("bad role", n.SetRole(ctx, owner, room.ID, bob, "king"), node.ErrInvalid)

	v, err := n.Room(ctx, bob, room.ID)
	mustOK("room", err)
	if v.Roles[owner] != node.RoleOwner || v.Roles[adam] != node.RoleAdmin || v.Roles[mona] != node.RoleModerator || len(v.Roles) != 3 {
		t.Fatalf("roles = %v", v.Roles)
	}
	if v.PostingRole != node.RoleMember || v.Powers[node.PowerKick] != node.RoleModerator || v.Pinned == nil {
		t.Fatalf("postingRole %q, powers %v, pinned %v", v.PostingRole, v.Powers, v.Pinned)
	}

	// Kick: bob leaves the room and may come back.
	wantErr("bob kicks eve", n.Kick(ctx, bob, room.ID, eve, ""), node.ErrForbidden)
	wantErr("mona kicks adam", n.Kick(ctx, mona, room.ID, adam, ""), node.ErrForbidden)
	mustOK("mona kicks bob", n.Kick(ctx, mona, room.ID, bob, "calm down"))
	if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "hey"}); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("kicked user posts = %v", err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatalf("rejoin after a kick: %v", err)
	}
	if rec.kinds(eve, node.NoteMember) == 0 {
		t.Fatal("other members got no member frame")
	}

	// Ban: bob is out and stays out, whoever invites him.
	long := strings.Repeat("x", node.MaxReasonLen+1)
	wantErr("ban with a long reason", n.Ban(ctx, mona, room.ID, bob, long), node.ErrInvalid)
	mustOK("mona bans bob", n.Ban(ctx, mona, room.ID, bob, "spam"))
	mustOK("ban again is a no-op", n.Ban(ctx, mona, room.ID, bob, "spam"))
	wantErr("banned user joins", func() error { _, err := n.Join(ctx, bob, room.ID); return err }(), node.ErrForbidden)
	wantErr("banned user is invited", n.Invite(ctx, owner, room.ID, bob), node.ErrForbidden)
	wantErr("eve lifts the ban", n.Unban(ctx, eve, room.ID, bob), node.ErrForbidden)
	mustOK("mona lifts the ban", n.Unban(ctx, mona, room.ID, bob))
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatalf("join after unban: %v", err)
	}

	// A moderator deletes a member's message, not an admin's.
	bm, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "rude"})
	mustOK("bob posts", err)
	am, err := n.Send(ctx, adam, node.SendParams{Room: room.ID, Body: "rules"})
	mustOK("adam posts", err)
	wantErr("eve deletes bob's message", n.Delete(ctx, eve, room.ID, bm.ID), node.ErrForbidden)
	wantErr("mona deletes adam's message", n.Delete(ctx, mona, room.ID, am.ID), node.ErrForbidden)
	mustOK("mona deletes bob's message", n.Delete(ctx, mona, room.ID, bm.ID))
	if m, _ := n.Message(ctx, eve, room.ID, bm.ID); !m.Deleted || m.Body != "" {
		t.Fatalf("deleted message = %+v", m)
	}

	// Pins.
	wantErr("eve pins", n.Pin(ctx, eve, room.ID, am.ID, true), node.ErrForbidden)
	mustOK("mona pins", n.Pin(ctx, mona, room.ID, am.ID, true))
	wantErr("pin a message of no room", n.Pin(ctx, mona, room.ID, "nosuch", true), node.ErrNotFound)
	if v, _ := n.Room(ctx, eve, room.ID); !slices.Equal(v.Pinned, []node.EventID{am.ID}) {
		t.Fatalf("pinned = %v", v.Pinned)
	}
	mustOK("mona unpins", n.Pin(ctx, mona, room.ID, am.ID, false))

	// An announcement room: only moderators and up post.
	modRole := node.RoleModerator
	wantErr("mona sets who may post", func() error {
		_, err := n.UpdateRoom(ctx, mona, room.ID, node.RoomPatch{PostingRole: &modRole})
		return err
	}(), node.ErrForbidden)
	v, err = n.UpdateRoom(ctx, adam, room.ID, node.RoomPatch{PostingRole: &modRole})
	mustOK("adam makes an announcement room", err)
	if v.PostingRole != node.RoleModerator {
		t.Fatalf("postingRole = %q", v.PostingRole)
	}
	if _, err := n.Send(ctx, eve, node.SendParams{Room: room.ID, Body: "me too"}); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("member posts in an announcement room = %v", err)
	}
	if _, err := n.Send(ctx, mona, node.SendParams{Room: room.ID, Body: "news"}); err != nil {
		t.Fatalf("moderator posts in an announcement room: %v", err)
	}

	// Ownership: transferred by making another owner; the last owner
	// cannot step down alone; an owner who leaves hands over.
	wantErr("the only owner steps down", n.SetRole(ctx, owner, room.ID, owner, node.RoleAdmin), node.ErrForbidden)
	mustOK("owner hands over to adam", n.SetRole(ctx, owner, room.ID, adam, node.RoleOwner))
	v, _ = n.Room(ctx, eve, room.ID)
	if v.Roles[adam] != node.RoleOwner || v.Roles[owner] != node.RoleAdmin {
		t.Fatalf("after the transfer roles = %v", v.Roles)
	}
	mustOK("adam leaves", n.Leave(ctx, adam, room.ID))
	v, _ = n.Room(ctx, eve, room.ID)
	if v.Roles[owner] != node.RoleOwner {
		t.Fatalf("after the owner left, roles = %v (the admin should own it)", v.Roles)
	}

	// The moderation log lists what moderators did, with reasons.
	evs, _, err := n.Timeline(ctx, eve, room.ID, node.TimelineQuery{Moderation: true})
	mustOK("moderation log", err)
	got := strings.Join(lines(evs), "\n")
	for _, want := range []string{
		`member by mona: bob ban reason="spam"`, `member by mona: bob kick reason="calm down"`,
		`member by mona: bob unban`, `member by adam: mona role`, `room.powers by adam`,
		`room.pin by mona`, `message.delete by mona: bob`, `member by owner: adam role`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("moderation log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "join") {
		t.Errorf("moderation log lists joins:\n%s", got)
	}
}
