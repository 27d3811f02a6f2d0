package webui_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/webui"
)

func TestWSOrigin(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) {
		c.AllowedOrigins = []string{"https://chat.example"}
	}})
	tests := []struct {
		name   string
		origin string
		ok     bool
	}{
		{"absent", "", true},
		{"own origin", tn.URL, true},
		{"configured origin", "https://chat.example", true},
		{"foreign origin", "https://evil.example", false},
		{"own host, other port", "http://127.0.0.1:1", false},
		{"null", "null", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			conn, resp, err := tn.dialWS(t, h)
			if tc.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("upgrade from a foreign origin succeeded")
			}
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("err %v, resp %v; want a 403", err, resp)
			}
		})
	}
}

func TestWSAuth(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	// A node that waits only 300ms for the auth frame, for the timeout
	// case alone: on the other cases' node, a busy machine's slow first
	// frame would race it.
	impatient := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.AuthTimeout = 300 * time.Millisecond }})

	t.Run("ready", func(t *testing.T) {
		w := tn.mustDial(t)
		w.send(t, map[string]string{"type": "auth", "token": alice.Access})
		f := w.expect(t, "ready", nil)
		var ready struct {
			User node.User `json:"user"`
		}
		if err := jsonUnmarshal(f.User, &ready.User); err != nil || ready.User.ID != alice.User.ID || ready.User.Username != "alice" {
			t.Errorf("ready user = %s", f.User)
		}
	})

	closes := []struct {
		name  string
		first any // nil: send nothing
	}{
		{"timeout", nil},
		{"bad token", map[string]string{"type": "auth", "token": "garbage"}},
		{"empty token", map[string]string{"type": "auth"}},
		{"not auth first", map[string]string{"type": "ping"}},
		{"send first", map[string]any{"type": "send", "id": "1", "room": "r", "body": "x"}},
		{"not JSON", "hello"},
		{"binary", []byte{0, 1, 2}},
	}
	for _, tc := range closes {
		t.Run(tc.name, func(t *testing.T) {
			on := tn
			if tc.first == nil {
				on = impatient
			}
			w := on.mustDial(t)
			switch f := tc.first.(type) {
			case nil:
			case []byte:
				if err := w.conn.WriteMessage(websocket.BinaryMessage, f); err != nil {
					t.Fatal(err)
				}
			default:
				w.send(t, f)
			}
			if tc.first != nil {
				// docs/api.md: an unauthenticated error frame comes first.
				if f := w.expect(t, "error", nil); f.Code != "unauthenticated" {
					t.Errorf("error code %q, want unauthenticated", f.Code)
				}
			}
			if code := w.expectClose(t, 5*time.Second); code != 4001 {
				t.Errorf("close code %d, want 4001", code)
			}
		})
	}

	t.Run("logged out session", func(t *testing.T) {
		c := tn.mustLogin(t, "alice")
		c.must(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
		w := tn.mustDial(t)
		w.send(t, map[string]string{"type": "auth", "token": c.Access})
		if code := w.expectClose(t, 5*time.Second); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
	})

	t.Run("logout closes the session's sockets", func(t *testing.T) {
		c := tn.mustLogin(t, "alice")
		w1, w2 := c.mustWS(t), c.mustWS(t)
		other := alice.mustWS(t)
		c.must(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
		for _, w := range []*wsClient{w1, w2} {
			if f := w.expect(t, "error", nil); f.Code != "unauthenticated" {
				t.Errorf("error code %q before the close, want unauthenticated", f.Code)
			}
			if code := w.expectClose(t, 5*time.Second); code != 4001 {
				t.Errorf("close code %d, want 4001", code)
			}
		}
		other.send(t, map[string]string{"type": "ping"})
		other.expect(t, "pong", nil)
	})
}

func TestWSTokenExpiry(t *testing.T) {
	// Tokens live 6s. JWT times are whole seconds, so a re-auth sent as
	// soon as a fresh token outlives the first still has 4s to land, room
	// for a busy machine.
	tn := newTestNode(t, nodeOptions{tokenTTL: 6 * time.Second})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	aliceSID, bobSID := sessionOf(t, alice.Access), sessionOf(t, bob.Access)
	// Each step mints its own tokens.
	fresh := func(u node.UserID, sid string) (string, time.Time) {
		tok, exp, err := tn.Tokens.Issue(string(u), sid)
		if err != nil {
			t.Fatal(err)
		}
		return tok, exp
	}
	dialAs := func(t *testing.T, tok string) *wsClient {
		w := tn.mustDial(t)
		w.send(t, map[string]string{"type": "auth", "token": tok})
		w.expect(t, "ready", nil)
		return w
	}

	t.Run("expiry closes with 4001", func(t *testing.T) {
		t.Parallel()
		tok, _ := fresh(alice.User.ID, aliceSID)
		w := dialAs(t, tok)
		if f := w.expect(t, "error", nil); f.Code != "unauthenticated" {
			t.Errorf("error code %q before the close, want unauthenticated", f.Code)
		}
		if code := w.expectClose(t, 10*time.Second); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
	})
	t.Run("re-auth extends", func(t *testing.T) {
		t.Parallel()
		tok1, exp1 := fresh(alice.User.ID, aliceSID)
		exp1 = exp1.Truncate(time.Second) // the token's exp claim
		w := dialAs(t, tok1)
		// JWT times are whole seconds: wait until a fresh token expires
		// later than the first.
		var tok2 string
		var exp2 time.Time
		poll.Until(t, 3*time.Second, func() error {
			if tok2, exp2 = fresh(alice.User.ID, aliceSID); !exp2.Truncate(time.Second).After(exp1) {
				return errors.New("clock has not moved a second yet")
			}
			return nil
		})
		exp2 = exp2.Truncate(time.Second)
		w.send(t, map[string]string{"type": "auth", "token": tok2})
		w.send(t, map[string]string{"type": "ping"})
		w.expect(t, "pong", nil)
		// The server closes the socket when its token expires: with the
		// re-auth taken, not before the second token's expiry, however
		// late this goroutine looks.
		if code := w.expectClose(t, time.Until(exp2)+10*time.Second); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
		if closed := w.closedAt; closed.Before(exp2) {
			t.Errorf("closed at %v, before the second token's expiry %v (the first's was %v)",
				closed.Format(time.StampMilli), exp2.Format(time.StampMilli), exp1.Format(time.StampMilli))
		}
	})
	t.Run("re-auth as another user closes", func(t *testing.T) {
		t.Parallel()
		tok, _ := fresh(alice.User.ID, aliceSID)
		w := dialAs(t, tok)
		bobTok, _ := fresh(bob.User.ID, bobSID)
		w.send(t, map[string]string{"type": "auth", "token": bobTok})
		if code := w.expectClose(t, 5*time.Second); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
	})
	t.Run("re-auth with a bad token closes", func(t *testing.T) {
		t.Parallel()
		tok, _ := fresh(alice.User.ID, aliceSID)
		w := dialAs(t, tok)
		w.send(t, map[string]string{"type": "auth", "token": "garbage"})
		if code := w.expectClose(t, 5*time.Second); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
	})
}

// sessionOf reads the session ID claim out of an access token without
// verifying it: the token may have expired already, on a slow machine,
// when its session is all the test wants.
func sessionOf(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", tok)
	}
	var c struct {
		Session string `json:"sid"`
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Session == "" {
		t.Fatalf("access token claims %s: %v", b, err)
	}
	return c.Session
}

func TestWSMessaging(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "general", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)

	a1, a2, b := alice.mustWS(t), alice.mustWS(t), bob.mustWS(t)

	t.Run("send, ack, fan-out", func(t *testing.T) {
		a1.send(t, map[string]any{"type": "send", "id": "c1", "room": room.ID, "body": "hello <b>world</b>"})
		ack := a1.expect(t, "ack", nil)
		m := ack.message(t)
		if ack.ID != "c1" || m.ClientID != "c1" || m.Body != "hello <b>world</b>" || m.Sender != alice.User.ID || m.Room != room.ID {
			t.Fatalf("ack = %+v, message %+v", ack, m)
		}
		// Durable before the ack: history has it.
		if p := alice.mustHistory(t, room.ID, "?limit=1"); len(p.Messages) != 1 || p.Messages[0].ID != m.ID {
			t.Errorf("history after ack = %+v", p.Messages)
		}
		for name, w := range map[string]*wsClient{"sender itself": a1, "sender's other tab": a2, "other member": b} {
			f := w.expect(t, "message", func(f wsFrame) bool { return f.message(t).ID == m.ID })
			if got := f.message(t); got.Body != m.Body || got.ClientID != "c1" {
				t.Errorf("%s got %+v", name, got)
			}
		}
		// The sender hears that bob's connection got it.
		f := a1.expect(t, "receipt", func(f wsFrame) bool { return f.Kind == "delivered" })
		if f.userID() != string(bob.User.ID) || f.UpTo != string(m.ID) || f.roomID() != string(room.ID) {
			t.Errorf("delivered receipt = %+v", f)
		}
	})

	t.Run("mentions travel in the frames and count in the room view (API.md §9)", func(t *testing.T) {
		a1.send(t, map[string]any{"type": "send", "id": "m1", "room": room.ID, "body": "@bob see this", "mentions": []node.UserID{bob.User.ID}})
		ack := a1.expect(t, "ack", func(f wsFrame) bool { return f.ID == "m1" }).message(t)
		if len(ack.Mentions) != 1 || ack.Mentions[0] != bob.User.ID {
			t.Fatalf("ack mentions = %v", ack.Mentions)
		}
		got := b.expect(t, "message", func(f wsFrame) bool { return f.message(t).ID == ack.ID }).message(t)
		if len(got.Mentions) != 1 || got.Mentions[0] != bob.User.ID {
			t.Fatalf("bob's frame mentions = %v", got.Mentions)
		}
		a1.send(t, map[string]any{"type": "send", "id": "m2", "room": room.ID, "body": "all of you", "mentionsRoom": true})
		a1.expect(t, "ack", func(f wsFrame) bool { return f.ID == "m2" })
		var view node.Room
		bob.must(t, "GET", "/api/v1/rooms/"+string(room.ID), nil, http.StatusOK, &view)
		if view.Mentions == nil || *view.Mentions != 2 {
			t.Fatalf("bob's room view mentions = %v, want 2", view.Mentions)
		}
		a1.send(t, map[string]any{"type": "send", "id": "m3", "room": room.ID, "body": "x", "mentions": []string{"nobody"}})
		if f := a1.expect(t, "error", func(f wsFrame) bool { return f.ID == "m3" }); f.Code != "invalid_argument" {
			t.Fatalf("bad mention: %+v", f)
		}
		bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/read", map[string]string{"upTo": string(ack.ID)}, http.StatusNoContent, nil)
	})

	t.Run("retried send is acked once stored once", func(t *testing.T) {
		a1.send(t, map[string]any{"type": "send", "id": "c2", "room": room.ID, "body": "once"})
		a1.send(t, map[string]any{"type": "send", "id": "c2", "room": room.ID, "body": "once"})
		x, y := a1.expect(t, "ack", nil).message(t), a1.expect(t, "ack", nil).message(t)
		if x.ID != y.ID {
			t.Errorf("two messages for one clientId: %s, %s", x.ID, y.ID)
		}
	})

	t.Run("room order", func(t *testing.T) {
		const each = 15
		var wg sync.WaitGroup
		for _, w := range []*wsClient{a1, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					w.wmu.Lock()
					err := w.conn.WriteJSON(map[string]any{"type": "send", "id": fmt.Sprintf("order-%p-%d", w, i), "room": room.ID, "body": fmt.Sprint(i)})
					w.wmu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got := map[string][]node.EventID{}
		for name, w := range map[string]*wsClient{"a1": a1, "a2": a2, "b": b} {
			for len(got[name]) < 2*each {
				f := w.expect(t, "message", func(f wsFrame) bool { return strings.HasPrefix(f.message(t).ClientID, "order-") })
				got[name] = append(got[name], f.message(t).ID)
			}
		}
		p := alice.mustHistory(t, room.ID, fmt.Sprintf("?limit=%d", 2*each))
		var want []node.EventID
		for i := len(p.Messages) - 1; i >= 0; i-- {
			want = append(want, p.Messages[i].ID)
		}
		for name, ids := range got {
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("%s saw messages out of room order:\n got %v\nwant %v", name, ids, want)
			}
		}
	})

	t.Run("send errors keep the connection", func(t *testing.T) {
		tests := []struct {
			name  string
			frame any
			code  string
			id    string
		}{
			{"no id", map[string]any{"type": "send", "room": room.ID, "body": "x"}, "invalid_argument", ""},
			{"no body", map[string]any{"type": "send", "id": "e1", "room": room.ID}, "invalid_argument", "e1"},
			{"body over 16 KiB", map[string]any{"type": "send", "id": "e2", "room": room.ID, "body": strings.Repeat("x", 16<<10+1)}, "too_large", "e2"},
			{"no such room", map[string]any{"type": "send", "id": "e3", "room": "nosuchroom", "body": "x"}, "not_found", "e3"},
			{"wrong type", map[string]any{"type": "send", "id": "e4", "room": room.ID, "body": 5}, "invalid_argument", "e4"},
			{"unknown type", map[string]any{"type": "dance", "id": "e5"}, "invalid_argument", "e5"},
			{"no type", map[string]any{"id": "e6"}, "invalid_argument", "e6"},
			{"malformed", `{"type": "send", "id": "e7", `, "invalid_argument", ""},
			{"not an object", `[1, 2, 3]`, "invalid_argument", ""},
			{"invalid UTF-8", []byte("{\"type\":\"send\",\"id\":\"e8\",\"body\":\"\xff\"}"), "invalid_argument", ""},
			{"frame over 64 KiB", map[string]any{"type": "send", "id": "e9", "room": room.ID, "body": strings.Repeat("x", 65<<10)}, "too_large", ""},
			{"frame of 1 MiB", map[string]any{"type": "send", "id": "e13", "room": room.ID, "body": strings.Repeat("x", 1<<20)}, "too_large", ""},
			{"typing without flag", map[string]any{"type": "typing", "id": "e10", "room": room.ID}, "invalid_argument", "e10"},
			{"read of unknown message", map[string]any{"type": "read", "id": "e11", "room": room.ID, "upTo": "nosuchmessage"}, "invalid_argument", "e11"},
			{"edit of another's message", map[string]any{"type": "edit", "id": "e12", "room": room.ID, "message": "nosuchmessage", "body": "x"}, "", "e12"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b.send(t, tc.frame)
				f := b.expect(t, "error", nil)
				if tc.code != "" && f.Code != tc.code {
					t.Errorf("code %q, want %q", f.Code, tc.code)
				}
				if f.ID != tc.id {
					t.Errorf("id %q, want %q", f.ID, tc.id)
				}
				var msg string
				if jsonUnmarshal(f.Message, &msg) != nil || msg == "" {
					t.Errorf("error frame message = %s", f.Message)
				}
				b.send(t, map[string]string{"type": "ping"})
				b.expect(t, "pong", nil)
			})
		}
		t.Run("binary frame", func(t *testing.T) {
			b.wmu.Lock()
			err := b.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
			b.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if f := b.expect(t, "error", nil); f.Code != "invalid_argument" {
				t.Errorf("code %q", f.Code)
			}
			b.send(t, map[string]string{"type": "ping"})
			b.expect(t, "pong", nil)
		})
	})

	t.Run("edit delete react frames", func(t *testing.T) {
		a1.send(t, map[string]any{"type": "send", "id": "c3", "room": room.ID, "body": "tpyo"})
		m := a1.expect(t, "ack", func(f wsFrame) bool { return f.ID == "c3" }).message(t)
		a1.send(t, map[string]any{"type": "edit", "id": "c4", "room": room.ID, "message": m.ID, "body": "typo"})
		if got := a1.expect(t, "ack", func(f wsFrame) bool { return f.ID == "c4" }).message(t); got.Body != "typo" || got.EditedAt == 0 {
			t.Errorf("edit ack = %+v", got)
		}
		if got := b.expect(t, "update", func(f wsFrame) bool { return f.message(t).ID == m.ID }).message(t); got.Body != "typo" {
			t.Errorf("update = %+v", got)
		}
		b.send(t, map[string]any{"type": "react", "id": "c5", "room": room.ID, "message": m.ID, "emoji": "🎉", "on": true})
		if got := b.expect(t, "ack", func(f wsFrame) bool { return f.ID == "c5" }).message(t); len(got.Reactions) != 1 ||
			got.Reactions[0].Emoji != "🎉" || got.Reactions[0].Count != 1 || !got.Reactions[0].Me {
			t.Errorf("react ack = %+v", got)
		}
		// Others get a delta naming the message by ID, not the message.
		f := a2.expect(t, "reaction", nil)
		if f.roomID() != string(room.ID) || string(f.Message) != `"`+string(m.ID)+`"` || f.Emoji != "🎉" ||
			f.userID() != string(bob.User.ID) || f.On == nil || !*f.On || f.Count != 1 {
			t.Errorf("reaction frame = %+v", f)
		}
		a2.expectNone(t, "update", func(f wsFrame) bool { return len(f.message(t).Reactions) > 0 }, 100*time.Millisecond)
		b.send(t, map[string]any{"type": "edit", "id": "c6", "room": room.ID, "message": m.ID, "body": "hijack"})
		if f := b.expect(t, "error", func(f wsFrame) bool { return f.ID == "c6" }); f.Code != "forbidden" {
			t.Errorf("edit of another's message: code %q", f.Code)
		}
		a1.send(t, map[string]any{"type": "delete", "id": "c7", "room": room.ID, "message": m.ID})
		if got := a1.expect(t, "ack", func(f wsFrame) bool { return f.ID == "c7" }).message(t); !got.Deleted || got.Body != "" {
			t.Errorf("delete ack = %+v", got)
		}
		b.expect(t, "update", func(f wsFrame) bool { return f.message(t).ID == m.ID && f.message(t).Deleted })
	})

	t.Run("read receipts", func(t *testing.T) {
		m := alice.mustPost(t, room.ID, "read this")
		b.send(t, map[string]any{"type": "read", "room": room.ID, "upTo": m.ID})
		f := a1.expect(t, "receipt", func(f wsFrame) bool { return f.Kind == "read" && f.UpTo == string(m.ID) })
		if f.userID() != string(bob.User.ID) || f.roomID() != string(room.ID) {
			t.Errorf("receipt = %+v", f)
		}
	})
}

func TestWSTypingAndPresence(t *testing.T) {
	tn := newTestNode(t, nodeOptions{typing: 300 * time.Millisecond})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	carol := tn.mustRegister(t, "carol") // shares no room with alice
	room := alice.mustCreateRoom(t, "general", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
	a := alice.mustWS(t)
	c := carol.mustWS(t)

	t.Run("presence", func(t *testing.T) {
		b1 := bob.mustWS(t)
		f := a.expect(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) })
		if f.Presence != "online" {
			t.Errorf("presence = %+v", f)
		}
		var u node.User
		alice.must(t, "GET", "/api/v1/users/"+string(bob.User.ID), nil, http.StatusOK, &u)
		if u.Presence != "online" {
			t.Errorf("bob is %q over REST", u.Presence)
		}
		b2 := bob.mustWS(t)
		b1.conn.Close()
		// One connection left: still online.
		poll.Until(t, 5*time.Second, func() error {
			if n := tn.Hub.Conns(); n != 3 {
				return fmt.Errorf("%d connections, want alice, carol and bob's second", n)
			}
			return nil
		})
		alice.must(t, "GET", "/api/v1/users/"+string(bob.User.ID), nil, http.StatusOK, &u)
		if u.Presence != "online" {
			t.Errorf("bob is %q with one socket left", u.Presence)
		}
		a.expectNone(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) }, 0)
		b2.conn.Close()
		f = a.expect(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) })
		if f.Presence != "offline" || f.LastSeen <= 0 {
			t.Errorf("presence = %+v, want offline with lastSeen", f)
		}
		alice.must(t, "GET", "/api/v1/users/"+string(bob.User.ID), nil, http.StatusOK, &u)
		if u.Presence != "offline" || u.LastSeen <= 0 {
			t.Errorf("bob over REST = %+v", u)
		}
		c.expectNone(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) }, 100*time.Millisecond)
	})

	t.Run("typing", func(t *testing.T) {
		b := bob.mustWS(t)
		b.send(t, map[string]any{"type": "typing", "room": room.ID, "typing": true})
		f := a.expect(t, "typing", nil)
		if f.userID() != string(bob.User.ID) || f.roomID() != string(room.ID) || f.Typing == nil || !*f.Typing {
			t.Errorf("typing = %+v", f)
		}
		// Not renewed: it expires.
		f = a.expect(t, "typing", nil)
		if f.Typing == nil || *f.Typing {
			t.Errorf("after expiry: %+v", f)
		}
		b.send(t, map[string]any{"type": "typing", "room": room.ID, "typing": true})
		a.expect(t, "typing", func(f wsFrame) bool { return *f.Typing })
		b.send(t, map[string]any{"type": "typing", "room": room.ID, "typing": false})
		a.expect(t, "typing", func(f wsFrame) bool { return !*f.Typing })
		b.expectNone(t, "typing", nil, 50*time.Millisecond) // not to oneself
		c.send(t, map[string]any{"type": "typing", "id": "t1", "room": room.ID, "typing": true})
		if f := c.expect(t, "error", nil); f.Code != "forbidden" || f.ID != "t1" {
			t.Errorf("typing in a room one is not in: %+v", f)
		}
	})
}

func TestWSIdleDrop(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) {
		c.PingInterval = 100 * time.Millisecond
		c.PongWait = time.Second
	}})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "general", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)

	// Alice's socket reads, so it answers pings; it counts them.
	aconn, _, err := tn.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pings atomic.Int32
	aconn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return aconn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	a := newWSClient(t, aconn, true)
	a.send(t, map[string]string{"type": "auth", "token": alice.Access})
	a.expect(t, "ready", nil)

	// Bob authenticates, then stops reading, so he answers no pings.
	conn, _, err := tn.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]string{"type": "auth", "token": bob.Access}); err != nil {
		t.Fatal(err)
	}
	a.expect(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) && f.Presence == "online" })
	f := a.expect(t, "presence", func(f wsFrame) bool { return f.userID() == string(bob.User.ID) && f.Presence == "offline" })
	if f.LastSeen <= 0 {
		t.Errorf("offline without lastSeen: %+v", f)
	}
	// Alice answers pings and outlives PongWaits: 25 pings at 100ms span
	// 2.5s, over twice the 1s PongWait.
	start := pings.Load()
	poll.Until(t, 10*time.Second, func() error {
		if n := pings.Load() - start; n < 25 {
			return fmt.Errorf("alice answered %d pings", n)
		}
		return nil
	})
	if n := tn.Hub.Conns(); n != 1 {
		t.Errorf("%d connections, want alice's only", n)
	}
	a.send(t, map[string]string{"type": "ping"})
	a.expect(t, "pong", nil)
}

func TestWSSlowClient(t *testing.T) {
	tn := newTestNode(t, nodeOptions{sndBuf: 4096, config: func(c *webui.Config) { c.UserRate = -1 }})
	alice := tn.mustRegister(t, "alice")
	bob := tn.mustRegister(t, "bob")
	room := alice.mustCreateRoom(t, "general", "public")
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)

	// Bob's slow socket never reads after auth.
	conn, _, err := tn.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc, ok := conn.NetConn().(interface{ SetReadBuffer(int) error }); ok {
		_ = tc.SetReadBuffer(4096)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]string{"type": "auth", "token": bob.Access}); err != nil {
		t.Fatal(err)
	}
	fast := bob.mustWS(t) // bob's other tab reads
	a := alice.mustWS(t)
	poll.Until(t, 5*time.Second, func() error {
		if tn.Hub.Conns() != 3 {
			return fmt.Errorf("%d connections", tn.Hub.Conns())
		}
		return nil
	})

	const n = 800 // beyond the 512-frame queue and the shrunken socket buffers
	body := strings.Repeat("x", 1024)
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += 8 {
				r := alice.call(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/messages", map[string]string{"body": body, "clientId": fmt.Sprint(i)})
				if r.Status != http.StatusCreated {
					t.Errorf("post %d: %d", i, r.Status)
					return
				}
			}
		}()
	}
	got := 0
	for got < n {
		fast.expect(t, "message", nil)
		got++
	}
	wg.Wait()
	for range n {
		a.expect(t, "message", nil)
	}
	// The slow socket was cut off; the hub holds only the readers.
	poll.Until(t, 10*time.Second, func() error {
		if c := tn.Hub.Conns(); c != 2 {
			return fmt.Errorf("%d connections, want 2", c)
		}
		return nil
	})
}

func TestWSShutdown(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	// One socket just authenticated (its handler may not have finished
	// registering), one still authenticating: both go with 1001.
	ready := alice.mustWS(t)
	pending := tn.mustDial(t)
	poll.Until(t, 5*time.Second, func() error {
		if n := tn.Hub.Conns(); n != 1 {
			return fmt.Errorf("%d authenticated connections", n)
		}
		return nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tn.Hub.Shutdown()
	}()
	for name, w := range map[string]*wsClient{"ready": ready, "authenticating": pending} {
		if code := w.expectClose(t, 5*time.Second); code != websocket.CloseGoingAway {
			t.Errorf("%s socket: close code %d, want 1001", name, code)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	// Sockets opened after Shutdown are refused with 1001.
	late := tn.mustDial(t)
	if code := late.expectClose(t, 5*time.Second); code != websocket.CloseGoingAway {
		t.Errorf("late socket: close code %d, want 1001", code)
	}
}
