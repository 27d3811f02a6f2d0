package webui_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

func TestRegister(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	reg := func(user, pass string) *response {
		return tn.do(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": user, "password": pass}})
	}

	t.Run("created", func(t *testing.T) {
		var s session
		r := tn.must(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": "Alice.Smith", "password": testPassword, "displayName": "Alice S"}}, http.StatusCreated, &s)
		wantID := "alice.smith@" + string(tn.Node.ID())
		if string(s.User.ID) != wantID || s.User.Username != "alice.smith" || s.User.DisplayName != "Alice S" || s.User.Node != tn.Node.ID() {
			t.Errorf("user = %+v, want id %s, lower-case username", s.User, wantID)
		}
		if strings.Count(s.AccessToken, ".") != 2 || s.RefreshToken == "" {
			t.Errorf("tokens = %q, %q", s.AccessToken, s.RefreshToken)
		}
		if s.ExpiresIn <= 0 || s.ExpiresIn > 900 {
			t.Errorf("expiresIn = %d, want 1..900", s.ExpiresIn)
		}
		// The JWT itself: pinned HS256, exp at most 15 minutes ahead.
		parts := strings.Split(s.AccessToken, ".")
		var head struct{ Alg string }
		var claims struct {
			Exp int64  `json:"exp"`
			Sub string `json:"sub"`
		}
		for i, v := range []any{&head, &claims} {
			b, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil || json.Unmarshal(b, v) != nil {
				t.Fatalf("token part %d is not base64url JSON", i)
			}
		}
		if head.Alg != "HS256" || claims.Sub != wantID || claims.Exp > time.Now().Add(15*time.Minute+time.Second).Unix() || claims.Exp < time.Now().Unix() {
			t.Errorf("token header %+v, claims %+v", head, claims)
		}
		checkRefreshCookie(t, r, s.RefreshToken)
	})

	tests := []struct {
		name, user, pass string
		want             int
		code             string
	}{
		{"taken", "alice.smith", testPassword, http.StatusConflict, "conflict"},
		{"taken in other case", "ALICE.SMITH", testPassword, http.StatusConflict, "conflict"},
		{"username too short", "ab", testPassword, http.StatusBadRequest, "invalid_argument"},
		{"username too long", strings.Repeat("a", 33), testPassword, http.StatusBadRequest, "invalid_argument"},
		{"username with space", "al ice", testPassword, http.StatusBadRequest, "invalid_argument"},
		{"username with symbol", "al!ce", testPassword, http.StatusBadRequest, "invalid_argument"},
		{"username not ascii", "alicé", testPassword, http.StatusBadRequest, "invalid_argument"},
		{"empty username", "", testPassword, http.StatusBadRequest, "invalid_argument"},
		{"password 7 bytes", "bob", "1234567", http.StatusBadRequest, "invalid_argument"},
		{"password 73 bytes", "bob", strings.Repeat("p", 73), http.StatusBadRequest, "invalid_argument"},
		{"password 8 bytes", "bob_8", "12345678", http.StatusCreated, ""},
		{"password 72 bytes", "bob-72", strings.Repeat("p", 72), http.StatusCreated, ""},
		{"username 3 chars", "abc", testPassword, http.StatusCreated, ""},
		{"username 32 chars", strings.Repeat("z", 32), testPassword, http.StatusCreated, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := reg(tc.user, tc.pass)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if tc.code != "" {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
			}
		})
	}

	t.Run("concurrent registrations of one name", func(t *testing.T) {
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = reg("racer", testPassword).Status
			}()
		}
		wg.Wait()
		created := 0
		for _, st := range statuses {
			switch st {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
			default:
				t.Errorf("status %d", st)
			}
		}
		if created != 1 {
			t.Errorf("statuses %v: want exactly one 201", statuses)
		}
	})
	t.Run("long password logs in", func(t *testing.T) {
		tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "BOB-72", "password": strings.Repeat("p", 72)}}, http.StatusOK, nil)
	})
	t.Run("display name too long", func(t *testing.T) {
		r := tn.do(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": "carol", "password": testPassword, "displayName": strings.Repeat("x", 65)}})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
}

func checkRefreshCookie(t *testing.T, r *response, want string) {
	t.Helper()
	resp := http.Response{Header: r.Header}
	for _, c := range resp.Cookies() {
		if c.Name != "hearth_refresh" {
			continue
		}
		if c.Value != want {
			t.Errorf("cookie value is not the refresh token")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" {
			t.Errorf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=/api/v1/auth", c)
		}
		return
	}
	t.Errorf("no hearth_refresh cookie in %v", r.Header["Set-Cookie"])
}

func TestLogin(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	login := func(user, pass string) *response {
		return tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": user, "password": pass}})
	}

	t.Run("ok in any case", func(t *testing.T) {
		var s session
		r := tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "ALICE", "password": testPassword}}, http.StatusOK, &s)
		if s.User.ID != alice.User.ID || s.AccessToken == "" || s.RefreshToken == "" {
			t.Errorf("session = %+v", s)
		}
		checkRefreshCookie(t, r, s.RefreshToken)
	})
	t.Run("wrong password and unknown user look the same", func(t *testing.T) {
		wrong, unknown := login("alice", "not the password"), login("nobody", "not the password")
		if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
			t.Fatalf("statuses %d and %d, want 401", wrong.Status, unknown.Status)
		}
		if string(wrong.Body) != string(unknown.Body) {
			t.Errorf("bodies differ: %s vs %s", wrong.Body, unknown.Body)
		}
		if wrong.errorCode(t) != "unauthenticated" {
			t.Errorf("code %s", wrong.Body)
		}
		if r := login("x", "not the password"); r.Status != http.StatusUnauthorized {
			t.Errorf("invalid username: %d, want the same 401", r.Status)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	t.Run("per username", func(t *testing.T) {
		tn := newTestNode(t, nodeOptions{})
		tn.mustRegister(t, "alice")
		for i := 1; i <= 5; i++ {
			r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": "wrong password"}})
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i, r.Status)
			}
		}
		for _, pass := range []string{"wrong password", testPassword} {
			r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "ALICE", "password": pass}})
			if r.Status != http.StatusTooManyRequests || r.errorCode(t) != "rate_limited" {
				t.Fatalf("after 5 failures: status %d %s, want 429", r.Status, r.Body)
			}
			if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
				t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
		}
		// Another username from the same address is not blocked.
		tn.mustRegister(t, "bob")
		tn.mustLogin(t, "bob")
	})
	t.Run("per address", func(t *testing.T) {
		tn := newTestNode(t, nodeOptions{})
		for i := 1; i <= 60; i++ {
			// A different unknown username each time, so only the
			// address limit can trip.
			r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "wrong password"}})
			switch r.Status {
			case http.StatusUnauthorized:
				continue
			case http.StatusTooManyRequests:
				if r.Header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				if i <= 5 {
					t.Errorf("limited after only %d failures", i-1)
				}
				return
			default:
				t.Fatalf("attempt %d: status %d: %s", i, r.Status, r.Body)
			}
		}
		t.Fatal("60 failed logins from one address were never limited")
	})
}

func TestRefresh(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	refresh := func(tok string) *response {
		return tn.do(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": tok}})
	}

	t.Run("rotates", func(t *testing.T) {
		var s session
		r := tn.must(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": alice.Refresh}}, http.StatusOK, &s)
		if s.RefreshToken == alice.Refresh || s.RefreshToken == "" || s.AccessToken == "" {
			t.Fatalf("refresh did not rotate: %+v", s)
		}
		if s.User.ID != alice.User.ID {
			t.Errorf("user %s", s.User.ID)
		}
		checkRefreshCookie(t, r, s.RefreshToken)
		// The new pair works.
		c := &client{tn: tn, User: s.User, Access: s.AccessToken, Refresh: s.RefreshToken}
		c.must(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
		ws := c.mustWS(t)
		first := alice.Refresh
		alice.Access, alice.Refresh = s.AccessToken, s.RefreshToken

		// Reuse of the spent token revokes the session: the newest
		// refresh token and the session's access token fail too.
		if r := refresh(first); r.Status != http.StatusUnauthorized {
			t.Fatalf("reuse: status %d, want 401", r.Status)
		}
		if r := refresh(alice.Refresh); r.Status != http.StatusUnauthorized {
			t.Errorf("newest token after reuse: status %d, want 401", r.Status)
		}
		if r := alice.call(t, "GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("access token after reuse: status %d, want 401", r.Status)
		}
		if code := ws.expectClose(t, 5*time.Second); code != 4001 {
			t.Errorf("the revoked session's socket closed with %d, want 4001", code)
		}
	})

	t.Run("cookie", func(t *testing.T) {
		c := tn.mustLogin(t, "alice")
		cookie := "hearth_refresh=" + c.Refresh
		var s session
		tn.must(t, request{method: "POST", path: "/api/v1/auth/refresh", header: map[string]string{"Cookie": cookie}}, http.StatusOK, &s)
		if s.RefreshToken == c.Refresh {
			t.Fatal("cookie refresh did not rotate")
		}
		tn.must(t, request{method: "POST", path: "/api/v1/auth/refresh", body: "{}", header: map[string]string{"Cookie": "hearth_refresh=" + s.RefreshToken}}, http.StatusOK, &s)

		for _, tc := range []struct {
			name   string
			header map[string]string
			body   any
		}{
			{"cross-site origin", map[string]string{"Origin": "https://evil.example"}, nil},
			{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil},
			{"form content type", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b"},
			{"text/plain form", map[string]string{"Content-Type": "text/plain"}, "a"},
			{"empty text/plain form", map[string]string{"Content-Type": "text/plain"}, ""},
			{"empty multipart form", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := map[string]string{"Cookie": "hearth_refresh=" + s.RefreshToken}
				for k, v := range tc.header {
					h[k] = v
				}
				r := tn.do(t, request{method: "POST", path: "/api/v1/auth/refresh", body: tc.body, header: h})
				if r.Status < 400 {
					t.Fatalf("status %d: a cross-site request spent the cookie", r.Status)
				}
			})
		}
		// The refusals did not spend or revoke it.
		tn.must(t, request{method: "POST", path: "/api/v1/auth/refresh", header: map[string]string{"Cookie": "hearth_refresh=" + s.RefreshToken}}, http.StatusOK, nil)
	})

	t.Run("missing and garbage", func(t *testing.T) {
		for _, tok := range []string{"", "garbage", strings.Repeat("x", 300)} {
			r := refresh(tok)
			if r.Status != http.StatusUnauthorized || r.errorCode(t) != "unauthenticated" {
				t.Errorf("token %.10q: status %d %s", tok, r.Status, r.Body)
			}
		}
	})
}

func TestLogout(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	other := tn.mustLogin(t, "alice")

	r := alice.must(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
	cleared := false
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "hearth_refresh" && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("logout did not clear the cookie: %v", r.Header["Set-Cookie"])
	}
	if r := alice.call(t, "GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("access token after logout: %d", r.Status)
	}
	if r := tn.do(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": alice.Refresh}}); r.Status != http.StatusUnauthorized {
		t.Errorf("refresh token after logout: %d", r.Status)
	}
	// Only that session ended.
	other.must(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	tn.must(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": other.Refresh}}, http.StatusOK, nil)
	if r := tn.do(t, request{method: "POST", path: "/api/v1/auth/logout"}); r.Status != http.StatusUnauthorized {
		t.Errorf("logout without a token: %d", r.Status)
	}
}

func TestMe(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	second := tn.mustLogin(t, "alice")

	var u node.User
	alice.must(t, "GET", "/api/v1/me", nil, http.StatusOK, &u)
	if u.ID != alice.User.ID || u.Username != "alice" || u.DisplayName != "alice" || u.Node != tn.Node.ID() {
		t.Errorf("me = %+v", u)
	}

	patch := []struct {
		name string
		body any
		want int
	}{
		{"display name", map[string]any{"displayName": "Alice A."}, http.StatusOK},
		{"display name too long", map[string]any{"displayName": strings.Repeat("x", 65)}, http.StatusBadRequest},
		{"display name with newline", map[string]any{"displayName": "a\nb"}, http.StatusBadRequest},
		{"empty display name", map[string]any{"displayName": " "}, http.StatusBadRequest},
		{"display name wrong type", map[string]any{"displayName": 5}, http.StatusBadRequest},
		{"wrong old password", map[string]any{"password": map[string]string{"old": "not it at all", "new": "a new password"}}, http.StatusForbidden},
		{"new password too short", map[string]any{"password": map[string]string{"old": testPassword, "new": "short"}}, http.StatusBadRequest},
		{"nothing", map[string]any{}, http.StatusOK},
	}
	for _, tc := range patch {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.call(t, "PATCH", "/api/v1/me", tc.body)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if tc.want >= 400 {
				r.errorCode(t)
			}
		})
	}
	alice.must(t, "GET", "/api/v1/me", nil, http.StatusOK, &u)
	if u.DisplayName != "Alice A." {
		t.Errorf("display name %q after patch", u.DisplayName)
	}

	t.Run("password change revokes other sessions", func(t *testing.T) {
		ws := second.mustWS(t)
		alice.must(t, "PATCH", "/api/v1/me", map[string]any{"password": map[string]string{"old": testPassword, "new": "a new password"}}, http.StatusOK, nil)
		if code := ws.expectClose(t, 5*time.Second); code != 4001 {
			t.Errorf("other session's socket closed with %d, want 4001", code)
		}
		if r := second.call(t, "GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("other session still works: %d", r.Status)
		}
		if r := tn.do(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": second.Refresh}}); r.Status != http.StatusUnauthorized {
			t.Errorf("other session's refresh still works: %d", r.Status)
		}
		alice.must(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
		if r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": testPassword}}); r.Status != http.StatusUnauthorized {
			t.Errorf("old password still logs in: %d", r.Status)
		}
		tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": "a new password"}}, http.StatusOK, nil)
	})
}
