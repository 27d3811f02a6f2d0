package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hearth-chat/hearth/node"
)

// adminRun runs `hearth admin --data data args...` and returns its
// stdout, stderr and exit code.
func adminRun(t *testing.T, bin, data, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"admin", "--data", data}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run hearth admin: %v", err)
	}
	return out.String(), errb.String(), code
}

// mustAdmin runs hearth admin and expects success.
func mustAdmin(t *testing.T, bin, data string, args ...string) string {
	t.Helper()
	out, errs, code := adminRun(t, bin, data, "", args...)
	if code != 0 {
		t.Fatalf("hearth admin %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

// mustAdminFail runs hearth admin and expects exit 1 with a message on
// stderr that contains want.
func mustAdminFail(t *testing.T, bin, data, want string, args ...string) {
	t.Helper()
	out, errs, code := adminRun(t, bin, data, "", args...)
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("hearth admin %v: exit %d, stderr %q (want exit 1 and %q); stdout %q", args, code, errs, want, out)
	}
}

func mustAdminJSON(t *testing.T, bin, data string, out any, args ...string) {
	t.Helper()
	s := mustAdmin(t, bin, data, append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("hearth admin --json %v: %v\n%s", args, err, s)
	}
}

// TestAdminProcess drives every `hearth admin` subcommand against a real
// `hearth serve` process through its admin socket, with text and --json
// output and the failure exits.
func TestAdminProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	empty := t.TempDir()
	mustAdminFail(t, bin, empty, "no running node answers", "users", "list")
	mustAdminFail(t, bin, empty, "a command is needed")
	mustAdminFail(t, bin, empty, "unknown command", "users", "frobnicate")

	data := t.TempDir()
	p := startServe(t, bin, data, "--registration", "token")
	if st, err := os.Stat(filepath.Join(data, "admin.sock")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	c := &apiClient{base: "http://" + p.http}
	// Token registration: no token, no account.
	c.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice", "password": testPassword}, 403, nil)
	out := mustAdmin(t, bin, data, "invites", "create", "--uses", "2", "--expires", "7d", "--note", "first two")
	token := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if len(token) < 20 || !strings.Contains(out, "shown once") {
		t.Fatalf("invites create printed %q", out)
	}
	mustAdminFail(t, bin, data, "--expires", "invites", "create", "--expires", "soon")
	mustAdminFail(t, bin, data, "uses must be", "invites", "create", "--uses", "-3")
	var alice, bob session
	c.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "alice", "password": testPassword, "token": token}, 201, &alice)
	c.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "bob", "password": testPassword, "token": token}, 201, &bob)
	c.mustDo(t, "POST", "/api/v1/auth/register", "", map[string]string{"username": "carol", "password": testPassword, "token": token}, 403, nil)

	var invites struct {
		Invites []struct {
			ID     string `json:"id"`
			Uses   int    `json:"uses"`
			Usable bool   `json:"usable"`
		} `json:"invites"`
	}
	mustAdminJSON(t, bin, data, &invites, "invites", "list")
	if len(invites.Invites) != 1 || invites.Invites[0].Uses != 2 || invites.Invites[0].Usable {
		t.Fatalf("invites = %+v", invites)
	}
	if out := mustAdmin(t, bin, data, "invites", "list"); !strings.Contains(out, "2/2") || !strings.Contains(out, "spent") || !strings.Contains(out, "first two") {
		t.Fatalf("invites list:\n%s", out)
	}
	mustAdmin(t, bin, data, "invites", "revoke", invites.Invites[0].ID)
	mustAdminFail(t, bin, data, "no such invite token", "invites", "revoke", invites.Invites[0].ID)

	// Users: the first account is the node admin.
	out = mustAdmin(t, bin, data, "users", "list")
	if !strings.Contains(out, "USERNAME") || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Fatalf("users list:\n%s", out)
	}
	var users struct {
		Users []node.AdminUser `json:"users"`
	}
	mustAdminJSON(t, bin, data, &users, "users", "list", "--q", "ali")
	if len(users.Users) != 1 || !users.Users[0].Admin {
		t.Fatalf("users --q ali = %+v", users)
	}

	// Lock: bob's socket closes at once, his token and logins stop.
	ws := dialAuthed(t, p.http, bob.AccessToken)
	out = mustAdmin(t, bin, data, "users", "lock", "bob", "--reason", "spam")
	if !strings.Contains(out, "locked bob") {
		t.Fatalf("lock printed %q", out)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, 4001) {
				t.Fatalf("bob's socket ended with %v, want close 4001", err)
			}
			break
		}
	}
	c.mustDo(t, "GET", "/api/v1/me", bob.AccessToken, nil, 401, nil)
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": testPassword}, 403, nil)
	mustAdmin(t, bin, data, "users", "unlock", "bob")
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": testPassword}, 200, nil)
	mustAdminFail(t, bin, data, "no such user", "users", "lock", "nobody")
	mustAdminFail(t, bin, data, "takes 1 argument", "users", "lock")

	// Password resets: chosen by the node, or read from stdin.
	out = mustAdmin(t, bin, data, "users", "reset-password", "bob")
	fields := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	newPW := fields[len(fields)-1]
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": newPW}, 200, &bob)
	if o, e, code := adminRun(t, bin, data, "chosen password 1\n", "users", "reset-password", "bob", "--password-stdin"); code != 0 {
		t.Fatalf("reset from stdin: %d %s %s", code, o, e)
	}
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": "chosen password 1"}, 200, &bob)
	if _, e, code := adminRun(t, bin, data, "short\n", "users", "reset-password", "bob", "--password-stdin"); code != 1 || !strings.Contains(e, "password") {
		t.Fatalf("a short password: exit %d, %s", code, e)
	}

	// Node admins.
	mustAdmin(t, bin, data, "users", "make-admin", "bob")
	var info struct {
		NodeAdmin bool `json:"nodeAdmin"`
	}
	c.mustDo(t, "GET", "/api/v1/admin", bob.AccessToken, nil, 200, &info)
	if !info.NodeAdmin {
		t.Fatal("make-admin did not make bob a node admin")
	}
	mustAdmin(t, bin, data, "users", "unmake-admin", "bob")
	c.mustDo(t, "GET", "/api/v1/admin/users", bob.AccessToken, nil, 403, nil)

	// Rooms.
	var room struct{ ID string }
	c.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]string{"name": "lobby", "visibility": "public"}, 201, &room)
	c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/join", bob.AccessToken, nil, 200, nil)
	c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", bob.AccessToken, map[string]string{"body": "bob was here"}, 201, nil)
	if out := mustAdmin(t, bin, data, "rooms", "list"); !strings.Contains(out, room.ID) || !strings.Contains(out, "lobby") {
		t.Fatalf("rooms list:\n%s", out)
	}
	if out := mustAdmin(t, bin, data, "rooms", "close", room.ID, "--reason", "moved"); !strings.Contains(out, "2 local members removed") {
		t.Fatalf("rooms close printed %q", out)
	}
	c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/join", bob.AccessToken, nil, 403, nil)
	var rooms struct {
		Rooms []node.AdminRoom `json:"rooms"`
	}
	mustAdminJSON(t, bin, data, &rooms, "rooms", "list")
	if len(rooms.Rooms) != 1 || !rooms.Rooms[0].Closed {
		t.Fatalf("rooms = %+v", rooms)
	}
	mustAdmin(t, bin, data, "rooms", "reopen", room.ID)
	mustAdminFail(t, bin, data, "not closed", "rooms", "reopen", room.ID)
	mustAdminFail(t, bin, data, "no such room", "rooms", "close", "rnothere")
	c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/join", bob.AccessToken, nil, 200, nil)

	// Remote nodes.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other := string(node.NodeIDFromKey(pub))
	if out := mustAdmin(t, bin, data, "nodes", "block", other, "--note", "spam"); !strings.Contains(out, "blocked") {
		t.Fatalf("nodes block printed %q", out)
	}
	out = mustAdmin(t, bin, data, "nodes", "list")
	if !strings.Contains(out, "federation mode: open") || !strings.Contains(out, other) || !strings.Contains(out, "block") {
		t.Fatalf("nodes list:\n%s", out)
	}
	mustAdmin(t, bin, data, "nodes", "mode", "allowlist")
	mustAdmin(t, bin, data, "nodes", "allow", other)
	var pol node.Policy
	mustAdminJSON(t, bin, data, &pol, "nodes", "list")
	if pol.Mode != "allowlist" || len(pol.Rules) != 1 || pol.Rules[0].Action != "allow" {
		t.Fatalf("policy = %+v", pol)
	}
	mustAdmin(t, bin, data, "nodes", "clear", other)
	mustAdminFail(t, bin, data, "no rule", "nodes", "clear", other)
	mustAdminFail(t, bin, data, "open or allowlist", "nodes", "mode", "sometimes")
	mustAdminFail(t, bin, data, "not a node ID", "nodes", "block", "12D3KooWnonsense")
	mustAdmin(t, bin, data, "nodes", "mode", "open")

	// Reports: bob reports alice; the operator lists and resolves it.
	var filed struct{ ID string }
	c.mustDo(t, "POST", "/api/v1/reports", bob.AccessToken, map[string]string{"user": "alice@" + p.node, "reason": "impersonation"}, 201, &filed)
	if out := mustAdmin(t, bin, data, "reports", "list"); !strings.Contains(out, filed.ID) || !strings.Contains(out, "impersonation") {
		t.Fatalf("reports list:\n%s", out)
	}
	mustAdmin(t, bin, data, "reports", "resolve", filed.ID, "--note", "checked")
	mustAdminFail(t, bin, data, "resolved already", "reports", "resolve", filed.ID)
	mustAdminFail(t, bin, data, "no such report", "reports", "resolve", "12345")
	if out := mustAdmin(t, bin, data, "reports", "list"); !strings.Contains(out, "no open reports") {
		t.Fatalf("reports list after resolve:\n%s", out)
	}
	var reports struct {
		Reports []node.Report `json:"reports"`
	}
	mustAdminJSON(t, bin, data, &reports, "reports", "list", "--all")
	if len(reports.Reports) != 1 || !reports.Reports[0].Resolved || reports.Reports[0].ResolvedBy != node.Operator {
		t.Fatalf("reports --all = %+v", reports)
	}

	// Delete: needs --yes; erases bob's messages and account.
	mustAdminFail(t, bin, data, "--yes", "users", "delete", "bob")
	if out := mustAdmin(t, bin, data, "users", "delete", "bob", "--yes"); !strings.Contains(out, "1 messages deleted") {
		t.Fatalf("users delete printed %q", out)
	}
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "bob", "password": "chosen password 1"}, 401, nil)
	var hist struct {
		Messages []struct {
			Body    string `json:"body"`
			Deleted bool   `json:"deleted"`
		} `json:"messages"`
	}
	c.mustDo(t, "GET", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken, nil, 200, &hist)
	for _, m := range hist.Messages {
		if strings.Contains(m.Body, "bob was here") {
			t.Fatalf("bob's message survived his deletion: %+v", hist)
		}
	}
	mustAdminFail(t, bin, data, "no such user", "users", "delete", "bob", "--yes")

	// The audit log names the operator for all of the above.
	var audit struct {
		Entries []node.AuditEntry `json:"entries"`
		More    bool              `json:"more"`
	}
	mustAdminJSON(t, bin, data, &audit, "audit", "--limit", "3")
	if len(audit.Entries) != 3 || !audit.More || audit.Entries[0].Action != "user.delete" || audit.Entries[0].Actor != node.Operator {
		t.Fatalf("audit = %+v", audit)
	}
	out = mustAdmin(t, bin, data, "audit", "--limit", "100")
	for _, want := range []string{"user.lock", "user.password", "invite.create", "invite.revoke", "room.close", "node.block", "federation.mode", "report.resolve", "operator", "spam"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
	if out := mustAdmin(t, bin, data, "help"); !strings.Contains(out, "users reset-password") {
		t.Errorf("help:\n%s", out)
	}
	p.stop(t)
	mustAdminFail(t, bin, data, "no running node answers", "audit")
}
