package webui_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
)

func TestRegistrationByToken(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		tn := newTestNode(t, nodeOptions{admin: node.AdminConfig{Registration: node.RegistrationClosed}})
		r := tn.do(t, request{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"username": "alice", "password": testPassword}})
		if r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" || !strings.Contains(string(r.Body), "closed") {
			t.Fatalf("closed registration: %d %s", r.Status, r.Body)
		}
		var info map[string]any
		tn.must(t, request{method: "GET", path: "/api/v1/node"}, http.StatusOK, &info)
		if info["registration"] != "closed" {
			t.Fatalf("node info = %v", info)
		}
	})
	t.Run("token", func(t *testing.T) {
		tn := newTestNode(t, nodeOptions{admin: node.AdminConfig{Registration: node.RegistrationToken}})
		tok, _, err := tn.Node.CreateInvite(t.Context(), node.Operator, 1, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		reg := func(name, token string) *response {
			return tn.do(t, request{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"username": name, "password": testPassword, "token": token}})
		}
		if r := reg("alice", ""); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "invite token") {
			t.Fatalf("no token: %d %s", r.Status, r.Body)
		}
		if r := reg("alice", tok); r.Status != http.StatusCreated {
			t.Fatalf("with token: %d %s", r.Status, r.Body)
		}
		if r := reg("bob", tok); r.Status != http.StatusForbidden {
			t.Fatalf("a one-use token twice: %d %s", r.Status, r.Body)
		}
	})
}

func TestAdminAPI(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice") // the first account: node admin
	bob := tn.mustRegister(t, "bob")
	var info struct {
		NodeAdmin    bool   `json:"nodeAdmin"`
		Registration string `json:"registration"`
	}
	alice.must(t, "GET", "/api/v1/admin", nil, http.StatusOK, &info)
	if !info.NodeAdmin || info.Registration != "open" {
		t.Fatalf("alice's admin info = %+v", info)
	}
	info.NodeAdmin = true
	bob.must(t, "GET", "/api/v1/admin", nil, http.StatusOK, &info)
	if info.NodeAdmin {
		t.Fatal("bob is told he is a node admin")
	}
	for _, p := range []string{"/api/v1/admin/users", "/api/v1/admin/audit", "/api/v1/admin/invites", "/api/v1/admin/federation"} {
		if r := bob.call(t, "GET", p, nil); r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("bob GET %s: %d", p, r.Status)
		}
	}
	if r := tn.do(t, request{method: "GET", path: "/api/v1/admin/users"}); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous admin request: %d", r.Status)
	}

	var users struct {
		Users []node.AdminUser `json:"users"`
	}
	alice.must(t, "GET", "/api/v1/admin/users", nil, http.StatusOK, &users)
	if len(users.Users) != 2 || !users.Users[0].Admin || users.Users[1].Username != "bob" {
		t.Fatalf("users = %+v", users)
	}

	// Locking bob ends his sessions and closes his sockets at once.
	ws := bob.mustWS(t)
	alice.must(t, "POST", "/api/v1/admin/users/bob/lock", map[string]string{"reason": "spam"}, http.StatusNoContent, nil)
	if code := ws.expectClose(t, 5*time.Second); code != 4001 {
		t.Errorf("bob's socket closed with %d, want 4001", code)
	}
	if r := bob.call(t, "GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("locked user's token: %d", r.Status)
	}
	if r := tn.do(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "bob", "password": testPassword}}); r.Status != http.StatusForbidden {
		t.Errorf("locked login: %d %s", r.Status, r.Body)
	}
	alice.must(t, "POST", "/api/v1/admin/users/bob/unlock", nil, http.StatusNoContent, nil)
	tn.mustLogin(t, "bob") // unlocked, bob logs in again

	var reset struct {
		Password string `json:"password"`
	}
	alice.must(t, "POST", "/api/v1/admin/users/bob/password", nil, http.StatusOK, &reset)
	if len(reset.Password) < 8 {
		t.Fatalf("reset password = %q", reset.Password)
	}
	alice.must(t, "PUT", "/api/v1/admin/users/bob/admin", nil, http.StatusNoContent, nil)
	var sess session
	tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "bob", "password": reset.Password}}, http.StatusOK, &sess)
	bob = &client{tn: tn, User: sess.User, Access: sess.AccessToken}
	bob.must(t, "GET", "/api/v1/admin/users", nil, http.StatusOK, nil)
	alice.must(t, "DELETE", "/api/v1/admin/users/bob/admin", nil, http.StatusNoContent, nil)
	if r := bob.call(t, "GET", "/api/v1/admin/users", nil); r.Status != http.StatusForbidden {
		t.Errorf("unmade admin: %d", r.Status)
	}

	var created struct {
		Token  string `json:"token"`
		Invite struct {
			ID          string `json:"id"`
			UsesAllowed int    `json:"usesAllowed"`
			ExpiresAt   int64  `json:"expiresAt"`
		} `json:"invite"`
	}
	alice.must(t, "POST", "/api/v1/admin/invites", map[string]any{"uses": 3, "expiresIn": 3600, "note": "club"}, http.StatusCreated, &created)
	if created.Token == "" || created.Invite.UsesAllowed != 3 || created.Invite.ExpiresAt == 0 {
		t.Fatalf("created = %+v", created)
	}
	if r := alice.call(t, "POST", "/api/v1/admin/invites", map[string]any{"uses": -1}); r.Status != http.StatusBadRequest {
		t.Errorf("bad uses: %d", r.Status)
	}
	var invites struct {
		Invites []map[string]any `json:"invites"`
	}
	alice.must(t, "GET", "/api/v1/admin/invites", nil, http.StatusOK, &invites)
	if len(invites.Invites) != 1 || invites.Invites[0]["usable"] != true || invites.Invites[0]["hash"] != nil {
		t.Fatalf("invites = %+v", invites)
	}
	alice.must(t, "DELETE", "/api/v1/admin/invites/"+created.Invite.ID, nil, http.StatusNoContent, nil)
	if r := alice.call(t, "DELETE", "/api/v1/admin/invites/"+created.Invite.ID, nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke twice: %d", r.Status)
	}

	other := node.NodeIDFromKey(mustPub(t))
	alice.must(t, "PUT", "/api/v1/admin/federation/nodes/"+string(other), map[string]string{"action": "block", "note": "spam"}, http.StatusNoContent, nil)
	if r := alice.call(t, "PUT", "/api/v1/admin/federation/nodes/nonsense", map[string]string{"action": "block"}); r.Status != http.StatusBadRequest {
		t.Errorf("bad node id: %d", r.Status)
	}
	var pol node.Policy
	alice.must(t, "PUT", "/api/v1/admin/federation", map[string]string{"mode": "allowlist"}, http.StatusOK, &pol)
	if pol.Mode != "allowlist" || len(pol.Rules) != 1 || pol.Rules[0].Action != "block" {
		t.Fatalf("policy = %+v", pol)
	}
	alice.must(t, "DELETE", "/api/v1/admin/federation/nodes/"+string(other), nil, http.StatusNoContent, nil)

	room := alice.mustCreateRoom(t, "doomed", "public")
	var closed struct {
		Removed int `json:"removed"`
	}
	alice.must(t, "POST", "/api/v1/admin/rooms/"+string(room.ID)+"/close", map[string]string{"reason": "spam"}, http.StatusOK, &closed)
	if closed.Removed != 1 {
		t.Errorf("removed = %d", closed.Removed)
	}
	var rooms struct {
		Rooms  []node.AdminRoom  `json:"rooms"`
		Closed []node.ClosedRoom `json:"closed"`
	}
	alice.must(t, "GET", "/api/v1/admin/rooms", nil, http.StatusOK, &rooms)
	if len(rooms.Closed) != 1 || rooms.Closed[0].Reason != "spam" {
		t.Fatalf("rooms = %+v", rooms)
	}

	var audit struct {
		Entries []node.AuditEntry `json:"entries"`
		More    bool              `json:"more"`
	}
	alice.must(t, "GET", "/api/v1/admin/audit?limit=3", nil, http.StatusOK, &audit)
	if len(audit.Entries) != 3 || !audit.More || audit.Entries[0].Action != "room.close" || audit.Entries[0].Actor != string(alice.User.ID) {
		t.Fatalf("audit = %+v", audit)
	}
	if r := alice.call(t, "GET", "/api/v1/admin/audit?before=x", nil); r.Status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.Status)
	}

	// Reports: bob reports a user; admins list and resolve it; others may not.
	var filed struct {
		ID string `json:"id"`
	}
	bob.must(t, "POST", "/api/v1/reports", map[string]string{"user": string(alice.User.ID), "reason": "spam"}, http.StatusCreated, &filed)
	if r := bob.call(t, "POST", "/api/v1/reports", map[string]string{"reason": "nothing named"}); r.Status != http.StatusBadRequest {
		t.Errorf("report naming nothing: %d", r.Status)
	}
	if r := bob.call(t, "GET", "/api/v1/admin/reports", nil); r.Status != http.StatusForbidden {
		t.Errorf("bob lists reports: %d", r.Status)
	}
	var reports struct {
		Reports []node.Report `json:"reports"`
	}
	alice.must(t, "GET", "/api/v1/admin/reports", nil, http.StatusOK, &reports)
	if len(reports.Reports) != 1 || reports.Reports[0].Reason != "spam" || reports.Reports[0].Reporter != bob.User.ID {
		t.Fatalf("reports = %+v", reports)
	}
	alice.must(t, "POST", "/api/v1/admin/reports/"+filed.ID+"/resolve", map[string]string{"note": "ok"}, http.StatusNoContent, nil)
	if r := alice.call(t, "POST", "/api/v1/admin/reports/"+filed.ID+"/resolve", nil); r.Status != http.StatusConflict {
		t.Errorf("resolve twice: %d", r.Status)
	}
	if r := alice.call(t, "POST", "/api/v1/admin/reports/nonsense/resolve", nil); r.Status != http.StatusNotFound {
		t.Errorf("resolve nonsense: %d", r.Status)
	}

	// The admin socket's handler acts as the operator, without a token.
	sock := httptest.NewServer(tn.Web.AdminHandler())
	defer sock.Close()
	resp, err := http.Post(sock.URL+"/api/v1/admin/users/bob/lock", "application/json", bytes.NewReader([]byte(`{"reason":"from the shell"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("socket lock: %d", resp.StatusCode)
	}
	resp, err = http.Get(sock.URL + "/api/v1/admin/audit?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	var last struct {
		Entries []node.AuditEntry `json:"entries"`
	}
	err = json.NewDecoder(resp.Body).Decode(&last)
	resp.Body.Close()
	if err != nil || len(last.Entries) != 1 || last.Entries[0].Actor != node.Operator || last.Entries[0].Action != "user.lock" {
		t.Fatalf("socket audit = %+v, %v", last, err)
	}
}

func mustPub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestAdminJSONBodiesOnly: the admin API and reports take JSON bodies
// only, like the rest of the API (415 otherwise), on the public listener
// and on the admin socket, and nothing is done.
func TestAdminJSONBodiesOnly(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := tn.mustRegister(t, "alice") // the first account: node admin
	bob := tn.mustRegister(t, "bob")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, rq := range []request{
		{method: "POST", path: "/api/v1/reports", body: `{"user":"` + string(alice.User.ID) + `","reason":"spam"}`, token: bob.Access, header: form},
		{method: "POST", path: "/api/v1/admin/users/bob/lock", body: `{"reason":"x"}`, token: alice.Access, header: form},
		{method: "POST", path: "/api/v1/admin/invites", body: `{"uses":1}`, token: alice.Access, header: map[string]string{"Content-Type": "text/plain"}},
		{method: "PUT", path: "/api/v1/admin/federation", body: `{"mode":"allowlist"}`, token: alice.Access, header: form},
	} {
		r := tn.do(t, rq)
		if r.Status != http.StatusUnsupportedMediaType || r.errorCode(t) != "unsupported_media_type" {
			t.Errorf("%s %s: %d %s, want 415", rq.method, rq.path, r.Status, r.Body)
		}
	}
	sock := httptest.NewServer(tn.Web.AdminHandler())
	defer sock.Close()
	resp, err := http.Post(sock.URL+"/api/v1/admin/users/bob/lock", "text/plain", strings.NewReader(`{"reason":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("socket lock as text/plain: %d, want 415", resp.StatusCode)
	}
	// Nothing was done: bob is not locked, no report was filed, the mode
	// is still open.
	bob.must(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	var reports struct {
		Reports []node.Report `json:"reports"`
	}
	alice.must(t, "GET", "/api/v1/admin/reports", nil, http.StatusOK, &reports)
	var policy struct {
		Mode string `json:"mode"`
	}
	alice.must(t, "GET", "/api/v1/admin/federation", nil, http.StatusOK, &policy)
	if len(reports.Reports) != 0 || policy.Mode != "open" {
		t.Errorf("after refused requests: reports %+v, federation mode %q", reports.Reports, policy.Mode)
	}
}
