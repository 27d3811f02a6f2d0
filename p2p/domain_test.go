package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store/memstore"
)

// spy is a Domain that counts the calls the host makes into the real
// domain it wraps.
type spy struct {
	d     Domain
	calls atomic.Int64
}

func (s *spy) c() { s.calls.Add(1) }

func (s *spy) ID() node.NodeID { s.c(); return s.d.ID() }
func (s *spy) IngestAsync(ctx context.Context, e *node.Event, durable func(error)) error {
	s.c()
	return s.d.IngestAsync(ctx, e, durable)
}
func (s *spy) WaitDurable(ctx context.Context) error { s.c(); return s.d.WaitDurable(ctx) }
func (s *spy) Wants(e *node.Event) bool              { s.c(); return s.d.Wants(e) }
func (s *spy) MayGossip(e *node.Event) bool          { s.c(); return s.d.MayGossip(e) }
func (s *spy) RoomKey(ctx context.Context, room node.RoomID, epoch uint32) ([]byte, bool) {
	s.c()
	return s.d.RoomKey(ctx, room, epoch)
}
func (s *spy) ReadableBy(room node.RoomID, reader node.NodeID) bool {
	s.c()
	return s.d.ReadableBy(room, reader)
}
func (s *spy) EventRefsAfter(ctx context.Context, room node.RoomID, from node.OrderKey, limit int) ([]node.EventRef, bool, error) {
	s.c()
	return s.d.EventRefsAfter(ctx, room, from, limit)
}
func (s *spy) EventRefsBefore(ctx context.Context, room node.RoomID, before node.OrderKey, limit int) ([]node.EventRef, bool, error) {
	s.c()
	return s.d.EventRefsBefore(ctx, room, before, limit)
}
func (s *spy) Events(ctx context.Context, room node.RoomID, ids []node.EventID) ([]*node.Event, error) {
	s.c()
	return s.d.Events(ctx, room, ids)
}
func (s *spy) HasEvent(ctx context.Context, id node.EventID) (bool, error) {
	s.c()
	return s.d.HasEvent(ctx, id)
}
func (s *spy) StateEventIDs(room node.RoomID) []node.EventID { s.c(); return s.d.StateEventIDs(room) }
func (s *spy) RoomDigestBytes(ctx context.Context, room node.RoomID, from node.OrderKey) ([]byte, error) {
	s.c()
	return s.d.RoomDigestBytes(ctx, room, from)
}
func (s *spy) SyncFloor(ctx context.Context, room node.RoomID) (node.OrderKey, error) {
	s.c()
	return s.d.SyncFloor(ctx, room)
}
func (s *spy) HistoryComplete(room node.RoomID) bool { s.c(); return s.d.HistoryComplete(room) }
func (s *spy) SetHistoryComplete(ctx context.Context, room node.RoomID, complete bool) error {
	s.c()
	return s.d.SetHistoryComplete(ctx, room, complete)
}
func (s *spy) GossipRooms() []node.RoomID                  { s.c(); return s.d.GossipRooms() }
func (s *spy) LocalRooms() []node.RoomID                   { s.c(); return s.d.LocalRooms() }
func (s *spy) HeldRooms() []node.RoomID                    { s.c(); return s.d.HeldRooms() }
func (s *spy) RoomNodes(room node.RoomID) []node.NodeID    { s.c(); return s.d.RoomNodes(room) }
func (s *spy) RoomVisibility(r node.RoomID) (string, bool) { s.c(); return s.d.RoomVisibility(r) }
func (s *spy) PublicRoomViews() []*node.Room               { s.c(); return s.d.PublicRoomViews() }
func (s *spy) AnnounceRoom(r *node.Room)                   { s.c(); s.d.AnnounceRoom(r) }
func (s *spy) OnlineUsers() []node.UserID                  { s.c(); return s.d.OnlineUsers() }
func (s *spy) SetRemotePresence(origin node.NodeID, online []node.UserID, at int64) {
	s.c()
	s.d.SetRemotePresence(origin, online, at)
}
func (s *spy) RemoteTyping(room node.RoomID, u node.UserID, typing bool) {
	s.c()
	s.d.RemoteTyping(room, u, typing)
}
func (s *spy) LocalUsers(ctx context.Context, limit int) ([]node.UserID, error) {
	s.c()
	return s.d.LocalUsers(ctx, limit)
}
func (s *spy) ProfileEvent(ctx context.Context, u node.UserID) (*node.Event, error) {
	s.c()
	return s.d.ProfileEvent(ctx, u)
}

// capture is a node.Federation that keeps the deliveries the domain
// hands over.
type capture struct{ ds chan *node.Delivery }

func (c capture) Publish(d *node.Delivery)                   { c.ds <- d }
func (capture) Typing(*node.Route, node.UserID, bool)        {}
func (capture) RoomsChanged()                                {}
func (capture) FetchRoom(context.Context, node.RoomID) error { return node.ErrNotFound }

// TestPublishAsksTheDomainNothing hands the host the deliveries a real
// node made (a public message, a private one with its room key) and
// checks that publishing them, pushes and sealed gossip included, makes no
// call into the domain: the delivery carries all the transport needs.
func TestPublishAsksTheDomainNothing(t *testing.T) {
	ctx := context.Background()
	db := memstore.New()
	defer db.Close()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other := node.NodeIDFromKey(otherKey.Public().(ed25519.PublicKey))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.New(ctx, node.Config{Store: db, Key: key, Logger: quiet, HashConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fed := capture{ds: make(chan *node.Delivery, 64)}
	n.SetFederation(fed)
	u, err := n.Register(ctx, "alice", "password123", "")
	if err != nil {
		t.Fatal(err)
	}
	deliveryOf := func(room node.RoomID, body string) *node.Delivery {
		t.Helper()
		m, err := n.Send(ctx, u.ID, node.SendParams{Room: room, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		for {
			d := <-fed.ds
			if d.Event.ID == m.ID {
				return d
			}
		}
	}
	pub, err := n.CreateRoom(ctx, u.ID, "open", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := n.CreateRoom(ctx, u.ID, "closed", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Invite(ctx, u.ID, priv.ID, node.NewUserID("bob", other)); err != nil {
		t.Fatal(err)
	}
	dPub, dPriv := deliveryOf(pub.ID, "in the clear"), deliveryOf(priv.ID, "sealed")
	if dPriv.Key == nil || len(dPriv.Nodes) != 1 || dPriv.Nodes[0] != other {
		t.Fatalf("private delivery %+v: want the key and the invitee's node", dPriv.Route)
	}

	s := &spy{d: n}
	h, err := New(ctx, Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: s, Logger: quiet, DisableDHT: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before := s.calls.Load()
	h.publishEvent(ctx, dPub)
	h.publishEvent(ctx, dPriv)
	if got := s.calls.Load() - before; got != 0 {
		t.Fatalf("publishing made %d calls into the domain", got)
	}
	otherPeer, err := peer.Decode(string(other))
	if err != nil {
		t.Fatal(err)
	}
	h.bgMu.Lock()
	_, pushed := h.pushQ[otherPeer]
	h.bgMu.Unlock()
	if !pushed {
		t.Fatal("the private event was not queued for the invitee's node")
	}
	if !slices.Contains(h.Topics(), roomTopic(priv.ID)) {
		t.Fatal("the private event was not published sealed on its topic")
	}
}
