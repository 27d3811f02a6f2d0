package bench

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestScanHearth(t *testing.T) {
	msg := func(body string) string {
		return `{"type":"message","message":{"id":"m1","room":"r1","sender":"bench1@12D3KooW","body":"` + body + `","ts":1700000000000}}`
	}
	tests := []struct {
		name  string
		frame string
		want  recorder
	}{
		{"message", msg("5 1700000000000000001 xxxx"), recorder{delivered: []string{"5 1700000000000000001 "}}},
		{"message, spaces and other member order", `{ "message": {"body": "6 7 x", "id": "m"}, "type": "message" }`, recorder{delivered: []string{"6 7 "}}},
		{"message with foreign body", msg("hello"), recorder{delivered: []string{"bad"}}},
		{"ack", `{"type":"ack","id":"r-5","message":{"id":"m1","body":"5 8 xx","clientId":"r-5"}}`, recorder{acks: []string{"5 8 "}}},
		{"error", `{"type":"error","id":"r-5","code":"rate_limited","message":"slow down"}`, recorder{refused: 1}},
		{"presence ignored", `{"type":"presence","user":"a@n","presence":"online"}`, recorder{}},
		{"room with lastMessage ignored", `{"type":"room","room":{"id":"r","lastMessage":{"body":"1 2 x"}}}`, recorder{}},
		{"receipt ignored", `{"type":"receipt","room":"r","user":"u","upTo":"m","kind":"delivered"}`, recorder{}},
		{"garbage", `not json`, recorder{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			if reply := scanHearth([]byte(tt.frame), &r); reply != nil {
				t.Errorf("reply %q, want none", reply)
			}
			checkRecorder(t, r, tt.want)
		})
	}
}

func TestHearthSendFrame(t *testing.T) {
	h := newHearthSend(`room"with/odd`, "run1")
	payload := appendPayload(nil, 42, 1700000000000000000, 60)
	frame := h.append(nil, 42, payload)
	var f struct {
		Type, ID, Room, Body string
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		t.Fatalf("frame %s: %v", frame, err)
	}
	if f.Type != "send" || f.ID != "run1-42" || f.Room != `room"with/odd` || f.Body != string(payload) {
		t.Fatalf("frame %s decodes to %+v", frame, f)
	}
	if n := testing.AllocsPerRun(100, func() { frame = h.append(frame[:0], 42, payload) }); n != 0 {
		t.Fatalf("append allocates %.1f times", n)
	}
}

func TestScanSocketIO(t *testing.T) {
	tests := []struct {
		name      string
		frame     string
		wantReply string
		want      recorder
	}{
		{"event", `42["msg","3 1700000000000000000 xxx"]`, "", recorder{delivered: []string{"3 1700000000000000000 "}}},
		{"ping", `2`, "3", recorder{}},
		{"connect error", `44{"message":"nope"}`, "", recorder{refused: 1}},
		{"disconnect", `41`, "", recorder{refused: 1}},
		{"engine close", `1`, "", recorder{refused: 1}},
		{"other event", `42["other","1 2 x"]`, "", recorder{}},
		{"connect ok", `40{"sid":"abc"}`, "", recorder{}},
		{"noop", `6`, "", recorder{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			reply := scanSocketIO([]byte(tt.frame), &r)
			if string(reply) != tt.wantReply {
				t.Errorf("reply %q, want %q", reply, tt.wantReply)
			}
			checkRecorder(t, r, tt.want)
		})
	}
}

func TestSocketIOEmitFrame(t *testing.T) {
	payload := appendPayload(nil, 7, 99, 30)
	frame := appendSocketIOEmit(nil, payload)
	if frame[0] != '4' || frame[1] != '2' {
		t.Fatalf("frame %s: not a socket.io event", frame)
	}
	var ev []string
	if err := json.Unmarshal(frame[2:], &ev); err != nil {
		t.Fatalf("frame %s: %v", frame, err)
	}
	if !slices.Equal(ev, []string{"msg", string(payload)}) {
		t.Fatalf("frame %s decodes to %q", frame, ev)
	}
	// The receiving side must understand what the sending side writes.
	var r recorder
	scanSocketIO(frame, &r)
	checkRecorder(t, r, recorder{delivered: []string{"7 99 "}})
}

func TestScanCentrifugo(t *testing.T) {
	push := func(body string) string {
		return `{"push":{"channel":"bench","pub":{"data":"` + body + `","offset":1}}}`
	}
	tests := []struct {
		name      string
		frame     string
		wantReply string
		want      recorder
	}{
		{"push", push("1 2 xx"), "", recorder{delivered: []string{"1 2 "}}},
		{"batched pushes", push("1 2 x") + "\n" + push("2 3 x") + "\n" + push("3 4 x"), "", recorder{delivered: []string{"1 2 ", "2 3 ", "3 4 "}}},
		{"ping", `{}`, "{}", recorder{}},
		{"ping among pushes", push("1 2 x") + "\n{}\n" + push("2 3 x"), "{}", recorder{delivered: []string{"1 2 ", "2 3 "}}},
		{"publish reply", `{"id":15,"publish":{}}`, "", recorder{acks: []string{""}}},
		{"error reply", `{"id":15,"error":{"code":103,"message":"permission denied"}}`, "", recorder{refused: 1}},
		{"trailing newline", push("9 9 x") + "\n", "", recorder{delivered: []string{"9 9 "}}},
		{"join push ignored", `{"push":{"channel":"bench","join":{"info":{"client":"c"}}}}`, "", recorder{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			reply := scanCentrifugo([]byte(tt.frame), &r)
			if string(reply) != tt.wantReply {
				t.Errorf("reply %q, want %q", reply, tt.wantReply)
			}
			checkRecorder(t, r, tt.want)
		})
	}
}

func TestCentrifugoPublishFrame(t *testing.T) {
	payload := appendPayload(nil, 11, 12345, 40)
	frame := appendCentrifugoPublish(nil, 21, "bench", payload)
	var f struct {
		ID      int `json:"id"`
		Publish struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		} `json:"publish"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		t.Fatalf("frame %s: %v", frame, err)
	}
	var data string
	if err := json.Unmarshal(f.Publish.Data, &data); err != nil {
		t.Fatalf("data %s is not a JSON string: %v", f.Publish.Data, err)
	}
	if f.ID != 21 || f.Publish.Channel != "bench" || data != string(payload) {
		t.Fatalf("frame %s decodes to %+v", frame, f)
	}
	if n := testing.AllocsPerRun(100, func() { frame = appendCentrifugoPublish(frame[:0], 21, "bench", payload) }); n != 0 {
		t.Fatalf("append allocates %.1f times", n)
	}
}

func checkRecorder(t *testing.T, got, want recorder) {
	t.Helper()
	if !slices.Equal(got.delivered, want.delivered) || !slices.Equal(got.acks, want.acks) || got.refused != want.refused {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestWSURL(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"http://127.0.0.1:8080", "/api/v1/ws", "ws://127.0.0.1:8080/api/v1/ws"},
		{"https://chat.example/", "/api/v1/ws", "wss://chat.example/api/v1/ws"},
		{"http://h:1/prefix", "/connection/websocket", "ws://h:1/prefix/connection/websocket"},
	}
	for _, tt := range tests {
		got, err := wsURL(tt.base, tt.path, nil)
		if err != nil || got != tt.want {
			t.Errorf("wsURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
	if _, err := wsURL("ftp://x", "/", nil); err == nil {
		t.Error("ftp URL accepted")
	}
}
