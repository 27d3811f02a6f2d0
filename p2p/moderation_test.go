package p2p_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// TestModerationAcrossNodes: roles, a ban, a pin and an announcement
// setting made on one node hold on the others (real hosts in a line). A
// moderator on C bans a member of B: B refuses the user's rejoin and
// posts itself, A shows the ban; the room's powers and pins agree on all
// three nodes.
func TestModerationAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "town", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	mustJoin(t, c, uc, room.ID)
	view := func(n *p2ptest.Node, u node.UserID) *node.Room {
		t.Helper()
		r, err := n.Node.Room(bg, u, room.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if r := view(a, ua); !slices.Contains(r.Members, ub) || !slices.Contains(r.Members, uc) {
			return fmt.Errorf("a sees members %v", r.Members)
		}
		return nil
	})

	if err := a.Node.SetRole(bg, ua, room.ID, uc, node.RoleModerator); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if r := view(c, uc); r.Roles[uc] != node.RoleModerator {
			return fmt.Errorf("c sees roles %v", r.Roles)
		}
		return nil
	})

	// The moderator on C bans bob of B.
	if err := c.Node.Ban(bg, uc, room.ID, ub, "spam"); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		evs, _, err := a.Node.Timeline(bg, ua, room.ID, node.TimelineQuery{Moderation: true})
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Membership == node.MemberBan && e.User == ub && e.Sender == uc && e.Reason == "spam" {
				return nil
			}
		}
		return errors.New("a's moderation log lacks the ban")
	})
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if r := view(b, ub); slices.Contains(r.Members, ub) {
			return errors.New("b still lists bob as a member")
		}
		return nil
	})
	if _, err := b.Node.Join(bg, ub, room.ID); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("banned bob rejoins on his own node: %v", err)
	}
	if _, err := b.Node.Send(bg, ub, node.SendParams{Room: room.ID, Body: "still here"}); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("banned bob posts on his own node: %v", err)
	}
	if err := a.Node.Invite(bg, ua, room.ID, ub); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("banned bob invited: %v", err)
	}

	// An announcement room and a pin set on A hold on C: carol (a
	// moderator) may post, a plain member may not.
	mod := node.RoleModerator
	if _, err := a.Node.UpdateRoom(bg, ua, room.ID, node.RoomPatch{PostingRole: &mod}); err != nil {
		t.Fatal(err)
	}
	news := mustSend(t, a, ua, room.ID, "news")
	if err := a.Node.Pin(bg, ua, room.ID, news.ID, true); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		if r := view(c, uc); r.PostingRole != node.RoleModerator || !slices.Equal(r.Pinned, []node.EventID{news.ID}) {
			return fmt.Errorf("c sees postingRole %q, pinned %v", r.PostingRole, r.Pinned)
		}
		return nil
	})
	reply := mustSend(t, c, uc, room.ID, "moderators may post")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return a.Notes.HasMessage(ua, reply.ID) })
}
