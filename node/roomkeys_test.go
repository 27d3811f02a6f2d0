package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store/memstore"
)

// wire is a node.Federation that keeps what the node hands it; tests move
// events between nodes themselves (settle), so what is checked here is
// the domain's decision, not a transport's.
type wire struct {
	mu         sync.Mutex
	deliveries []*node.Delivery
}

func (w *wire) Publish(d *node.Delivery) {
	w.mu.Lock()
	w.deliveries = append(w.deliveries, d)
	w.mu.Unlock()
}
func (w *wire) Typing(*node.Route, node.UserID, bool) {}
func (w *wire) RoomsChanged()                         {}
func (w *wire) FetchRoom(context.Context, node.RoomID) error {
	return fmt.Errorf("no peers: %w", node.ErrNotFound)
}

// await returns the delivery of an event, waiting for it: a node hands
// an event to federation after the fsync that acknowledges it, so a call
// may return just before.
func (w *wire) await(t *testing.T, id node.EventID) *node.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		for _, d := range w.deliveries {
			if d.Event.ID == id {
				w.mu.Unlock()
				return d
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("event %s was never handed to federation", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keyEventID returns the ID of the room.key event of an epoch a node holds.
func keyEventID(t *testing.T, n *peerNode, room node.RoomID, epoch uint32) node.EventID {
	t.Helper()
	ctx := context.Background()
	refs, _, err := n.EventRefsAfter(ctx, room, nil, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		evs, _ := n.Events(ctx, room, []node.EventID{r.ID})
		if len(evs) == 1 && evs[0].Type == node.EventRoomKey {
			var c node.RoomKeyContent
			if json.Unmarshal(evs[0].Content, &c) == nil && c.Epoch == epoch {
				return r.ID
			}
		}
	}
	t.Fatalf("no room.key event for epoch %d", epoch)
	return ""
}

// peerNode is one node of a test federation on the in-memory store.
type peerNode struct {
	*node.Node
	db   *memstore.Store
	wire *wire
	key  ed25519.PrivateKey
}

func startPeer(t *testing.T, key ed25519.PrivateKey, db *memstore.Store) *peerNode {
	t.Helper()
	if db == nil {
		db = memstore.New()
		t.Cleanup(func() { db.Close() })
	}
	w := &wire{}
	n, err := node.New(context.Background(), node.Config{Store: db, Key: key, HashConcurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	n.SetFederation(w)
	t.Cleanup(func() { n.Close() })
	return &peerNode{Node: n, db: db, wire: w, key: key}
}

// startPeers starts n nodes sorted by node ID, so tests can name the
// node a rule must pick.
func startPeers(t *testing.T, n int) []*peerNode {
	t.Helper()
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		_, keys[i], _ = ed25519.GenerateKey(rand.Reader)
	}
	slices.SortFunc(keys, func(a, b ed25519.PrivateKey) int {
		ia, ib := node.NodeIDFromKey(a.Public().(ed25519.PublicKey)), node.NodeIDFromKey(b.Public().(ed25519.PublicKey))
		return map[bool]int{true: -1, false: 1}[ia < ib]
	})
	out := make([]*peerNode, n)
	for i, k := range keys {
		out[i] = startPeer(t, k, nil)
	}
	return out
}

// settle copies a room's events between the nodes, in room order, until
// every node that may read the room holds all of them: history sync, done
// by hand.
func settle(t *testing.T, room node.RoomID, ns ...*peerNode) {
	t.Helper()
	ctx := context.Background()
	for round := 0; ; round++ {
		if round == 20 {
			t.Fatal("room did not settle")
		}
		moved := false
		for _, from := range ns {
			refs, _, err := from.EventRefsAfter(ctx, room, nil, 100000)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]node.EventID, len(refs))
			for i, r := range refs {
				ids[i] = r.ID
			}
			evs, err := from.Events(ctx, room, ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, to := range ns {
				if to == from || !from.ReadableBy(room, to.ID()) {
					continue
				}
				for _, e := range evs {
					err := to.Ingest(ctx, e)
					switch {
					case err == nil:
						moved = true
					case errors.Is(err, node.ErrDuplicate), errors.Is(err, node.ErrPending):
					default:
						t.Fatalf("%s ingesting %s %s: %v", to.ID(), e.Type, e.ID, err)
					}
				}
			}
		}
		if !moved {
			return
		}
	}
}

// keyEvents lists the room.key events a node holds: origin and epoch.
func keyEvents(t *testing.T, n *peerNode, room node.RoomID) map[uint32][]node.NodeID {
	t.Helper()
	ctx := context.Background()
	refs, _, err := n.EventRefsAfter(ctx, room, nil, 100000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]node.EventID, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	evs, _ := n.Events(ctx, room, ids)
	out := map[uint32][]node.NodeID{}
	for _, e := range evs {
		if e.Type != node.EventRoomKey {
			continue
		}
		var c node.RoomKeyContent
		if err := json.Unmarshal(e.Content, &c); err != nil {
			t.Fatal(err)
		}
		out[c.Epoch] = append(out[c.Epoch], e.Origin)
	}
	return out
}

func epochOf(n *peerNode, room node.RoomID) uint32 {
	e, ok := n.RoomKeyEpoch(context.Background(), room)
	if !ok {
		return 0
	}
	return e
}

// TestRoomKeyRotationDecidedByNode follows a private room across three
// nodes: the node decides when a key is needed and which node makes it
// (the smallest ID among nodes with a joined member), so every epoch has
// exactly one key event, from the node the rule names.
func TestRoomKeyRotationDecidedByNode(t *testing.T) {
	ctx := context.Background()
	ns := startPeers(t, 3)
	low, mid, high := ns[0], ns[1], ns[2]
	owner := mustRegister(t, high.Node, "olive")
	lu, mu := mustRegister(t, low.Node, "lena"), mustRegister(t, mid.Node, "milo")
	room, err := high.CreateRoom(ctx, owner, "vault", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if got := keyEvents(t, high, room.ID); len(got) != 0 {
		t.Fatalf("a room whose only node is this one got keys %v", got)
	}

	// Invites add nodes; the only node with a joined member rotates.
	for _, u := range []node.UserID{lu, mu} {
		if err := high.Invite(ctx, owner, room.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyEvents(t, high, room.ID); len(got) != 2 || got[1][0] != high.ID() || got[2][0] != high.ID() {
		t.Fatalf("after two invites the key events are %v, want epochs 1 and 2 from the owner's node", got)
	}
	d := high.wire.await(t, keyEventID(t, high, room.ID, 2))
	if !slices.Equal(d.Nodes, []node.NodeID{low.ID(), mid.ID()}) || d.Key != nil {
		t.Fatalf("room.key delivery: nodes %v, key %v; want a push to both invitees' nodes and no gossip", d.Nodes, d.Key)
	}

	settle(t, room.ID, ns...)
	for _, x := range []struct {
		n *peerNode
		u node.UserID
	}{{low, lu}, {mid, mu}} {
		if _, err := x.n.Join(ctx, x.u, room.ID); err != nil {
			t.Fatal(err)
		}
		settle(t, room.ID, ns...)
	}
	// Joins of invitees change no node: no new epoch, and every node opens
	// the current one although now low is the rotator.
	for _, n := range ns {
		if e := epochOf(n, room.ID); e != 2 {
			t.Errorf("node %s opens epoch %d, want 2", n.ID(), e)
		}
	}
	if s, _ := high.RoomState(room.ID); func() node.NodeID { r, _ := node.KeyRotator(s); return r }() != low.ID() {
		t.Fatal("the rotator is not the smallest node with a joined member")
	}
	m, err := high.Send(ctx, owner, node.SendParams{Room: room.ID, Body: "sealed"})
	if err != nil {
		t.Fatal(err)
	}
	d = high.wire.await(t, m.ID)
	if d.Key == nil || d.Key.Epoch != 2 || !slices.Equal(d.Nodes, []node.NodeID{low.ID(), mid.ID()}) || d.Visibility != node.Private {
		t.Fatalf("message delivery %+v, want epoch 2 to both other nodes", d.Route)
	}

	// mid loses its last member: the rotator (low) makes epoch 3 for the
	// two nodes left, and only low does.
	if err := mid.Leave(ctx, mu, room.ID); err != nil {
		t.Fatal(err)
	}
	settle(t, room.ID, ns...)
	keys := keyEvents(t, high, room.ID)
	if len(keys) != 3 || len(keys[3]) != 1 || keys[3][0] != low.ID() {
		t.Fatalf("key events after the leave: %v, want one epoch 3 from %s", keys, low.ID())
	}
	if epochOf(low, room.ID) != 3 || epochOf(high, room.ID) != 3 {
		t.Errorf("epochs low %d high %d, want 3", epochOf(low, room.ID), epochOf(high, room.ID))
	}
	if e := epochOf(mid, room.ID); e == 3 {
		t.Error("the node that lost its last member opened the new epoch")
	}
	m, err = high.Send(ctx, owner, node.SendParams{Room: room.ID, Body: "after milo"})
	if err != nil {
		t.Fatal(err)
	}
	d = high.wire.await(t, m.ID)
	if d.Key == nil || d.Key.Epoch != 3 || !slices.Equal(d.Nodes, []node.NodeID{low.ID()}) {
		t.Fatalf("message delivery after the leave %+v, want epoch 3 to low only", d.Route)
	}
}

// countingStore counts how many of a room's events readers walk through
// and how many events they read by ID.
type countingStore struct {
	node.Store
	walked, read atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(node.Tx) error) error {
	return c.Store.View(ctx, func(tx node.Tx) error { return fn(countingTx{tx, c}) })
}

func (c *countingStore) Update(ctx context.Context, fn func(node.Tx) error) error {
	return c.Store.Update(ctx, func(tx node.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	node.Tx
	c *countingStore
}

func (t countingTx) EachEventAfter(room node.RoomID, from node.OrderKey, fn func(node.EventID, node.OrderKey) bool) error {
	return t.Tx.EachEventAfter(room, from, func(id node.EventID, o node.OrderKey) bool {
		t.c.walked.Add(1)
		return fn(id, o)
	})
}

func (t countingTx) Event(id node.EventID) (*node.Event, error) {
	t.c.read.Add(1)
	return t.Tx.Event(id)
}

// TestRoomKeyFoundByIndex restarts a node holding a private room with a
// long history and checks that finding, opening and using the room's
// current key reads the key index and the one key event, whatever the
// history's length: no walk through the room's events.
func TestRoomKeyFoundByIndex(t *testing.T) {
	ctx := context.Background()
	ns := startPeers(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := mustRegister(t, a.Node, "alice"), mustRegister(t, b.Node, "bob")
	room, err := a.CreateRoom(ctx, ua, "long", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Invite(ctx, ua, room.ID, ub); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if _, err := a.Send(ctx, ua, node.SendParams{Room: room.ID, Body: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	counted := &countingStore{Store: a.db}
	restarted, err := node.New(ctx, node.Config{Store: counted, Key: a.key})
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	w := &wire{}
	restarted.SetFederation(w)
	counted.walked.Store(0)
	counted.read.Store(0)

	if e, ok := restarted.RoomKeyEpoch(ctx, room.ID); !ok || e != 1 {
		t.Fatalf("RoomKeyEpoch = %d, %v; want 1", e, ok)
	}
	if k, ok := restarted.RoomKey(ctx, room.ID, 1); !ok || len(k) != 32 {
		t.Fatalf("RoomKey(1) = %d bytes, %v", len(k), ok)
	}
	m, err := restarted.Send(ctx, ua, node.SendParams{Room: room.ID, Body: "one more"})
	if err != nil {
		t.Fatal(err)
	}
	if d := w.await(t, m.ID); d.Key == nil || d.Key.Epoch != 1 {
		t.Fatal("the message after the restart was not routed with the key")
	}
	if n := counted.walked.Load(); n != 0 {
		t.Errorf("finding the key walked through %d events of the room's history", n)
	}
	if n := counted.read.Load(); n > 1 {
		t.Errorf("finding the key read %d events by ID, want the key event alone", n)
	}
}

// TestReadableByIsTheRoomsRule checks who may read a room's history over
// sync, as the node decides it: any node for a public room; for a private
// room only the nodes hosting a joined member or an invitee, for as long
// as they do.
func TestReadableByIsTheRoomsRule(t *testing.T) {
	ctx := context.Background()
	ns := startPeers(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub := mustRegister(t, a.Node, "alice"), mustRegister(t, b.Node, "bob")
	stranger := c.ID()

	pub, err := a.CreateRoom(ctx, ua, "open", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := a.CreateRoom(ctx, ua, "closed", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, room node.RoomID, reader node.NodeID, want bool) {
		t.Helper()
		if got := a.ReadableBy(room, reader); got != want {
			t.Errorf("%s: ReadableBy(%s, %s) = %v, want %v", step, room, reader, got, want)
		}
	}
	check("public", pub.ID, stranger, true)
	check("unknown room", "nope", a.ID(), false)
	check("private, no other node", priv.ID, stranger, false)
	check("private, its own node", priv.ID, a.ID(), true)

	if err := a.Invite(ctx, ua, priv.ID, ub); err != nil {
		t.Fatal(err)
	}
	check("invited", priv.ID, b.ID(), true)
	check("invited, another node", priv.ID, stranger, false)

	settle(t, priv.ID, a, b, c)
	if _, err := b.Join(ctx, ub, priv.ID); err != nil {
		t.Fatal(err)
	}
	settle(t, priv.ID, a, b, c)
	check("joined", priv.ID, b.ID(), true)
	// settle moves what the rule allows: b holds the room, c nothing.
	if _, ok := b.RoomVisibility(priv.ID); !ok {
		t.Error("the member's node does not hold the private room")
	}
	if _, ok := c.RoomVisibility(priv.ID); ok {
		t.Error("the stranger holds the private room")
	}

	if err := b.Leave(ctx, ub, priv.ID); err != nil {
		t.Fatal(err)
	}
	settle(t, priv.ID, a, b)
	check("left", priv.ID, b.ID(), false)
}
