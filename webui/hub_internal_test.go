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

// TestDeliverMergedJoinsFramesPerConnection: a batch of fan-outs reaches
// each connection as one push of its frames in order, and a second batch
// starts clean.
func TestDeliverMergedJoinsFramesPerConnection(t *testing.T) {
	h := NewHub(nil)
	defer h.Shutdown()
	newConn := func(u node.UserID) *conn {
		// No descriptor: pushes queue (batchConn.TryWrite declines).
		c := &conn{user: u, w: newWriter(nil, &batchConn{}, outQueueSize, nil)}
		h.add(c)
		return c
	}
	a, b, c := newConn("u1@n"), newConn("u1@n"), newConn("u2@n")
	f := func(s string) []byte { return []byte(s) }
	note := &node.Notification{Kind: node.NoteTyping}
	var m merger
	h.deliverMerged([]fanout{
		{frame: f("A"), to: []node.UserID{"u1@n", "u2@n"}, n: note},
		{frame: f("B"), to: []node.UserID{"u2@n"}, n: note},
		{frame: f("C"), to: []node.UserID{"u1@n", "nobody@n"}, n: note},
	}, &m)
	h.deliverMerged([]fanout{
		{frame: f("D"), to: []node.UserID{"u2@n"}, n: note},
		{frame: f("E"), to: []node.UserID{"u2@n"}, n: note},
	}, &m)
	for _, tc := range []struct {
		c    *conn
		want []string
	}{{a, []string{"AC"}}, {b, []string{"AC"}}, {c, []string{"AB", "DE"}}} {
		var got []string
		for _, q := range tc.c.w.takeQueued() {
			got = append(got, string(q))
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || (len(got) > 1 && got[1] != tc.want[1]) {
			t.Errorf("%s got %q, want %q", tc.c.user, got, tc.want)
		}
		if tc.c.mergeFirst != 0 || tc.c.mergeLast != 0 {
			t.Errorf("%s keeps merge state %d/%d", tc.c.user, tc.c.mergeFirst, tc.c.mergeLast)
		}
	}
}
