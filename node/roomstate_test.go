package node_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// world builds signed events of users on a few nodes, with increasing
// timestamps, for rule tests.
type world struct {
	t       *testing.T
	signers map[string]*node.Signer
	ts      int64
}

func newWorld(t *testing.T) *world {
	return &world{t: t, signers: map[string]*node.Signer{}, ts: 1_700_000_000_000}
}

// user returns "<name>@<node>" for a node label such as "A".
func (w *world) user(name, nodeLabel string) node.UserID {
	s := w.signers[nodeLabel]
	if s == nil {
		s = node.NewSigner(mustKey(w.t))
		w.signers[nodeLabel] = s
	}
	return node.NewUserID(name, s.NodeID())
}

func (w *world) event(room node.RoomID, sender node.UserID, typ node.EventType, content any) *node.Event {
	w.t.Helper()
	var signer *node.Signer
	for _, s := range w.signers {
		if s.NodeID() == sender.Node() {
			signer = s
		}
	}
	c, err := json.Marshal(content)
	if err != nil {
		w.t.Fatal(err)
	}
	w.ts++
	return sealed(w.t, signer, &node.Event{Type: typ, Room: room, Sender: sender, TS: w.ts, Content: c})
}

func (w *world) member(room node.RoomID, actor, target node.UserID, m string) *node.Event {
	return w.event(room, actor, node.EventMember, node.MemberContent{User: target, Membership: m})
}

func (w *world) msg(room node.RoomID, sender node.UserID) *node.Event {
	return w.event(room, sender, node.EventMessage, node.MessageContent{Body: "hi"})
}

func apply(t *testing.T, s *node.RoomState, evs ...*node.Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Authorize(e); err != nil {
			t.Fatalf("authorize %s: %v", e.Type, err)
		}
		s.Apply(e)
	}
}

func TestRoomRules(t *testing.T) {
	w := newWorld(t)
	owner, alice, mallory := w.user("owner", "A"), w.user("alice", "B"), w.user("mallory", "M")
	const pub, priv node.RoomID = "rpublic", "rprivate"
	create := func(id node.RoomID, vis string) *node.Event {
		return w.event(id, owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: vis})
	}

	t.Run("public room: anyone joins and posts, outsiders cannot post", func(t *testing.T) {
		s := node.NewRoomState(pub)
		apply(t, s, create(pub, node.Public), w.member(pub, alice, alice, node.MemberJoin), w.msg(pub, alice))
		err := s.Authorize(w.msg(pub, mallory))
		if !errors.Is(err, node.ErrPending) {
			t.Fatalf("post by a user with no history = %v, want ErrPending (held until a join arrives)", err)
		}
		apply(t, s, w.member(pub, alice, alice, node.MemberLeave))
		if err := s.Authorize(w.msg(pub, alice)); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("post after leaving = %v, want ErrForbidden", err)
		}
	})

	t.Run("private room needs an invite", func(t *testing.T) {
		s := node.NewRoomState(priv)
		apply(t, s, create(priv, node.Private))
		if err := s.Authorize(w.member(priv, mallory, mallory, node.MemberJoin)); err == nil {
			t.Fatal("joined a private room without an invite")
		}
		if err := s.Authorize(w.member(priv, mallory, mallory, node.MemberInvite)); err == nil {
			t.Fatal("a non-member invited themselves")
		}
		apply(t, s, w.member(priv, owner, alice, node.MemberInvite), w.member(priv, alice, alice, node.MemberJoin))
		if !s.IsMember(alice) {
			t.Fatal("invited user did not become a member")
		}
	})

	t.Run("users act only for themselves", func(t *testing.T) {
		s := node.NewRoomState(pub)
		apply(t, s, create(pub, node.Public), w.member(pub, alice, alice, node.MemberJoin))
		if err := s.Authorize(w.member(pub, mallory, alice, node.MemberLeave)); err == nil {
			t.Fatal("mallory made alice leave")
		}
		if err := s.Authorize(w.member(pub, alice, mallory, node.MemberJoin)); err == nil {
			t.Fatal("alice joined mallory")
		}
	})

	t.Run("kicks and bans need rank", func(t *testing.T) {
		s := node.NewRoomState(pub)
		apply(t, s, create(pub, node.Public), w.member(pub, alice, alice, node.MemberJoin), w.member(pub, mallory, mallory, node.MemberJoin))
		if err := s.Authorize(w.member(pub, mallory, alice, node.MemberKick)); err == nil {
			t.Fatal("a plain member kicked another")
		}
		if err := s.Authorize(w.member(pub, mallory, owner, node.MemberBan)); err == nil {
			t.Fatal("a plain member banned the owner")
		}
		apply(t, s, w.member(pub, owner, mallory, node.MemberBan))
		if err := s.Authorize(w.member(pub, mallory, mallory, node.MemberJoin)); err == nil {
			t.Fatal("a banned user joined again")
		}
		apply(t, s, w.event(pub, owner, node.EventMember, node.MemberContent{User: alice, Membership: node.MemberRole, Role: node.RoleAdmin}))
		if _, role := s.At(alice, nil); role != node.RoleAdmin {
			t.Fatalf("role = %q, want admin", role)
		}
	})

	t.Run("second create of a group room is refused", func(t *testing.T) {
		s := node.NewRoomState(pub)
		apply(t, s, create(pub, node.Public))
		if err := s.Authorize(w.event(pub, mallory, node.EventCreate, node.CreateContent{Kind: node.KindGroup, Visibility: node.Public})); err == nil {
			t.Fatal("a second create took over the room")
		}
	})

	t.Run("DM room id must match its members", func(t *testing.T) {
		dm := node.DMRoomID(owner, alice)
		s := node.NewRoomState(dm)
		bad := w.event(dm, mallory, node.EventCreate, node.CreateContent{Kind: node.KindDM, Visibility: node.Private, Members: []node.UserID{owner, mallory}})
		if err := s.Authorize(bad); err == nil {
			t.Fatal("accepted a DM create whose id does not match its members")
		}
		apply(t, s, w.event(dm, alice, node.EventCreate, node.CreateContent{Kind: node.KindDM, Visibility: node.Private, Members: []node.UserID{owner, alice}}))
		if !s.IsMember(owner) || !s.IsMember(alice) || s.IsMember(mallory) {
			t.Fatalf("DM members = %v", s.Members())
		}
		if err := s.Authorize(w.member(dm, mallory, mallory, node.MemberJoin)); err == nil {
			t.Fatal("a third user joined a DM")
		}
	})

	t.Run("events are judged at their own position", func(t *testing.T) {
		s := node.NewRoomState(pub)
		c := create(pub, node.Public)
		join := w.member(pub, alice, alice, node.MemberJoin)
		early := w.msg(pub, alice)
		leave := w.member(pub, alice, alice, node.MemberLeave)
		apply(t, s, c, join, leave)
		// The message was sent while alice was a member, and arrives late.
		if err := s.Authorize(early); err != nil {
			t.Fatalf("late message from while she was a member = %v", err)
		}
	})
}

// TestRoomStateConverges applies the same membership events in many
// orders: every order that is accepted ends in the same state.
func TestRoomStateConverges(t *testing.T) {
	w := newWorld(t)
	owner, a, b := w.user("owner", "A"), w.user("anna", "B"), w.user("bert", "C")
	const id node.RoomID = "rconv"
	evs := []*node.Event{
		w.event(id, owner, node.EventCreate, node.CreateContent{Name: "x", Kind: node.KindGroup, Visibility: node.Private}),
		w.member(id, owner, a, node.MemberInvite),
		w.member(id, a, a, node.MemberJoin),
		w.member(id, a, b, node.MemberInvite),
		w.member(id, b, b, node.MemberJoin),
		w.member(id, a, a, node.MemberLeave),
		w.event(id, owner, node.EventMember, node.MemberContent{User: b, Membership: node.MemberRole, Role: node.RoleAdmin}),
	}
	var want *node.RoomState
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		order := rng.Perm(len(evs))
		s := node.NewRoomState(id)
		pending := []*node.Event{}
		for _, i := range order {
			pending = append(pending, evs[i])
			// Retry held events until no progress, as the node does.
			for progress := true; progress; {
				progress = false
				keep := pending[:0]
				for _, e := range pending {
					// A refusal that depends on events not yet held is
					// retried, as history sync offers missing events again.
					if err := s.Authorize(e); err != nil {
						keep = append(keep, e)
						continue
					}
					s.Apply(e)
					progress = true
				}
				pending = keep
			}
		}
		if len(pending) != 0 {
			t.Fatalf("round %d: %d events still held", round, len(pending))
		}
		if want == nil {
			want = s
			continue
		}
		if !reflect.DeepEqual(s.History, want.History) || !reflect.DeepEqual(s.Members(), want.Members()) {
			t.Fatalf("round %d: state differs:\n%v\nwant\n%v", round, s.History, want.History)
		}
	}
	if got := want.Members(); len(got) != 2 {
		t.Fatalf("members = %v, want owner and b", got)
	}
}
