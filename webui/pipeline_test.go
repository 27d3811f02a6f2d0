package webui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A client may send without waiting for acks: the server reads on while
// earlier sends wait for the disk, and acknowledges each send exactly once,
// in the order it read them, with the message stored in that order.
func TestWSPipelinedSendsAckInOrder(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	room := alice.mustCreateRoom(t, "pipeline", "public")
	bob := tn.mustRegister(t, "bob")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
	bw := bob.mustWS(t)
	w := alice.mustWS(t)
	const n = 300 // more than the in-flight bound, less than the rate limit's burst
	for i := range n {
		w.send(t, map[string]any{"type": "send", "id": fmt.Sprint("p", i), "room": room.ID, "body": fmt.Sprint("m", i)})
	}
	ids := make([]string, n)
	for i := range n {
		f := w.expect(t, "ack", nil)
		if want := fmt.Sprint("p", i); f.ID != want {
			t.Fatalf("ack %d is for %s, want %s", i, f.ID, want)
		}
		m := f.message(t)
		if m.Body != fmt.Sprint("m", i) {
			t.Fatalf("ack %s carries body %q", f.ID, m.Body)
		}
		ids[i] = string(m.ID)
	}
	w.expectNone(t, "ack", nil, 200*time.Millisecond)
	// Another member gets the messages in room order (they are fanned
	// out faster than one at a time, so the hub merges them).
	for i := range n {
		if m := bw.expect(t, "message", nil).message(t); string(m.ID) != ids[i] {
			t.Fatalf("bob's message frame %d is %s (%q), want %s", i, m.ID, m.Body, ids[i])
		}
	}
	var got []string
	for q := "?limit=200"; ; {
		p := alice.mustHistory(t, room.ID, q)
		for _, m := range p.Messages { // newest first
			got = append([]string{string(m.ID)}, got...)
		}
		if !p.More {
			break
		}
		q = "?limit=200&before=" + string(p.Messages[len(p.Messages)-1].ID)
	}
	if len(got) != n {
		t.Fatalf("history holds %d messages, want %d", len(got), n)
	}
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("history[%d] = %s, acked as %s", i, got[i], ids[i])
		}
	}
}

// A node shutting down while sends are in flight acknowledges every send
// it read (and stored) before its close frame: no stored message goes
// unacknowledged, so a client never resends what it need not.
func TestWSShutdownAcksEverySendItRead(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	room := alice.mustCreateRoom(t, "closing", "public")
	w := alice.mustWS(t)
	const n = 200
	go func() {
		for i := range n {
			w.wmu.Lock()
			err := w.conn.WriteJSON(map[string]any{"type": "send", "id": fmt.Sprint("s", i), "room": room.ID, "body": fmt.Sprint("m", i)})
			w.wmu.Unlock()
			if err != nil {
				return // the server closed: the rest were not read
			}
		}
	}()
	// Shut down once the first acks show sends are flowing.
	w.expect(t, "ack", func(f wsFrame) bool { return f.ID == "s0" })
	tn.Hub.Shutdown()
	if code := w.expectClose(t, 10*time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	acked := map[string]bool{"s0": true}
	for _, f := range w.backlog {
		if f.Type == "ack" {
			acked[f.ID] = true
		}
	}
	for len(w.frames) > 0 {
		if f := <-w.frames; f.Type == "ack" {
			acked[f.ID] = true
		}
	}
	p := alice.mustHistory(t, room.ID, "?limit=200")
	stored := 0
	for _, m := range p.Messages {
		if m.Sender != alice.User.ID {
			continue
		}
		stored++
		var id string
		fmt.Sscanf(m.Body, "m%s", &id)
		if !acked["s"+id] {
			t.Errorf("message %q was stored but its send was never acknowledged", m.Body)
		}
	}
	if stored != len(acked) {
		t.Errorf("%d messages stored, %d acknowledged", stored, len(acked))
	}
	t.Logf("%d of %d sends read and acknowledged before the close", stored, n)
}
