package p2p_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// hostile is a raw libp2p host with GossipSub that follows none of
// Hearth's rules: it signs with its own key and publishes what it likes.
type hostile struct {
	key    ed25519.PrivateKey
	id     node.NodeID
	host   host.Host
	ps     *pubsub.PubSub
	signer *node.Signer
	cancel context.CancelFunc
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	priv, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMaxMessageSize(1<<20), pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	x := &hostile{key: key, id: node.NodeID(h.ID().String()), host: h, ps: ps, signer: node.NewSigner(key), cancel: cancel}
	t.Cleanup(func() { cancel(); h.Close() })
	return x
}

func (x *hostile) connect(t *testing.T, n *p2ptest.Node) {
	t.Helper()
	if err := x.host.Connect(bg, n.Info()); err != nil {
		t.Fatal(err)
	}
}

// event seals an event of the hostile node's own user.
func (x *hostile) event(t *testing.T, typ node.EventType, room node.RoomID, sender node.UserID, content any) *node.Event {
	t.Helper()
	c, _ := json.Marshal(content)
	e := &node.Event{Type: typ, Room: room, Sender: sender, TS: time.Now().UnixMilli(), Content: c}
	if err := x.signer.Seal(e); err != nil {
		t.Fatal(err)
	}
	return e
}

// sealUnchecked signs a body without the size check of node.Signer.
func (x *hostile) sealUnchecked(e *node.Event) []byte {
	e.V, e.Origin = node.EventVersion, x.id
	body, _ := json.Marshal(e)
	sig := ed25519.Sign(x.key, append([]byte("hearth/event/1\x00"), body...))
	return append(append([]byte{node.EventVersion}, sig...), body...)
}

func TestHostileNodeIsRejectedAndPenalised(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "open", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	real := mustSend(t, a, ua, room.ID, "hello world")
	// B must have the real message before the hostile replays it: the
	// check below, that each node showed it once, is about the replay,
	// and on a busy machine the real one can reach B later than the
	// hostile's garbage lowers its score.
	p2ptest.WaitFor(t, 15*time.Second, func() error { return b.Notes.HasMessage(ub, real.ID) })
	realEv, err := a.Node.Events(bg, room.ID, []node.EventID{real.ID})
	if err != nil || len(realEv) != 1 {
		t.Fatal("no stored event", err)
	}

	x := newHostile(t)
	x.connect(t, a)
	x.connect(t, b)
	topic, err := x.ps.Join("hearth/room/1/" + string(room.ID))
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := topic.Subscribe()
	defer sub.Cancel()
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if len(topic.ListPeers()) < 2 {
			return fmt.Errorf("hostile sees %d topic peers", len(topic.ListPeers()))
		}
		// The honest nodes have heard the hostile's subscription, so its
		// streams to them are open and what it publishes reaches both.
		for _, n := range []*p2ptest.Node{a, b} {
			if !slices.Contains(n.Host.TopicPeers("hearth/room/1/"+string(room.ID)), x.host.ID()) {
				return fmt.Errorf("%s does not see the hostile in the topic", n.Name)
			}
		}
		return nil
	})

	mallory := node.NewUserID("mallory", x.id)
	forged := bytes.Replace(bytes.Clone(realEv[0].Raw), []byte("hello world"), []byte("HELLO WORLD"), 1)
	spoofed := x.event(t, node.EventMessage, room.ID, mallory, node.MessageContent{Body: "x"})
	spoofed.Sender = ua // sender on another node than the signer
	spoofedRaw := x.sealUnchecked(spoofed)
	big := &node.Event{Type: node.EventMessage, Room: room.ID, Sender: mallory, TS: time.Now().UnixMilli(),
		Content: json.RawMessage(fmt.Sprintf(`{"body":%q}`, strings.Repeat("z", 70<<10)))}
	bigRaw := x.sealUnchecked(big)
	future := &node.Event{Type: node.EventMessage, Room: room.ID, Sender: mallory, TS: time.Now().Add(time.Hour).UnixMilli(),
		Content: json.RawMessage(`{"body":"from the future"}`)}
	futureRaw := x.sealUnchecked(future)
	badVersion := append([]byte{9}, x.event(t, node.EventMessage, room.ID, mallory, node.MessageContent{Body: "v9"}).Raw[1:]...)
	unauthorised := x.event(t, node.EventMessage, room.ID, mallory, node.MessageContent{Body: "let me in"})
	kick := x.event(t, node.EventMember, room.ID, mallory, node.MemberContent{User: ua, Membership: node.MemberKick})

	bad := map[string][]byte{
		"forged signature": forged, "spoofed origin": spoofedRaw, "oversized": bigRaw,
		"future": futureRaw, "unknown version": badVersion,
	}
	for name, raw := range bad {
		if err := topic.Publish(bg, raw); err != nil {
			t.Fatalf("publish %s: %v", name, err)
		}
	}
	for _, raw := range [][]byte{realEv[0].Raw, unauthorised.Raw, kick.Raw} {
		if err := topic.Publish(bg, raw); err != nil {
			t.Fatal(err)
		}
	}

	// The hostile peer's score drops below zero on the honest nodes.
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		for _, n := range []*p2ptest.Node{a, b} {
			s, ok := n.Host.PeerScore(x.host.ID())
			if !ok || s >= 0 {
				return fmt.Errorf("%s scores hostile %v (%v)", n.Name, s, ok)
			}
		}
		return nil
	})
	// Nothing hostile was stored or shown; the replay was not doubled.
	for _, n := range []*p2ptest.Node{a, b} {
		for _, id := range []node.EventID{unauthorised.ID, kick.ID} {
			if ok, _ := n.Node.HasEvent(bg, id); ok {
				t.Fatalf("%s stored hostile event %s", n.Name, id)
			}
		}
		u := map[*p2ptest.Node]node.UserID{a: ua, b: ub}[n]
		count := 0
		for _, note := range n.Notes.Of(u, node.NoteMessage) {
			if note.Message.Sender.Node() == x.id || strings.Contains(note.Message.Body, "HELLO") {
				t.Fatalf("%s showed hostile message %q", n.Name, note.Message.Body)
			}
			if note.Message.ID == real.ID {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%s showed the replayed message %d times", n.Name, count)
		}
		if s, _ := n.Node.RoomState(room.ID); !s.IsMember(ua) {
			t.Fatalf("%s applied the hostile kick", n.Name)
		}
	}
	// The honest nodes stay healthy.
	m := mustSend(t, a, ua, room.ID, "still here")
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, m.ID) })
}

// syncCall speaks /hearth/sync/1.0.0 by hand, as an outsider would.
func syncCall(t *testing.T, h host.Host, p peer.ID, req map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	s, err := h.NewStream(ctx, p, "/hearth/sync/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, _ := json.Marshal(req)
	s.Write(binary.AppendUvarint(nil, uint64(len(b))))
	s.Write(b)
	s.CloseWrite()
	r := bufio.NewReader(s)
	n, err := binary.ReadUvarint(r)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	out["_raw"] = string(body)
	return out
}

func TestNonMemberSeesNoPrivatePlaintext(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	room, err := a.Node.CreateRoom(bg, ua, "secret", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Node.Invite(bg, ua, room.ID, ub); err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	dm, err := a.Node.DM(bg, ua, ub)
	if err != nil {
		t.Fatal(err)
	}

	x := newHostile(t)
	x.connect(t, a)
	x.connect(t, b)
	var mu sync.Mutex
	var heard [][]byte
	for _, id := range []node.RoomID{room.ID, dm.ID} {
		topic, err := x.ps.Join("hearth/room/1/" + string(id))
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := topic.Subscribe()
		go func() {
			for {
				m, err := sub.Next(bg)
				if err != nil {
					return
				}
				mu.Lock()
				heard = append(heard, m.Data)
				mu.Unlock()
			}
		}()
		t.Cleanup(sub.Cancel)
	}
	// Wait until the members see the hostile in both topics, so that
	// anything published there would reach it.
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		for _, id := range []node.RoomID{room.ID, dm.ID} {
			for _, n := range []*p2ptest.Node{a, b} {
				if !slices.Contains(n.Host.TopicPeers("hearth/room/1/"+string(id)), x.host.ID()) {
					return fmt.Errorf("%s does not see the hostile in %s", n.Name, id)
				}
			}
		}
		return nil
	})
	// The bodies are looked for whole: a leak carries them verbatim, and
	// base64 ciphertext never holds a space (it held "owl" by chance).
	const eagle, owl = "the eagle lands at noon", "the owl flies at dawn"
	m1 := mustSend(t, a, ua, room.ID, eagle)
	m2 := mustSend(t, a, ua, dm.ID, owl)
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, m1.ID) })
	p2ptest.WaitFor(t, 10*time.Second, func() error { return b.Notes.HasMessage(ub, m2.ID) })

	for _, id := range []node.RoomID{room.ID, dm.ID} {
		for _, req := range []map[string]any{
			{"op": "room", "room": id},
			{"op": "refs", "room": id},
			{"op": "get", "room": id, "ids": []node.EventID{m1.ID, m2.ID}},
			{"op": "before", "room": id},
			{"op": "digest", "rooms": []map[string]any{{"room": id}}},
		} {
			for _, n := range []*p2ptest.Node{a, b} {
				resp := syncCall(t, x.host, n.Host.ID(), req)
				raw := resp["_raw"].(string)
				if strings.Contains(raw, eagle) || strings.Contains(raw, owl) || strings.Contains(raw, string(m1.ID)) {
					t.Fatalf("%s answered %v with private content: %s", n.Name, req["op"], raw)
				}
			}
		}
	}
	// Member nodes also gossip private events, sealed: the hostile hears
	// envelopes it cannot open.
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range heard {
			if len(d) > 0 && d[0] == 'E' {
				return nil
			}
		}
		return fmt.Errorf("hostile heard no envelope among %d messages", len(heard))
	})
	mu.Lock()
	defer mu.Unlock()
	for _, d := range heard {
		if bytes.Contains(d, []byte(eagle)) || bytes.Contains(d, []byte(owl)) {
			t.Fatalf("hostile heard private plaintext on gossip: %q", d)
		}
	}
}
