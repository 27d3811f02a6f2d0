package p2p

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"golang.org/x/crypto/curve25519"
)

// TestX25519FromEd25519 checks the key conversion: both sides of a pair
// must derive the same shared secret, which only holds when the private
// and public conversions agree.
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
		// The public conversion matches the private key's own base point
		// multiple.
		own, _ := curve25519.X25519(x25519Private(ka), curve25519.Basepoint)
		if !bytes.Equal(own, xa) {
			t.Fatal("x25519Public disagrees with the private key")
		}
	}
}
