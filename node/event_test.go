package node_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

func mustKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sealed(t testing.TB, s *node.Signer, e *node.Event) *node.Event {
	t.Helper()
	if e.TS == 0 {
		e.TS = time.Now().UnixMilli()
	}
	if err := s.Seal(e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNodeIDRoundTrip(t *testing.T) {
	k := mustKey(t)
	id := node.NodeIDFromKey(k.Public().(ed25519.PublicKey))
	if !strings.HasPrefix(string(id), "12D3KooW") {
		t.Fatalf("node id %s does not look like an ed25519 peer id", id)
	}
	pub, err := id.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.Public()) {
		t.Fatal("public key does not round-trip through the node id")
	}
	for _, bad := range []node.NodeID{"", "12D3KooW", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", "0OIl", node.NodeID(strings.Repeat("z", 80))} {
		if _, err := bad.PublicKey(); err == nil {
			t.Errorf("PublicKey(%q) succeeded", bad)
		}
	}
}

func TestEventSealAndDecode(t *testing.T) {
	k := mustKey(t)
	s := node.NewSigner(k)
	alice := node.NewUserID("alice", s.NodeID())
	now := time.Now()
	good := func() *node.Event {
		return sealed(t, s, &node.Event{Type: node.EventMessage, Room: "rroom", Sender: alice, Content: []byte(`{"body":"hi"}`)})
	}
	e := good()
	got, err := node.DecodeEvent(e.Raw, now)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.ID != e.ID || got.Sender != alice || got.Origin != s.NodeID() {
		t.Fatalf("decoded %+v, want id %s", got, e.ID)
	}

	other := node.NewSigner(mustKey(t))
	cases := []struct {
		name string
		raw  func() []byte
		want error
	}{
		{"tampered body", func() []byte {
			raw := append([]byte{}, good().Raw...)
			i := strings.Index(string(raw), `"hi"`)
			raw[i+2] = 'o'
			return raw
		}, node.ErrForbidden},
		{"tampered signature", func() []byte {
			raw := append([]byte{}, good().Raw...)
			raw[5] ^= 1
			return raw
		}, node.ErrForbidden},
		{"unknown version", func() []byte {
			raw := append([]byte{}, good().Raw...)
			raw[0] = 2
			return raw
		}, node.ErrInvalid},
		{"truncated", func() []byte { return good().Raw[:40] }, node.ErrInvalid},
		{"sender of another node", func() []byte {
			return sealed(t, other, &node.Event{Type: node.EventMessage, Room: "rroom", Sender: alice, Content: []byte(`{}`)}).Raw
		}, node.ErrForbidden},
		{"far future", func() []byte {
			return sealed(t, s, &node.Event{Type: node.EventMessage, Room: "rroom", Sender: alice, TS: now.Add(6 * time.Minute).UnixMilli(), Content: []byte(`{}`)}).Raw
		}, node.ErrInvalid},
		{"oversized", func() []byte { return make([]byte, node.MaxEventSize+1) }, node.ErrTooLarge},
		{"bad room id", func() []byte {
			return sealed(t, s, &node.Event{Type: node.EventMessage, Room: "a/b", Sender: alice, Content: []byte(`{}`)}).Raw
		}, node.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := node.DecodeEvent(c.raw(), now)
			if !errors.Is(err, c.want) {
				t.Fatalf("DecodeEvent = %v, want %v", err, c.want)
			}
		})
	}
}

func TestSealRefusesOversizedEvents(t *testing.T) {
	s := node.NewSigner(mustKey(t))
	big := `{"body":"` + strings.Repeat("x", node.MaxEventSize) + `"}`
	e := &node.Event{Type: node.EventMessage, Room: "r1", Sender: node.NewUserID("bob", s.NodeID()), TS: 1, Content: []byte(big)}
	if err := s.Seal(e); !errors.Is(err, node.ErrTooLarge) {
		t.Fatalf("Seal = %v, want ErrTooLarge", err)
	}
}

func TestClockIsMonotonicAndObserves(t *testing.T) {
	wall := time.UnixMilli(1_000_000)
	c := node.NewClock(func() time.Time { return wall })
	a := c.Now()
	b := c.Now()
	if !a.Less(b) {
		t.Fatalf("clock did not advance: %v then %v", a, b)
	}
	remote := node.Stamp{Wall: 2_000_000, Logical: 7}
	c.Observe(remote)
	if n := c.Now(); !remote.Less(n) {
		t.Fatalf("after observing %v, Now() = %v", remote, n)
	}
	wall = time.UnixMilli(500) // the wall clock jumps back
	if n := c.Now(); !remote.Less(n) {
		t.Fatalf("clock went backwards: %v", n)
	}
}

func TestDMRoomIDIsSymmetric(t *testing.T) {
	a, b := node.UserID("a@X"), node.UserID("b@Y")
	if node.DMRoomID(a, b) != node.DMRoomID(b, a) {
		t.Fatal("DM room id depends on argument order")
	}
	if !node.DMRoomID(a, b).IsDM() || !node.ValidOpaqueID(string(node.DMRoomID(a, b))) {
		t.Fatal("DM room id is not a valid opaque DM id")
	}
}

func TestValidUsername(t *testing.T) {
	for name, ok := range map[string]bool{
		"abc": true, "a.b_c-d9": true, "ab": false, strings.Repeat("a", 33): false,
		"Abc": false, "a b": false, "ä12": false, "abc@x": false,
	} {
		if err := node.ValidUsername(name); (err == nil) != ok {
			t.Errorf("ValidUsername(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
