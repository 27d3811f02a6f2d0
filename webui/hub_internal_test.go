package webui

import (
	"encoding/json"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestMessageFrameIsJSONMarshal: the ack and message frames built around
// a shared encoding of the message are json.Marshal's frames, and the
// memo never serves one message's JSON for another.
func TestMessageFrameIsJSONMarshal(t *testing.T) {
	h := NewHub(nil)
	defer h.Shutdown()
	m1 := &node.Message{ID: "m1", Room: "r", Sender: "a@n", Body: `<b>"hi"</b> & é`, TS: 1, ClientID: "c<1>"}
	m2 := &node.Message{ID: "m2", Room: "r", Sender: "a@n", Body: "second", TS: 2}
	for _, c := range []struct {
		typ, id string
		m       *node.Message
	}{{"ack", "c<1>", m1}, {"message", "", m1}, {"message", "", m2}, {"update", "", m1}, {"ack", `q"uote`, m2}} {
		got, err := h.messageFrame(c.typ, c.id, c.m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(frame{Type: c.typ, ID: c.id, Message: c.m})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s frame:\n got %s\nwant %s", c.typ, got, want)
		}
	}
}
