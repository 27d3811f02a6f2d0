package node_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// fuzzNow is the clock FuzzDecodeEvent decodes against; the seed events
// in testdata were signed by fuzzKey with timestamps before it.
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func fuzzKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// FuzzDecodeEvent feeds wire bytes from peers to DecodeEvent. It must
// never panic, must refuse with a domain error, and what it accepts must
// be self-consistent: signed by its origin, sent by a user of the origin,
// and stable when decoded again.
func FuzzDecodeEvent(f *testing.F) {
	s := node.NewSigner(fuzzKey())
	user := node.NewUserID("alice", s.NodeID())
	for _, e := range []*node.Event{
		{Type: node.EventMessage, Room: "gfuzzroom", Sender: user, TS: 1700000000000, Content: []byte(`{"body":"hi"}`)},
		{Type: node.EventProfile, Sender: user, TS: 1700000000000, Content: []byte(`{"displayName":"A"}`)},
	} {
		if err := s.Seal(e); err != nil {
			f.Fatal(err)
		}
		f.Add(e.Raw)
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		e, err := node.DecodeEvent(raw, fuzzNow)
		if err != nil {
			var de *node.Error
			if !errors.As(err, &de) || de.Message == "" {
				t.Fatalf("error %v is not a node.Error", err)
			}
			return
		}
		if !bytes.Equal(raw, in) {
			t.Fatal("DecodeEvent modified its input")
		}
		if e.ID == "" || !bytes.Equal(e.Raw, raw) || e.Sender.Node() != e.Origin || e.V != node.EventVersion {
			t.Fatalf("accepted an inconsistent event: %+v", e)
		}
		again, err := node.DecodeEvent(e.Raw, fuzzNow)
		if err != nil || again.ID != e.ID {
			t.Fatalf("accepted event does not decode again: %v", err)
		}
	})
}
