package webui

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store"
	"github.com/hearth-chat/hearth/token"
)

// FuzzDecodeBytes feeds request bodies to the JSON decoder the REST
// handlers share. Whatever arrives, the answer is a value or a 4xx error
// with a client-safe message, never a panic or a 500.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{
		`{"body": "hi", "replyTo": "x", "clientId": "c1"}`,
		`{"username": "alice", "password": "correct horse"}`,
		`{"displayName": "A", "password": {"old": "a", "new": "b"}}`,
		`{"body": ["wrong"]}`, `{"body": "x"} {}`, `[]`, ``, `   `, `null`, `{"a":` + "\xff" + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg struct {
			Body     *string `json:"body"`
			ReplyTo  string  `json:"replyTo"`
			ClientID string  `json:"clientId"`
			Password *struct {
				Old string `json:"old"`
				New string `json:"new"`
			} `json:"password"`
		}
		var frame clientFrame
		var anyv map[string]any
		for _, v := range []any{&msg, &frame, &anyv} {
			err := decodeBytes(data, v)
			if err == nil {
				continue
			}
			status, code := errorCode(err)
			if status != 400 || code != "invalid_argument" {
				t.Fatalf("decode error maps to %d %s: %v", status, code, err)
			}
			if m := publicMessage(err, status); m == "" || m == "internal error" {
				t.Fatalf("public message %q", m)
			}
		}
	})
}

// frameFuzzer is a real node with one user who is a member of one room
// with one message, served over HTTP, and one authenticated WebSocket to
// it that is re-dialled when an input ends it.
type frameFuzzer struct {
	url  string
	room node.RoomID
	msg  node.EventID
	tok  string
	ws   *websocket.Conn
}

func newFrameFuzzer(f *testing.F) *frameFuzzer {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open("", store.Options{InMemory: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	hub := NewHub(log)
	n, err := node.New(ctx, node.Config{Store: db, Key: key, Logger: log, Notifier: hub, HashConcurrency: 1})
	if err != nil {
		f.Fatal(err)
	}
	tokens, err := token.NewIssuer(bytes.Repeat([]byte{1}, 32), string(n.ID()), 0, nil)
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{Node: n, Hub: hub, Tokens: tokens, Logger: log, UserRate: -1})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(s)
	ff := &frameFuzzer{url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/ws"}
	f.Cleanup(func() {
		if ff.ws != nil {
			ff.ws.Close()
		}
		srv.Close()
		hub.Shutdown()
		s.Close()
		n.Close()
		db.Close()
	})
	u, err := n.Register(ctx, "fuzzer", "fuzzing password", "")
	if err != nil {
		f.Fatal(err)
	}
	sess, _, err := n.NewSession(ctx, u.ID, "")
	if err != nil {
		f.Fatal(err)
	}
	if ff.tok, _, err = tokens.Issue(string(u.ID), sess.ID); err != nil {
		f.Fatal(err)
	}
	room, err := n.CreateRoom(ctx, u.ID, "fuzz", "", node.Public)
	if err != nil {
		f.Fatal(err)
	}
	m, err := n.Send(ctx, u.ID, node.SendParams{Room: room.ID, Body: "first"})
	if err != nil {
		f.Fatal(err)
	}
	ff.room, ff.msg = room.ID, m.ID
	return ff
}

func (ff *frameFuzzer) dial(t *testing.T) {
	ws, _, err := websocket.DefaultDialer.Dial(ff.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteJSON(map[string]string{"type": "auth", "token": ff.tok}); err != nil {
		t.Fatal(err)
	}
	var ready struct{ Type string }
	if err := ws.ReadJSON(&ready); err != nil || ready.Type != "ready" {
		t.Fatalf("auth: %v %+v", err, ready)
	}
	ff.ws = ws
}

// handle sends one frame, then a ping, and returns every frame the server
// sent before the pong that answers it, and whether the server closed
// the connection instead.
func (ff *frameFuzzer) handle(t *testing.T, mt int, data []byte, pongs int) ([][]byte, bool) {
	if ff.ws == nil {
		ff.dial(t)
	}
	ws := ff.ws
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(mt, data); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) // fails if the server closed
	var out [][]byte
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read: %v (after %q)", err, data)
			}
			ws.Close()
			ff.ws = nil
			return out, true
		}
		if bytes.Equal(p, []byte(`{"type":"pong"}`)) {
			if pongs--; pongs == 0 {
				return out, false
			}
			continue
		}
		out = append(out, p)
	}
}

// FuzzClientFrame feeds client frames to an authenticated WebSocket.
// Every answer is a well-formed server frame; only an auth frame (or one
// over the read limit) may end the connection; nothing panics. "$ROOM"
// and "$MSG" in an input stand for a real room and message, so the
// fuzzer reaches past the not-found checks.
func FuzzClientFrame(f *testing.F) {
	ff := newFrameFuzzer(f)
	for _, s := range []string{
		`{"type":"send","id":"1","room":"$ROOM","body":"hi"}`,
		`{"type":"send","id":"2","room":"$ROOM","body":"re","replyTo":"$MSG","thread":"$MSG"}`,
		`{"type":"typing","room":"$ROOM","typing":true}`,
		`{"type":"read","room":"$ROOM","upTo":"$MSG"}`,
		`{"type":"edit","id":"3","room":"$ROOM","message":"$MSG","body":"edited"}`,
		`{"type":"react","id":"4","room":"$ROOM","message":"$MSG","emoji":"👍","on":true}`,
		`{"type":"delete","room":"$ROOM","message":"$MSG"}`,
		`{"type":"ping"}`, `{"type":"auth","token":"x"}`, `{"type":"nope"}`, `{}`, `[]`, `{"type":`,
	} {
		f.Add(true, []byte(s))
	}
	f.Add(false, []byte(`{"type":"ping"}`))
	known := map[string]bool{"ack": true, "error": true, "message": true, "update": true, "reaction": true, "room": true, "presence": true, "typing": true, "receipt": true, "ready": true, "key_counts": true, "todevice": true, "device_lists": true}
	f.Fuzz(func(t *testing.T, text bool, data []byte) {
		data = bytes.ReplaceAll(data, []byte("$ROOM"), []byte(ff.room))
		data = bytes.ReplaceAll(data, []byte("$MSG"), []byte(ff.msg))
		mt := websocket.BinaryMessage
		if text {
			mt = websocket.TextMessage
		}
		var in clientFrame
		decoded := text && len(data) <= maxFrame && decodeBytes(data, &in) == nil
		pongs := 1
		if decoded && in.Type == "ping" {
			pongs = 2
		}
		out, closed := ff.handle(t, mt, data, pongs)
		if closed && !(decoded && in.Type == "auth") && len(data) <= readLimit {
			t.Fatalf("frame %q closed the connection", data)
		}
		for _, b := range out {
			var f struct {
				Type    string          `json:"type"`
				Code    string          `json:"code"`
				Message json.RawMessage `json:"message"`
			}
			if err := json.Unmarshal(b, &f); err != nil || !known[f.Type] {
				t.Fatalf("bad server frame %q", b)
			}
			if f.Type == "error" && (f.Code == "" || f.Code == "internal" || len(f.Message) < 3) {
				t.Fatalf("error frame %s for %q", b, data)
			}
		}
	})
}
