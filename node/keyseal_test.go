package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"golang.org/x/crypto/curve25519"
)

// roomKeyVector is one fixed vector of testdata/roomkey_vectors.json,
// computed by the first (hand-written, math/big) implementation of the
// Ed25519 -> X25519 conversion, which this one replaced.
type roomKeyVector struct {
	Seed     string `json:"seed"`
	Public   string `json:"public"`
	XPrivate string `json:"xPrivate"`
	XPublic  string `json:"xPublic"`
	To       NodeID `json:"to"`
	ToSeed   string `json:"toSeed"`
	Room     RoomID `json:"room"`
	Epoch    uint32 `json:"epoch"`
	RoomKey  string `json:"roomKey"`
	Sealed   string `json:"sealed"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoomKeySealingMatchesVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/roomkey_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []roomKeyVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs {
		key := ed25519.NewKeyFromSeed(unhex(t, v.Seed))
		if got := hex.EncodeToString(x25519Private(key)); got != v.XPrivate {
			t.Errorf("x25519Private(%s) = %s, want %s", v.Seed, got, v.XPrivate)
		}
		xpub, err := x25519Public(unhex(t, v.Public))
		if err != nil || hex.EncodeToString(xpub) != v.XPublic {
			t.Errorf("x25519Public(%s) = %x, %v; want %s", v.Public, xpub, err, v.XPublic)
		}
		from := NodeIDFromKey(key.Public().(ed25519.PublicKey))
		sealed := unhex(t, v.Sealed)
		again, err := sealRoomKeyWithNonce(key, unhex(t, v.RoomKey), v.To, v.Room, v.Epoch, sealed[:24])
		if err != nil || !bytes.Equal(again, sealed) {
			t.Errorf("sealing for %s: %x, %v; want %s", v.To, again, err, v.Sealed)
		}
		toKey := ed25519.NewKeyFromSeed(unhex(t, v.ToSeed))
		got, err := openRoomKey(toKey, v.To, from, v.Room, v.Epoch, sealed)
		if err != nil || hex.EncodeToString(got) != v.RoomKey {
			t.Errorf("opening the vector for %s: %x, %v", v.To, got, err)
		}
		// Bound to room, epoch and recipient.
		if _, err := openRoomKey(toKey, v.To, from, v.Room+"x", v.Epoch, sealed); err == nil {
			t.Error("opened under another room")
		}
		if _, err := openRoomKey(toKey, v.To, from, v.Room, v.Epoch+1, sealed); err == nil {
			t.Error("opened under another epoch")
		}
		if _, err := openRoomKey(key, from, v.To, v.Room, v.Epoch, sealed); err == nil {
			t.Error("opened by the sender as if it were the recipient")
		}
	}
}

// TestX25519FromEd25519 checks the conversion on random keys: both sides
// of a pair derive the same secret, and the public conversion equals the
// private key's own base point multiple.
func TestX25519FromEd25519(t *testing.T) {
	for range 20 {
		pa, ka, _ := ed25519.GenerateKey(rand.Reader)
		pb, kb, _ := ed25519.GenerateKey(rand.Reader)
		xa, err := x25519Public(pa)
		if err != nil {
			t.Fatal(err)
		}
		xb, err := x25519Public(pb)
		if err != nil {
			t.Fatal(err)
		}
		s1, err := curve25519.X25519(x25519Private(ka), xb)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := curve25519.X25519(x25519Private(kb), xa)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s1, s2) {
			t.Fatal("shared secrets differ")
		}
		own, _ := curve25519.X25519(x25519Private(ka), curve25519.Basepoint)
		if !bytes.Equal(own, xa) {
			t.Fatal("x25519Public disagrees with the private key")
		}
	}
	// y = 2 is not the y of any point on the curve.
	notOnCurve := make([]byte, 32)
	notOnCurve[0] = 2
	if _, err := x25519Public(notOnCurve); err == nil {
		t.Error("a point off the curve converted")
	}
}
