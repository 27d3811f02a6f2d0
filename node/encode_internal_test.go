package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"
)

// TestAppendBodyIsJSONMarshal: the hand-written encoding of an event body
// is byte for byte json.Marshal's, or declines.
func TestAppendBodyIsJSONMarshal(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s := NewSigner(key)
	u := NewUserID("alice", s.NodeID())
	for _, c := range []struct {
		name    string
		room    RoomID
		content any
		lc      uint32
		plain   bool
	}{
		{"message", "rabc", MessageContent{Body: `hi <b>&"there"</b> é ✓`, ClientID: "c1"}, 3, true},
		{"no clock tick", "rabc", ReceiptContent{UpTo: "e1"}, 0, true},
		{"no room", "", ProfileContent{DisplayName: "A\u2028B"}, 0, true},
		{"odd room id", "r<x>", MessageContent{Body: "x"}, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			typ := EventMessage
			if c.room == "" {
				typ = EventProfile
			}
			e, err := newEvent(typ, c.room, u, c.content)
			if err != nil {
				t.Fatal(err)
			}
			e.V, e.Origin, e.TS, e.LC = EventVersion, s.NodeID(), time.Now().UnixMilli(), c.lc
			got, ok := appendBody(nil, e)
			if ok != c.plain {
				t.Fatalf("fast path taken: %v, want %v", ok, c.plain)
			}
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if ok && string(got) != string(want) {
				t.Fatalf("appendBody:\n%s\njson.Marshal:\n%s", got, want)
			}
			// Sealing gives an event that decodes.
			if err := s.Seal(e); err != nil {
				t.Fatal(err)
			}
			if !c.plain {
				return // not a valid room ID: only the encoding was at stake
			}
			d, err := DecodeEvent(e.Raw, time.Now())
			if err != nil || d.ID != e.ID {
				t.Fatalf("decode sealed: %v", err)
			}
		})
	}
	// Content made elsewhere (not by newEvent) always takes json.Marshal.
	e := &Event{V: 1, Type: EventMessage, Room: "r", Sender: u, Origin: s.NodeID(), TS: 1, Content: []byte(`{ "body" : "x" }`)}
	if _, ok := appendBody(nil, e); ok {
		t.Fatal("appendBody took content it did not encode")
	}
}
