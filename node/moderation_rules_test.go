package node_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// modRoom is a public room with one user of each role and two plain
// members to act on.
type modRoom struct {
	w                                *world
	id                               node.RoomID
	s                                *node.RoomState
	owner, admin, mod, member        node.UserID
	victim, other, outsider, invitee node.UserID
	msgOf                            map[node.UserID]node.EventID
}

func newModRoom(t *testing.T) *modRoom {
	w := newWorld(t)
	m := &modRoom{w: w, id: "rmod", s: node.NewRoomState("rmod"), msgOf: map[node.UserID]node.EventID{}}
	m.owner, m.admin, m.mod, m.member = w.user("owner", "A"), w.user("adam", "B"), w.user("mona", "C"), w.user("mel", "A")
	m.victim, m.other, m.outsider, m.invitee = w.user("vic", "B"), w.user("otto", "C"), w.user("oscar", "D"), w.user("ivy", "D")
	apply(t, m.s, w.event(m.id, m.owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: node.Public}))
	for _, u := range []node.UserID{m.admin, m.mod, m.member, m.victim, m.other} {
		apply(t, m.s, w.member(m.id, u, u, node.MemberJoin))
	}
	apply(t, m.s, m.role(m.owner, m.admin, node.RoleAdmin), m.role(m.owner, m.mod, node.RoleModerator))
	for _, u := range []node.UserID{m.owner, m.admin, m.mod, m.member, m.victim} {
		e := w.msg(m.id, u)
		apply(t, m.s, e)
		m.msgOf[u] = e.ID
	}
	return m
}

func (m *modRoom) role(actor, target node.UserID, role string) *node.Event {
	return m.w.event(m.id, actor, node.EventMember, node.MemberContent{User: target, Membership: node.MemberRole, Role: role})
}

func (m *modRoom) powers(actor node.UserID, ps node.Powers) *node.Event {
	return m.w.event(m.id, actor, node.EventPowers, node.PowersContent{Powers: ps})
}

func strp(s string) *string { return &s }

// attempt exercises one power as actor and returns Authorize's verdict.
func (m *modRoom) attempt(p node.Power, actor node.UserID) error {
	w, id := m.w, m.id
	switch p {
	case node.PowerPost:
		return m.s.Authorize(w.msg(id, actor))
	case node.PowerInvite:
		return m.s.Authorize(w.member(id, actor, m.outsider, node.MemberInvite))
	case node.PowerKick:
		return m.s.Authorize(w.member(id, actor, m.victim, node.MemberKick))
	case node.PowerBan:
		return m.s.Authorize(w.member(id, actor, m.victim, node.MemberBan))
	case node.PowerDelete:
		e := w.event(id, actor, node.EventDelete, node.DeleteContent{Target: m.msgOf[m.victim]})
		if err := m.s.Authorize(e); err != nil {
			return err
		}
		return m.s.MayDelete(actor, m.victim, e.Order())
	case node.PowerPin:
		return m.s.Authorize(w.event(id, actor, node.EventPin, node.PinContent{Target: m.msgOf[m.victim], On: true}))
	case node.PowerName:
		return m.s.Authorize(w.event(id, actor, node.EventUpdate, node.RoomUpdateContent{Name: strp("renamed")}))
	case node.PowerTopic:
		return m.s.Authorize(w.event(id, actor, node.EventUpdate, node.RoomUpdateContent{Topic: strp("a topic")}))
	case node.PowerAvatar:
		return m.s.Authorize(w.event(id, actor, node.EventUpdate, node.RoomUpdateContent{Avatar: strp("media1")}))
	case node.PowerRoles:
		return m.s.Authorize(m.role(actor, m.victim, node.RoleMember)) // no change needs no rank above member
	case node.PowerPowers:
		return m.s.Authorize(m.powers(actor, node.Powers{node.PowerInvite: node.RoleMember}))
	}
	panic("unknown power " + p)
}

// TestPowersByRole checks every power for every role, under the default
// table and under a changed one.
func TestPowersByRole(t *testing.T) {
	tables := []struct {
		name string
		set  node.Powers // applied by the owner first; nil keeps defaults
	}{
		{"defaults", nil},
		{"announcement room, members pin, admins kick", node.Powers{
			node.PowerPost: node.RoleModerator, node.PowerPin: node.RoleMember, node.PowerKick: node.RoleAdmin,
			node.PowerTopic: node.RoleModerator, node.PowerInvite: node.RoleAdmin,
		}},
		{"owner only", node.Powers{
			node.PowerPost: node.RoleOwner, node.PowerInvite: node.RoleOwner, node.PowerKick: node.RoleOwner,
			node.PowerBan: node.RoleOwner, node.PowerDelete: node.RoleOwner, node.PowerPin: node.RoleOwner,
			node.PowerName: node.RoleOwner, node.PowerTopic: node.RoleOwner, node.PowerAvatar: node.RoleOwner,
			node.PowerRoles: node.RoleOwner, node.PowerPowers: node.RoleOwner,
		}},
	}
	for _, tb := range tables {
		t.Run(tb.name, func(t *testing.T) {
			m := newModRoom(t)
			if tb.set != nil {
				apply(t, m.s, m.powers(m.owner, tb.set))
			}
			table := m.s.Powers()
			if tb.set != nil && table[node.PowerPost] != tb.set[node.PowerPost] {
				t.Fatalf("table = %v", table)
			}
			for _, p := range node.AllPowers() {
				for _, a := range []struct {
					role string
					u    node.UserID
				}{{node.RoleOwner, m.owner}, {node.RoleAdmin, m.admin}, {node.RoleModerator, m.mod}, {node.RoleMember, m.member}} {
					t.Run(fmt.Sprintf("%s by %s", p, a.role), func(t *testing.T) {
						want := node.Rank(a.role) >= node.Rank(table[p])
						err := m.attempt(p, a.u)
						if want && err != nil {
							t.Fatalf("refused: %v", err)
						}
						if !want && !errors.Is(err, node.ErrForbidden) {
							t.Fatalf("= %v, want ErrForbidden", err)
						}
					})
				}
			}
		})
	}
}

func TestModerationRules(t *testing.T) {
	cases := []struct {
		name string
		run  func(m *modRoom) error
		want error // nil: allowed
	}{
		{"admin cannot demote the owner", func(m *modRoom) error { return m.s.Authorize(m.role(m.admin, m.owner, node.RoleMember)) }, node.ErrForbidden},
		{"admin cannot kick the owner", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.admin, m.owner, node.MemberKick)) }, node.ErrForbidden},
		{"moderator cannot ban an admin", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.mod, m.admin, node.MemberBan)) }, node.ErrForbidden},
		{"moderator cannot kick a moderator", func(m *modRoom) error {
			apply(m.w.t, m.s, m.role(m.owner, m.other, node.RoleModerator))
			return m.s.Authorize(m.w.member(m.id, m.mod, m.other, node.MemberKick))
		}, node.ErrForbidden},
		{"admins cannot ban each other", func(m *modRoom) error {
			apply(m.w.t, m.s, m.role(m.owner, m.other, node.RoleAdmin))
			return m.s.Authorize(m.w.member(m.id, m.admin, m.other, node.MemberBan))
		}, node.ErrForbidden},
		{"admin cannot make an owner", func(m *modRoom) error { return m.s.Authorize(m.role(m.admin, m.victim, node.RoleOwner)) }, node.ErrForbidden},
		{"admin may make an admin", func(m *modRoom) error { return m.s.Authorize(m.role(m.admin, m.victim, node.RoleAdmin)) }, nil},
		{"owner may make an owner", func(m *modRoom) error { return m.s.Authorize(m.role(m.owner, m.admin, node.RoleOwner)) }, nil},
		{"a user may step down", func(m *modRoom) error { return m.s.Authorize(m.role(m.admin, m.admin, node.RoleModerator)) }, nil},
		{"nobody steps up", func(m *modRoom) error { return m.s.Authorize(m.role(m.mod, m.mod, node.RoleAdmin)) }, node.ErrForbidden},
		{"no unknown role", func(m *modRoom) error { return m.s.Authorize(m.role(m.owner, m.victim, "god")) }, node.ErrInvalid},
		{"roles only of members", func(m *modRoom) error { return m.s.Authorize(m.role(m.owner, m.outsider, node.RoleAdmin)) }, node.ErrForbidden},
		{"no kicking oneself", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.mod, m.mod, node.MemberKick)) }, node.ErrForbidden},
		{"kick needs the user in the room", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.mod, m.outsider, node.MemberKick)) }, node.ErrForbidden},
		{"ban of a user never seen", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.mod, m.outsider, node.MemberBan)) }, nil},
		{"a banned user cannot join", func(m *modRoom) error {
			apply(m.w.t, m.s, m.w.member(m.id, m.mod, m.victim, node.MemberBan))
			return m.s.Authorize(m.w.member(m.id, m.victim, m.victim, node.MemberJoin))
		}, node.ErrForbidden},
		{"a banned user cannot be invited", func(m *modRoom) error {
			apply(m.w.t, m.s, m.w.member(m.id, m.mod, m.outsider, node.MemberBan))
			return m.s.Authorize(m.w.member(m.id, m.owner, m.outsider, node.MemberInvite))
		}, node.ErrForbidden},
		{"unban needs the ban power", func(m *modRoom) error {
			apply(m.w.t, m.s, m.w.member(m.id, m.mod, m.victim, node.MemberBan))
			return m.s.Authorize(m.w.member(m.id, m.member, m.victim, node.MemberLeave))
		}, node.ErrForbidden},
		{"unban, then join", func(m *modRoom) error {
			apply(m.w.t, m.s, m.w.member(m.id, m.mod, m.victim, node.MemberBan), m.w.member(m.id, m.mod, m.victim, node.MemberLeave))
			return m.s.Authorize(m.w.member(m.id, m.victim, m.victim, node.MemberJoin))
		}, nil},
		{"only bans are lifted by others", func(m *modRoom) error { return m.s.Authorize(m.w.member(m.id, m.owner, m.victim, node.MemberLeave)) }, node.ErrForbidden},
		{"a kicked moderator has no power left", func(m *modRoom) error {
			apply(m.w.t, m.s, m.w.member(m.id, m.admin, m.mod, node.MemberKick), m.w.member(m.id, m.mod, m.mod, node.MemberJoin))
			return m.s.Authorize(m.w.member(m.id, m.mod, m.victim, node.MemberKick))
		}, node.ErrForbidden},
		{"role change by a user demoted earlier in order", func(m *modRoom) error {
			apply(m.w.t, m.s, m.role(m.owner, m.admin, node.RoleMember))
			return m.s.Authorize(m.role(m.admin, m.victim, node.RoleModerator))
		}, node.ErrForbidden},
		{"moderator deletes a member's message", func(m *modRoom) error {
			return m.s.MayDelete(m.mod, m.victim, m.w.msg(m.id, m.mod).Order())
		}, nil},
		{"moderator cannot delete an admin's message", func(m *modRoom) error {
			return m.s.MayDelete(m.mod, m.admin, m.w.msg(m.id, m.mod).Order())
		}, node.ErrForbidden},
		{"powers: admin cannot raise a power above admin", func(m *modRoom) error {
			return m.s.Authorize(m.powers(m.admin, node.Powers{node.PowerPost: node.RoleOwner}))
		}, node.ErrForbidden},
		{"powers: admin cannot lower an owner-only power", func(m *modRoom) error {
			apply(m.w.t, m.s, m.powers(m.owner, node.Powers{node.PowerPin: node.RoleOwner}))
			return m.s.Authorize(m.powers(m.admin, node.Powers{node.PowerPin: node.RoleMember}))
		}, node.ErrForbidden},
		{"powers: roles stay with admins", func(m *modRoom) error {
			return m.s.Authorize(m.powers(m.owner, node.Powers{node.PowerRoles: node.RoleModerator}))
		}, node.ErrInvalid},
		{"powers: unknown power", func(m *modRoom) error {
			return m.s.Authorize(m.powers(m.owner, node.Powers{"launch": node.RoleMember}))
		}, node.ErrInvalid},
		{"announcement room refuses members", func(m *modRoom) error {
			apply(m.w.t, m.s, m.powers(m.owner, node.Powers{node.PowerPost: node.RoleModerator}))
			return m.s.Authorize(m.w.msg(m.id, m.member))
		}, node.ErrForbidden},
		{"announcement room: members still react", func(m *modRoom) error {
			apply(m.w.t, m.s, m.powers(m.owner, node.Powers{node.PowerPost: node.RoleModerator}))
			return m.s.Authorize(m.w.event(m.id, m.member, node.EventReaction, node.ReactionContent{Target: m.msgOf[m.owner], Emoji: "👍", On: true}))
		}, nil},
		{"reason over the cap", func(m *modRoom) error {
			long := make([]byte, node.MaxReasonLen+1)
			for i := range long {
				long[i] = 'x'
			}
			return m.s.Authorize(m.w.event(m.id, m.mod, node.EventMember, node.MemberContent{User: m.victim, Membership: node.MemberKick, Reason: string(long)}))
		}, node.ErrInvalid},
		{"update content rules hold for every node", func(m *modRoom) error {
			return m.s.Authorize(m.w.event(m.id, m.owner, node.EventUpdate, node.RoomUpdateContent{Name: strp("")}))
		}, node.ErrInvalid},
		{"no moderation in DMs", func(m *modRoom) error {
			dm := node.DMRoomID(m.owner, m.victim)
			s := node.NewRoomState(dm)
			apply(m.w.t, s, m.w.event(dm, m.owner, node.EventCreate, node.CreateContent{Kind: node.KindDM, Visibility: node.Private, Members: sortedPair(m.owner, m.victim)}))
			return s.Authorize(m.w.member(dm, m.owner, m.victim, node.MemberKick))
		}, node.ErrForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run(newModRoom(t))
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("= %v, want %v", err, c.want)
			}
		})
	}
}

func sortedPair(a, b node.UserID) []node.UserID {
	p := []node.UserID{a, b}
	slices.Sort(p)
	return p
}

// TestRefusalsTellRacesFromForgeries: a kicked user's message from just
// after the kick is a race (ErrSuperseded, which federation does not
// blame on the relay); one from long after, or from someone who never was
// a member, is plainly forbidden.
func TestRefusalsTellRacesFromForgeries(t *testing.T) {
	m := newModRoom(t)
	kick := m.w.member(m.id, m.mod, m.victim, node.MemberKick)
	apply(t, m.s, kick)
	soon := m.w.msg(m.id, m.victim)
	if err := m.s.Authorize(soon); !errors.Is(err, node.ErrSuperseded) || !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("message right after the kick = %v, want superseded", err)
	}
	m.w.ts += node.MaxBackdate.Milliseconds() + 1
	if err := m.s.Authorize(m.w.msg(m.id, m.victim)); errors.Is(err, node.ErrSuperseded) || !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("message long after the kick = %v, want forbidden only", err)
	}
	if err := m.s.Authorize(m.w.member(m.id, m.member, m.victim, node.MemberBan)); errors.Is(err, node.ErrSuperseded) || !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("ban by a member who never could = %v, want forbidden only", err)
	}
}

// TestModerationConvergesInAnyOrder applies role, powers, pin, update,
// kick and ban events in many orders, as the node does (held events are
// retried): every order ends in the same room.
func TestModerationConvergesInAnyOrder(t *testing.T) {
	w := newWorld(t)
	owner, a, b, c := w.user("owner", "A"), w.user("anna", "B"), w.user("bert", "C"), w.user("carl", "D")
	const id node.RoomID = "rmodconv"
	role := func(actor, u node.UserID, r string) *node.Event {
		return w.event(id, actor, node.EventMember, node.MemberContent{User: u, Membership: node.MemberRole, Role: r})
	}
	evs := []*node.Event{
		w.event(id, owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: node.Public}),
		w.member(id, a, a, node.MemberJoin),
		w.member(id, b, b, node.MemberJoin),
		w.member(id, c, c, node.MemberJoin),
		role(owner, a, node.RoleAdmin),
		role(a, b, node.RoleModerator),
		w.event(id, a, node.EventPowers, node.PowersContent{Powers: node.Powers{node.PowerPost: node.RoleModerator, node.PowerPin: node.RoleMember}}),
		w.event(id, c, node.EventPin, node.PinContent{Target: "m1", On: true}),
		w.event(id, b, node.EventUpdate, node.RoomUpdateContent{Topic: strp("news")}), // refused: topic is admin's
		w.event(id, a, node.EventUpdate, node.RoomUpdateContent{Topic: strp("news only")}),
		w.event(id, owner, node.EventUpdate, node.RoomUpdateContent{Name: strp("news")}),
		w.event(id, b, node.EventMember, node.MemberContent{User: c, Membership: node.MemberBan, Reason: "spam"}),
		w.event(id, owner, node.EventPin, node.PinContent{Target: "m2", On: true}),
		w.event(id, a, node.EventPin, node.PinContent{Target: "m1", On: false}),
	}
	type outcome struct {
		History          map[node.UserID][]node.MemberChange
		Name, Topic      string
		Powers           node.Powers
		Pinned           []node.EventID
		Roles            map[node.UserID]string
		Members, Refused []string
	}
	var want *outcome
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 60; round++ {
		s := node.NewRoomState(id)
		var held []*node.Event
		refused := map[node.EventID]bool{}
		for _, i := range rng.Perm(len(evs)) {
			held = append(held, evs[i])
			for progress := true; progress; {
				progress = false
				keep := held[:0]
				for _, e := range held {
					err := s.Authorize(e)
					switch {
					case err == nil:
						s.Apply(e)
						progress = true
					case errors.Is(err, node.ErrPending):
						keep = append(keep, e)
					default:
						// Refused for now; sync offers it again, so keep
						// it until the end, when it must stay refused.
						keep = append(keep, e)
						refused[e.ID] = true
					}
				}
				held = keep
			}
		}
		got := &outcome{History: s.History, Name: s.Name, Topic: s.Topic, Powers: s.Powers(), Pinned: s.Pinned(), Roles: s.RolesView()}
		for _, u := range s.Members() {
			got.Members = append(got.Members, string(u))
		}
		for _, e := range held {
			got.Refused = append(got.Refused, string(e.ID))
		}
		slices.Sort(got.Refused)
		if want == nil {
			want = got
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d differs:\n%+v\nwant\n%+v", round, got, want)
		}
	}
	if want.Topic != "news only" || want.Name != "news" || !reflect.DeepEqual(want.Pinned, []node.EventID{"m2"}) ||
		want.Powers[node.PowerPost] != node.RoleModerator || slices.Contains(want.Members, string(c)) || len(want.Refused) != 1 {
		t.Fatalf("final room = %+v", want)
	}
}
