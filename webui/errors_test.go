package webui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/webui"
)

func TestErrorsAndHeaders(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	room := alice.mustCreateRoom(t, "general", "public")
	msgs := "/api/v1/rooms/" + string(room.ID) + "/messages"

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		token  string
		header map[string]string
		want   int
		code   string
	}{
		{"malformed JSON", "POST", "/api/v1/rooms", `{"name": "x",`, alice.Access, nil, 400, "invalid_argument"},
		{"JSON array", "POST", "/api/v1/rooms", `[1,2]`, alice.Access, nil, 400, "invalid_argument"},
		{"trailing data", "POST", "/api/v1/rooms", `{"name":"x","visibility":"public"} {}`, alice.Access, nil, 400, "invalid_argument"},
		{"invalid UTF-8", "POST", msgs, []byte("{\"body\": \"\xff\xfe\"}"), alice.Access, nil, 400, "invalid_argument"},
		{"wrong type", "POST", msgs, `{"body": ["x"]}`, alice.Access, nil, 400, "invalid_argument"},
		{"oversized body", "POST", msgs, `{"body": "` + strings.Repeat("x", 64<<10) + `"}`, alice.Access, nil, 413, "too_large"},
		{"oversized register", "POST", "/api/v1/auth/register", `{"username": "` + strings.Repeat("x", 70<<10) + `"}`, "", nil, 413, "too_large"},
		{"oversized login", "POST", "/api/v1/auth/login", strings.Repeat(" ", 65<<10) + `{}`, "", nil, 413, "too_large"},
		{"deeply nested JSON", "POST", "/api/v1/rooms", `{"name": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, alice.Access, nil, 400, "invalid_argument"},
		{"deeply nested unknown field", "POST", msgs, `{"body": "x", "x": ` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10000) + `}`, alice.Access, nil, 400, "invalid_argument"},
		{"unknown endpoint", "GET", "/api/v1/nope", nil, alice.Access, nil, 404, "not_found"},
		{"unknown api version", "GET", "/api/v2/rooms", nil, "", nil, 404, "not_found"},
		{"unknown nested endpoint", "GET", "/api/v1/rooms/" + string(room.ID) + "/nope", nil, alice.Access, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/rooms", nil, alice.Access, nil, 405, "method_not_allowed"},
		{"wrong method on login", "GET", "/api/v1/auth/login", nil, "", nil, 405, "method_not_allowed"},
		{"no token", "GET", "/api/v1/me", nil, "", nil, 401, "unauthenticated"},
		{"garbage token", "GET", "/api/v1/me", nil, "garbage", nil, 401, "unauthenticated"},
		{"basic auth", "GET", "/api/v1/me", nil, "", map[string]string{"Authorization": "Basic YTpi"}, 401, "unauthenticated"},
		{"alg none token", "GET", "/api/v1/me", nil, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIiwic2lkIjoiYiJ9.", nil, 401, "unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tn.do(t, request{method: tc.method, path: tc.path, body: tc.body, token: tc.token, header: tc.header})
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %.200s", r.Status, tc.want, r.Body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if tc.want == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		var m node.Message
		alice.must(t, "POST", msgs, `{"body": "hi", "colour": "blue", "nested": {"a": [1]}}`, http.StatusCreated, &m)
		if m.Body != "hi" {
			t.Errorf("body %q", m.Body)
		}
	})

	t.Run("headers on every response", func(t *testing.T) {
		// tn.do checks CSP, nosniff and Referrer-Policy on each response;
		// these add the UI and the probes.
		for _, p := range []string{"/", "/healthz", "/readyz", "/api/v1/node", "/no/such/page"} {
			tn.do(t, request{method: "GET", path: p})
		}
	})

	t.Run("node and probes", func(t *testing.T) {
		var n struct {
			ID      string   `json:"id"`
			Name    string   `json:"name"`
			Addrs   []string `json:"addrs"`
			Version string   `json:"version"`
		}
		tn.must(t, request{method: "GET", path: "/api/v1/node"}, http.StatusOK, &n)
		if n.ID != string(tn.Node.ID()) || !strings.HasPrefix(n.ID, "12D3KooW") || n.Addrs == nil || n.Version == "" {
			t.Errorf("node = %+v", n)
		}
		tn.must(t, request{method: "GET", path: "/healthz"}, http.StatusOK, nil)
		tn.must(t, request{method: "GET", path: "/readyz"}, http.StatusOK, nil)
	})

	t.Run("no other user's tokens", func(t *testing.T) {
		bob := tn.mustRegister(t, "bob")
		bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, nil)
		secrets := []string{alice.Access, alice.Refresh}
		for _, p := range []string{
			"/api/v1/me", "/api/v1/users?q=", "/api/v1/users/" + url.PathEscape(string(alice.User.ID)),
			"/api/v1/rooms", "/api/v1/rooms/public", "/api/v1/rooms/" + string(room.ID),
			"/api/v1/rooms/" + string(room.ID) + "/members", msgs, "/api/v1/rooms/" + string(room.ID) + "/receipts",
		} {
			r := bob.must(t, "GET", p, nil, http.StatusOK, nil)
			for _, s := range secrets {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("%s shows alice's token", p)
				}
			}
		}
	})
}

func TestUserRateLimit(t *testing.T) {
	// One request per 100 s, burst 1: the budget cannot refill while the
	// test runs, however slowly a busy machine runs it (at 1/s, a one
	// second stall before the frame below let it through).
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.UserRate = 0.01 }})
	alice := tn.mustRegister(t, "alice")
	w := alice.mustWS(t)
	limited := false
	for range 10 {
		r := alice.call(t, "GET", "/api/v1/me", nil)
		if r.Status == http.StatusTooManyRequests {
			if r.errorCode(t) != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Errorf("429 %s without rate_limited and Retry-After", r.Body)
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("10 requests at once were never limited at 0.01/s")
	}
	// Frames count against the same budget; pings do not.
	w.send(t, map[string]any{"type": "typing", "id": "t1", "room": "r", "typing": true})
	if f := w.expect(t, "error", nil); f.Code != "rate_limited" || f.ID != "t1" {
		t.Errorf("frame over the limit: %+v", f)
	}
	w.send(t, map[string]string{"type": "ping"})
	w.expect(t, "pong", nil)
}
