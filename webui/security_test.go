package webui_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/webui"
)

// TestLoginLimitHoldsUnderConcurrency: 200 concurrent logins for one
// username, the right password among them, pass the per-username limit
// only as often as its burst allows: the token is taken before the hash.
func TestLoginLimitHoldsUnderConcurrency(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	tn.mustRegister(t, "alice")
	const n = 200
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		pass := "wrong password"
		if i == n/2 {
			pass = testPassword
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": pass}})
			statuses[i] = r.Status
		}()
	}
	close(start)
	wg.Wait()
	passed := 0
	for _, s := range statuses {
		switch s {
		case http.StatusTooManyRequests:
		case http.StatusUnauthorized, http.StatusOK:
			passed++
		default:
			t.Errorf("status %d", s)
		}
	}
	// The username's bucket holds 5 and refills one per 12 s.
	if passed > 6 {
		t.Fatalf("%d of %d concurrent logins reached the password check, want at most 6", passed, n)
	}
	if statuses[n/2] == http.StatusOK && passed > 5 {
		t.Log("the right password was among the first logins")
	}
	r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": testPassword}})
	if statuses[n/2] != http.StatusOK && r.Status != http.StatusTooManyRequests {
		t.Fatalf("after the burst the right password got %d, want 429", r.Status)
	}
}

// TestPasswordChangeIsThrottled: wrong old passwords on PATCH /me count
// like failed logins of the user, so a stolen access token is no
// unthrottled password oracle.
func TestPasswordChangeIsThrottled(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	change := func(old string) *response {
		return alice.call(t, "PATCH", "/api/v1/me", map[string]any{"password": map[string]string{"old": old, "new": "a brand new password"}})
	}
	// The bucket holds 5 and refills one per 12 s, which a slow machine
	// may reach while hashing: allow one more guess before the 429.
	limited := false
	for i := range 7 {
		r := change(fmt.Sprint("guess number ", i))
		if r.Status == http.StatusTooManyRequests {
			if i < 5 || r.Header.Get("Retry-After") == "" {
				t.Fatalf("guess %d: 429 %v", i, r.Header)
			}
			limited = true
			break
		}
		if r.Status != http.StatusForbidden {
			t.Fatalf("guess %d: %d, want 403", i, r.Status)
		}
	}
	if !limited {
		t.Fatal("7 wrong old passwords were not limited")
	}
	if r := change(testPassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the right old password after the limit: %d %s, want 429", r.Status, r.Body)
	}
	// Other profile changes are not held back.
	alice.must(t, "PATCH", "/api/v1/me", map[string]any{"displayName": "Alice"}, http.StatusOK, nil)
}

// TestHostAndOrigin: the node serves only the names it knows (its
// --public-url, loopback names, IP literals), so a DNS-rebinding page,
// whose requests carry its own name as Host and Origin, gets nowhere.
func TestHostAndOrigin(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) {
		c.PublicURLs = []string{"https://chat.example"}
	}})
	alice := tn.mustRegister(t, "alice")
	for _, tc := range []struct {
		host string
		want int
	}{
		{"", http.StatusOK},
		{"chat.example", http.StatusOK},
		{"chat.example:443", http.StatusOK},
		{"CHAT.example", http.StatusOK},
		{"localhost:8080", http.StatusOK},
		{"app.localhost", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"10.1.2.3", http.StatusOK},
		{"attacker.example", http.StatusMisdirectedRequest},
		{"chat.example.attacker.example", http.StatusMisdirectedRequest},
		{"chat.example:8443", http.StatusMisdirectedRequest},
	} {
		r := tn.do(t, request{method: "GET", path: "/api/v1/me", token: alice.Access, host: tc.host})
		if r.Status != tc.want {
			t.Errorf("Host %q: %d, want %d", tc.host, r.Status, tc.want)
		}
		if r.Status == http.StatusMisdirectedRequest && r.errorCode(t) != "misdirected" {
			t.Errorf("Host %q: code %s", tc.host, r.Body)
		}
	}
	if r := tn.do(t, request{method: "GET", path: "/", host: "attacker.example"}); r.Status != http.StatusMisdirectedRequest {
		t.Errorf("UI under a foreign name: %d", r.Status)
	}

	dial := func(host, origin string) (int, error) {
		h := http.Header{}
		if host != "" {
			h.Set("Host", host)
		}
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, resp, err := tn.dialWS(t, h)
		if err == nil {
			conn.Close()
			return http.StatusSwitchingProtocols, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	for _, tc := range []struct {
		name, host, origin string
		want               int
	}{
		{"rebinding: host and origin the attacker's name", "attacker.example:80", "http://attacker.example", http.StatusMisdirectedRequest},
		{"public name", "chat.example", "https://chat.example", http.StatusSwitchingProtocols},
		{"public name, foreign origin", "chat.example", "https://attacker.example", http.StatusForbidden},
		{"loopback, same origin", "localhost:1234", "http://localhost:1234", http.StatusSwitchingProtocols},
		{"ip literal, same origin", "", tn.URL, http.StatusSwitchingProtocols},
		{"ip literal, the public origin", "", "https://chat.example", http.StatusSwitchingProtocols},
		{"ip literal, foreign origin", "", "http://attacker.example", http.StatusForbidden},
	} {
		got, err := dial(tc.host, tc.origin)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, got, err, tc.want)
		}
	}
}

// TestJSONBodiesOnly: a body must be declared JSON, so a cross-site form
// or text/plain fetch cannot log a browser in (login CSRF) or post for it.
func TestJSONBodiesOnly(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	creds := `{"username":"alice","password":"` + testPassword + `"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		rq := request{method: "POST", path: "/api/v1/auth/login", body: creds, header: map[string]string{"Origin": "https://attacker.example"}}
		if ct == "" {
			rq.noType = true
		} else {
			rq.header["Content-Type"] = ct
		}
		r := tn.do(t, rq)
		if r.Status != http.StatusUnsupportedMediaType || r.errorCode(t) != "unsupported_media_type" {
			t.Errorf("login as %q: %d %s, want 415", ct, r.Status, r.Body)
		}
		if len(r.Header.Values("Set-Cookie")) > 0 {
			t.Errorf("login as %q set a cookie", ct)
		}
	}
	r := tn.do(t, request{method: "POST", path: "/api/v1/auth/register", body: `{"username":"mallory","password":"` + testPassword + `"}`,
		header: map[string]string{"Content-Type": "text/plain"}})
	if r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("register as text/plain: %d", r.Status)
	}
	// JSON with parameters is JSON; a bodiless POST needs no type.
	tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: creds, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, http.StatusOK, nil)
	room := alice.mustCreateRoom(t, "open", "public")
	bob := tn.mustRegister(t, "bob")
	tn.must(t, request{method: "POST", path: "/api/v1/rooms/" + string(room.ID) + "/join", token: bob.Access, noType: true}, http.StatusOK, nil)
}

// TestWSBeforeAuth: before its auth frame a WebSocket may send only a
// small frame, and a client address may hold only so many such sockets.
func TestWSBeforeAuth(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) {
		c.UnauthPerAddr = 3
	}})
	t.Run("a large first frame closes the socket", func(t *testing.T) {
		w := tn.mustDial(t)
		_ = w.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"auth","token":"`+strings.Repeat("x", 64<<10)+`"}`))
		if code := w.expectClose(t, 5*time.Second); code != websocket.CloseMessageTooBig {
			t.Errorf("closed with %d, want 1009", code)
		}
	})
	t.Run("per address", func(t *testing.T) {
		poll.Until(t, 5*time.Second, func() error { // the socket above is gone
			conn, _, err := tn.dialWS(t, nil)
			if err == nil {
				conn.Close()
			}
			return err
		})
		// A socket closed by its client frees its place once the server
		// has read the close, which may be a moment after the dial above.
		var open []*wsClient
		for range 3 {
			poll.Until(t, 5*time.Second, func() error {
				conn, _, err := tn.dialWS(t, nil)
				if err == nil {
					open = append(open, newWSClient(t, conn, true))
				}
				return err
			})
		}
		_, resp, err := tn.dialWS(t, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("fourth unauthenticated socket: %v %v, want 429", err, resp)
		}
		// Authenticating one frees its place.
		alice := tn.mustRegister(t, "alice")
		open[0].send(t, map[string]string{"type": "auth", "token": alice.Access})
		open[0].expect(t, "ready", nil)
		poll.Until(t, 5*time.Second, func() error {
			conn, _, err := tn.dialWS(t, nil)
			if err == nil {
				conn.Close()
			}
			return err
		})
	})
}

// TestWSUserSockets: a user holds at most UserSockets authenticated
// WebSockets; one more is told why and closed with 1013.
func TestWSUserSockets(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.UserSockets = 3 }})
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	var socks []*wsClient
	for range 3 {
		socks = append(socks, alice.mustWS(t))
	}
	w := tn.mustDial(t)
	w.send(t, map[string]string{"type": "auth", "token": alice.Access})
	if f := w.expect(t, "error", nil); f.Code != "limit_exceeded" {
		t.Errorf("error frame %+v", f)
	}
	if code := w.expectClose(t, 5*time.Second); code != websocket.CloseTryAgainLater {
		t.Errorf("closed with %d, want 1013", code)
	}
	bob.mustWS(t) // another user is not held back
	socks[0].conn.Close()
	poll.Until(t, 5*time.Second, func() error {
		w := tn.mustDial(t)
		w.send(t, map[string]string{"type": "auth", "token": alice.Access})
		for {
			select {
			case f := <-w.frames:
				if f.Type == "ready" {
					return nil
				}
				if f.Type == "error" {
					return errors.New(f.Code)
				}
			case <-w.done:
				return w.err
			}
		}
	})
}

// TestInviteeSeesNoContent: an invited, not joined user sees a private
// room's name (to accept or decline) but no message and no other invitee,
// in GET /rooms/{id}, GET /rooms and the room frame of the invite.
func TestInviteeSeesNoContent(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice, bob, carol := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob"), tn.mustRegister(t, "carol")
	room := alice.mustCreateRoom(t, "secret plans", "private")
	alice.mustPost(t, room.ID, "the password is swordfish")
	alice.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/invite", map[string]string{"userId": string(carol.User.ID)}, http.StatusNoContent, nil)
	bws := bob.mustWS(t)
	alice.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/invite", map[string]string{"userId": string(bob.User.ID)}, http.StatusNoContent, nil)

	check := func(where string, r node.Room) {
		t.Helper()
		if r.ID != room.ID || r.Name != "secret plans" {
			t.Errorf("%s: room %+v", where, r)
		}
		if r.LastMessage != nil || r.Unread != nil {
			t.Errorf("%s: an invitee sees lastMessage %+v, unread %v", where, r.LastMessage, r.Unread)
		}
		if !slices.Equal(r.Invited, []node.UserID{bob.User.ID}) {
			t.Errorf("%s: invited = %v, want only bob", where, r.Invited)
		}
	}
	f := bws.expect(t, "room", func(f wsFrame) bool { return f.roomID() == string(room.ID) })
	if strings.Contains(string(f.Room), "swordfish") || strings.Contains(string(f.Room), string(carol.User.ID)) {
		t.Errorf("room frame to the invitee: %s", f.Room)
	}
	var fr node.Room
	if err := json.Unmarshal(f.Room, &fr); err != nil {
		t.Fatal(err)
	}
	check("room frame", fr)
	var got node.Room
	r := bob.must(t, "GET", "/api/v1/rooms/"+string(room.ID), nil, http.StatusOK, &got)
	if strings.Contains(string(r.Body), "swordfish") {
		t.Errorf("GET /rooms/{id}: %s", r.Body)
	}
	check("GET /rooms/{id}", got)
	var list struct{ Rooms []node.Room }
	bob.must(t, "GET", "/api/v1/rooms", nil, http.StatusOK, &list)
	if len(list.Rooms) != 1 {
		t.Fatalf("bob's rooms: %+v", list.Rooms)
	}
	check("GET /rooms", list.Rooms[0])
	// Another message does not reach the invitee either.
	alice.mustPost(t, room.ID, "second secret")
	bws.expectNone(t, "message", nil, 200*time.Millisecond)
	// Once joined, bob reads it all.
	bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, http.StatusOK, &got)
	if got.LastMessage == nil || got.LastMessage.Body != "second secret" || len(got.Invited) != 1 || got.Invited[0] != carol.User.ID {
		t.Errorf("after joining: %+v", got)
	}
}

// TestClientIDStaysInItsRoom: a clientId reused in another room posts a
// new message there; it never answers with a message of the first room,
// which the sender may have left.
func TestClientIDStaysInItsRoom(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	secret := alice.mustCreateRoom(t, "secret", "private")
	alice.must(t, "POST", "/api/v1/rooms/"+string(secret.ID)+"/invite", map[string]string{"userId": string(bob.User.ID)}, http.StatusNoContent, nil)
	bob.must(t, "POST", "/api/v1/rooms/"+string(secret.ID)+"/join", nil, http.StatusOK, nil)
	var first node.Message
	bob.must(t, "POST", "/api/v1/rooms/"+string(secret.ID)+"/messages", map[string]string{"body": "private words", "clientId": "c1"}, http.StatusCreated, &first)
	var again node.Message
	bob.must(t, "POST", "/api/v1/rooms/"+string(secret.ID)+"/messages", map[string]string{"body": "retry", "clientId": "c1"}, http.StatusCreated, &again)
	if again.ID != first.ID {
		t.Fatalf("a retry in the same room posted %s, want %s", again.ID, first.ID)
	}
	bob.must(t, "POST", "/api/v1/rooms/"+string(secret.ID)+"/leave", nil, http.StatusNoContent, nil)
	var dm node.Room
	bob.must(t, "POST", "/api/v1/dm", map[string]any{"userId": string(alice.User.ID), "encrypted": false}, http.StatusOK, &dm)
	var other node.Message
	r := bob.must(t, "POST", "/api/v1/rooms/"+string(dm.ID)+"/messages", map[string]string{"body": "hello", "clientId": "c1"}, http.StatusCreated, &other)
	if other.ID == first.ID || other.Room != dm.ID || other.Body != "hello" || strings.Contains(string(r.Body), "private words") {
		t.Fatalf("the same clientId in a DM answered %s", r.Body)
	}
}

// TestRoomQuotas: room creation has a per-user rate, a per-user total,
// and a cap on the rooms a user is in.
func TestRoomQuotas(t *testing.T) {
	tn := newTestNode(t, nodeOptions{node: func(c *node.Config) {
		c.RoomsPerUser, c.JoinedRoomsPerUser = 3, 5
	}})
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")
	var rooms []node.Room
	for i := range 3 {
		rooms = append(rooms, alice.mustCreateRoom(t, fmt.Sprint("room", i), "public"))
	}
	r := alice.call(t, "POST", "/api/v1/rooms", map[string]string{"name": "one too many", "visibility": "public"})
	if r.Status != http.StatusForbidden || r.errorCode(t) != "limit_exceeded" {
		t.Fatalf("fourth room: %d %s", r.Status, r.Body)
	}
	if r := alice.call(t, "POST", "/api/v1/dm", map[string]string{"userId": "someone@12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"}); r.Status != http.StatusForbidden {
		t.Errorf("a DM past the creation quota: %d", r.Status)
	}
	// Joined rooms: bob creates 3, joins alice's until he is in 5.
	for i := range 3 {
		bob.mustCreateRoom(t, fmt.Sprint("bob", i), "public")
	}
	bob.must(t, "POST", "/api/v1/rooms/"+string(rooms[0].ID)+"/join", nil, http.StatusOK, nil)
	bob.must(t, "POST", "/api/v1/rooms/"+string(rooms[1].ID)+"/join", nil, http.StatusOK, nil)
	if r := bob.call(t, "POST", "/api/v1/rooms/"+string(rooms[2].ID)+"/join", nil); r.Status != http.StatusForbidden || r.errorCode(t) != "limit_exceeded" {
		t.Fatalf("sixth room: %d %s", r.Status, r.Body)
	}
	bob.must(t, "POST", "/api/v1/rooms/"+string(rooms[0].ID)+"/leave", nil, http.StatusNoContent, nil)
	bob.must(t, "POST", "/api/v1/rooms/"+string(rooms[2].ID)+"/join", nil, http.StatusOK, nil)

	t.Run("creation rate", func(t *testing.T) {
		tn := newTestNode(t, nodeOptions{})
		carol := tn.mustRegister(t, "carol")
		for i := range 30 {
			r := carol.call(t, "POST", "/api/v1/rooms", map[string]string{"name": fmt.Sprint("r", i), "visibility": "public"})
			if r.Status == http.StatusTooManyRequests {
				if i < 20 {
					t.Errorf("limited after %d rooms", i)
				}
				return
			}
			if r.Status != http.StatusCreated {
				t.Fatalf("room %d: %d", i, r.Status)
			}
		}
		t.Fatal("30 rooms in a burst were never limited")
	})
}

// TestPublicDirectoryPages: GET /rooms/public answers pages, with a
// cursor, a search and a bounded default size; "rooms" stays the list.
func TestPublicDirectoryPages(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice")
	for i := range 7 {
		name := fmt.Sprint("room ", i)
		if i%2 == 0 {
			name = fmt.Sprint("Gardening ", i)
		}
		r := alice.mustCreateRoom(t, name, "public")
		alice.mustPost(t, r.ID, "hello") // no message content in the directory
	}
	alice.mustCreateRoom(t, "hidden", "private")
	type page struct {
		Rooms []node.Room `json:"rooms"`
		Next  string      `json:"next"`
	}
	var all []node.Room
	q := "?limit=3"
	for n := 0; ; n++ {
		var p page
		r := alice.must(t, "GET", "/api/v1/rooms/public"+q, nil, http.StatusOK, &p)
		if strings.Contains(string(r.Body), `"lastMessage"`) {
			t.Errorf("directory carries message content: %s", r.Body)
		}
		all = append(all, p.Rooms...)
		if p.Next == "" {
			if len(p.Rooms) != 1 || n != 2 {
				t.Errorf("last page %d has %d rooms", n, len(p.Rooms))
			}
			break
		}
		if len(p.Rooms) != 3 {
			t.Fatalf("page %d has %d rooms", n, len(p.Rooms))
		}
		q = "?limit=3&after=" + p.Next
	}
	seen := map[node.RoomID]bool{}
	for _, r := range all {
		if seen[r.ID] || r.Name == "hidden" {
			t.Errorf("room %s twice or private", r.Name)
		}
		seen[r.ID] = true
	}
	if len(seen) != 7 {
		t.Errorf("paged %d rooms, want 7", len(seen))
	}
	var p page
	alice.must(t, "GET", "/api/v1/rooms/public?q=gardening", nil, http.StatusOK, &p)
	if len(p.Rooms) != 4 || p.Next != "" {
		t.Errorf("search found %d rooms", len(p.Rooms))
	}
	for _, bad := range []string{"?limit=0", "?limit=201", "?limit=x", "?after=garbage", "?q=" + strings.Repeat("q", 101)} {
		if r := alice.call(t, "GET", "/api/v1/rooms/public"+bad, nil); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
}

// TestSessionsPerUser: past SessionsPerUser a login ends the user's
// oldest session, its tokens and its sockets.
func TestSessionsPerUser(t *testing.T) {
	tn := newTestNode(t, nodeOptions{node: func(c *node.Config) { c.SessionsPerUser = 3 }})
	first := tn.mustRegister(t, "alice")
	ws := first.mustWS(t)
	tn.mustLogin(t, "alice")
	tn.mustLogin(t, "alice")
	first.must(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	tn.mustLogin(t, "alice") // the fourth
	if r := first.call(t, "GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the oldest session still works: %d", r.Status)
	}
	if code := ws.expectClose(t, 5*time.Second); code != 4001 {
		t.Errorf("its socket closed with %d, want 4001", code)
	}
}

// TestRegistrationAndRefreshLimits: sign-ups and refreshes are limited
// per client address (each sign-up costs a password hash; each refresh
// a stored record). Attempts that fail cheaply count too.
func TestRegistrationAndRefreshLimits(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	// The buckets refill while the loop runs (2 and 1 a second), so the
	// 429 may come a few attempts after the burst, never before it.
	limitedAt := func(n int, attempt func(i int) *response, want int) int {
		for i := range n {
			r := attempt(i)
			if r.Status == http.StatusTooManyRequests {
				return i
			}
			if r.Status != want {
				t.Fatalf("attempt %d: %d, want %d", i, r.Status, want)
			}
		}
		return n
	}
	i := limitedAt(300, func(i int) *response {
		return tn.do(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": fmt.Sprint("user", i), "password": "short"}})
	}, http.StatusBadRequest)
	if i < 200 || i == 300 {
		t.Errorf("registrations from one address limited after %d attempts, want after the burst of 200", i)
	}
	i = limitedAt(150, func(i int) *response {
		return tn.do(t, request{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refreshToken": fmt.Sprint("guess", i)}})
	}, http.StatusUnauthorized)
	if i < 60 || i == 150 {
		t.Errorf("refreshes from one address limited after %d attempts, want after the burst of 60", i)
	}
}

// TestWSUnauthenticatedTotal: the node holds at most UnauthTotal sockets
// that have not authenticated, from all addresses together.
func TestWSUnauthenticatedTotal(t *testing.T) {
	tn := newTestNode(t, nodeOptions{config: func(c *webui.Config) { c.UnauthPerAddr, c.UnauthTotal = 10, 2 }})
	tn.mustDial(t)
	tn.mustDial(t)
	if _, resp, err := tn.dialWS(t, nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third unauthenticated socket: %v %v, want 429", err, resp)
	}
}
