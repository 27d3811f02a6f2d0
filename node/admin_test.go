package node_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store/memstore"
)

func newAdminNode(t *testing.T, c node.AdminConfig) (*node.Node, *recorder) {
	t.Helper()
	db := memstore.New()
	rec := &recorder{}
	n, err := node.New(context.Background(), node.Config{Store: db, Key: mustKey(t), Notifier: rec, HashConcurrency: 4, Admin: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); db.Close() })
	return n, rec
}

func isAdmin(t *testing.T, n *node.Node, u node.UserID) bool {
	t.Helper()
	ok, err := n.IsNodeAdmin(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestRegistrationModes(t *testing.T) {
	ctx := context.Background()
	reg := func(n *node.Node, name, token string) error {
		_, err := n.RegisterWith(ctx, node.Registration{Username: name, Password: "correct horse", Token: token})
		return err
	}
	t.Run("closed", func(t *testing.T) {
		n, _ := newAdminNode(t, node.AdminConfig{Registration: node.RegistrationClosed})
		if err := reg(n, "alice", ""); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("closed registration: %v, want ErrForbidden", err)
		}
	})
	t.Run("bad mode", func(t *testing.T) {
		_, err := node.New(ctx, node.Config{Store: memstore.New(), Key: mustKey(t), Admin: node.AdminConfig{Registration: "maybe"}})
		if !errors.Is(err, node.ErrInvalid) {
			t.Fatalf("bad mode: %v", err)
		}
	})
	t.Run("open: first account is the admin", func(t *testing.T) {
		n, _ := newAdminNode(t, node.AdminConfig{})
		a, b := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
		if !isAdmin(t, n, a) || isAdmin(t, n, b) {
			t.Fatalf("admins: alice %v bob %v, want true false", isAdmin(t, n, a), isAdmin(t, n, b))
		}
		if err := reg(n, "carol", "whatever"); err != nil {
			t.Fatalf("a token is ignored in open mode: %v", err)
		}
	})
	t.Run("token", func(t *testing.T) {
		n, _ := newAdminNode(t, node.AdminConfig{Registration: node.RegistrationToken})
		if err := reg(n, "alice", ""); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("no token: %v", err)
		}
		if err := reg(n, "alice", "not-a-token"); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("wrong token: %v", err)
		}
		tok, it, err := n.CreateInvite(ctx, node.Operator, 2, 0, "for friends")
		if err != nil {
			t.Fatal(err)
		}
		if err := reg(n, "alice", tok); err != nil {
			t.Fatal(err)
		}
		if err := reg(n, "bob", tok); err != nil {
			t.Fatal(err)
		}
		if err := reg(n, "carol", tok); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("third use of a two-use token: %v", err)
		}
		list, err := n.Invites(ctx)
		if err != nil || len(list) != 1 || list[0].Uses != 2 || list[0].ID != it.ID || list[0].Hash == tok {
			t.Fatalf("invites = %+v, %v", list, err)
		}
		// Expired and revoked tokens admit nobody.
		short, _, err := n.CreateInvite(ctx, node.Operator, 0, time.Nanosecond, "")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the token's whole life
		if err := reg(n, "dave", short); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("expired token: %v", err)
		}
		tok3, it3, err := n.CreateInvite(ctx, node.Operator, 0, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.RevokeInvite(ctx, node.Operator, it3.ID); err != nil {
			t.Fatal(err)
		}
		if err := reg(n, "erin", tok3); !errors.Is(err, node.ErrForbidden) {
			t.Fatalf("revoked token: %v", err)
		}
		if err := n.RevokeInvite(ctx, node.Operator, it3.ID); !errors.Is(err, node.ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
		for _, bad := range []struct {
			uses int
			ttl  time.Duration
		}{{-1, 0}, {node.MaxInviteUses + 1, 0}, {1, -time.Hour}, {1, node.MaxInviteTTL + time.Hour}} {
			if _, _, err := n.CreateInvite(ctx, node.Operator, bad.uses, bad.ttl, ""); !errors.Is(err, node.ErrInvalid) {
				t.Errorf("CreateInvite(%d, %v): %v, want ErrInvalid", bad.uses, bad.ttl, err)
			}
		}
	})
}

func TestLockResetAndAdmins(t *testing.T) {
	ctx := context.Background()
	n, _ := newAdminNode(t, node.AdminConfig{})
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	s, _, err := n.NewSession(ctx, bob, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.LockUser(ctx, string(alice), "bob", true, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := n.CheckSession(ctx, s.ID, bob); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("a locked user's session lives on: %v", err)
	}
	if _, err := n.Login(ctx, "bob", "correct horse"); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("locked login: %v, want ErrForbidden", err)
	}
	if _, err := n.Login(ctx, "bob", "wrong password"); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("a wrong password must not tell that the account is locked: %v", err)
	}
	if _, err := n.LockUser(ctx, node.Operator, string(bob), false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Login(ctx, "bob", "correct horse"); err != nil {
		t.Fatalf("unlocked login: %v", err)
	}
	_, pw, err := n.ResetPassword(ctx, node.Operator, "bob", "")
	if err != nil || len(pw) < 8 {
		t.Fatalf("reset: %q, %v", pw, err)
	}
	if _, err := n.Login(ctx, "bob", "correct horse"); !errors.Is(err, node.ErrUnauthenticated) {
		t.Fatalf("old password after reset: %v", err)
	}
	if _, err := n.Login(ctx, "bob", pw); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := n.SetNodeAdmin(ctx, node.Operator, "bob", true); err != nil || !isAdmin(t, n, bob) {
		t.Fatalf("make admin: %v", err)
	}
	if _, err := n.SetNodeAdmin(ctx, node.Operator, "bob", false); err != nil || isAdmin(t, n, bob) {
		t.Fatalf("unmake admin: %v", err)
	}
	if _, err := n.LockUser(ctx, node.Operator, "nobody", true, ""); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("lock unknown: %v", err)
	}
	users, more, err := n.AdminUsers(ctx, "", "", 1)
	if err != nil || len(users) != 1 || !more || users[0].Username != "alice" || !users[0].Admin {
		t.Fatalf("users page 1 = %+v, %v, %v", users, more, err)
	}
	users, more, err = n.AdminUsers(ctx, "", "alice", 10)
	if err != nil || len(users) != 1 || more || users[0].Username != "bob" {
		t.Fatalf("users page 2 = %+v, %v, %v", users, more, err)
	}
	entries, _, err := n.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"user.unadmin", "user.admin", "user.password", "user.unlock", "user.lock", "user.admin"}
	if len(entries) != len(want) {
		t.Fatalf("audit has %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i, e := range entries {
		if e.Action != want[i] {
			t.Errorf("audit[%d] = %s, want %s", i, e.Action, want[i])
		}
	}
	if entries[4].Actor != string(alice) || entries[4].Detail != "spam" || entries[4].Target != string(bob) {
		t.Errorf("lock entry = %+v", entries[4])
	}
}

func TestDeleteUserErasesContent(t *testing.T) {
	ctx := context.Background()
	n, rec := newAdminNode(t, node.AdminConfig{})
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	room, err := n.CreateRoom(ctx, alice, "r", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: fmt.Sprint("bob ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "alice stays"}); err != nil {
		t.Fatal(err)
	}
	er, err := n.DeleteUser(ctx, node.Operator, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if er.Messages != 3 || er.Rooms != 1 {
		t.Fatalf("erasure = %+v, want 3 messages in 1 room", er)
	}
	msgs, _, err := n.History(ctx, alice, room.ID, "", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Sender == bob && (!m.Deleted || m.Body != "") {
			t.Errorf("bob's message survived: %+v", m)
		}
		if m.Sender == alice && m.Body != "alice stays" {
			t.Errorf("alice's message changed: %+v", m)
		}
	}
	r, err := n.Room(ctx, alice, room.ID)
	if err != nil || r.MemberCount != 1 {
		t.Fatalf("room after erasure = %+v, %v", r, err)
	}
	if _, err := n.User(ctx, bob); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("profile survived: %v", err)
	}
	if _, err := n.Login(ctx, "bob", "correct horse"); !errors.Is(err, node.ErrUnauthenticated) {
		t.Errorf("login of a deleted user: %v", err)
	}
	if _, err := n.Register(ctx, "bob", "correct horse", ""); !errors.Is(err, node.ErrConflict) {
		t.Errorf("a deleted username must stay taken: %v", err)
	}
	if _, err := n.DeleteUser(ctx, node.Operator, "bob"); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if got := rec.kinds(alice, node.NoteUpdate); got < 3 {
		t.Errorf("alice saw %d message updates, want the 3 deletions", got)
	}
}

func TestFederationPolicy(t *testing.T) {
	ctx := context.Background()
	n, _ := newAdminNode(t, node.AdminConfig{})
	alice := mustRegister(t, n, "alice")
	room, err := n.CreateRoom(ctx, alice, "r", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	w.ts = time.Now().UnixMilli() // after the local room's creation
	mallory, carol := w.user("mallory", "M"), w.user("carol", "C")
	if err := n.Ingest(ctx, w.member(room.ID, carol, carol, node.MemberJoin)); err != nil {
		t.Fatal(err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, mallory.Node(), node.RuleBlock, "spam"); err != nil {
		t.Fatal(err)
	}
	if n.NodeAllowed(mallory.Node()) || !n.NodeAllowed(carol.Node()) {
		t.Fatal("block list not applied")
	}
	if err := n.Ingest(ctx, w.member(room.ID, mallory, mallory, node.MemberJoin)); !errors.Is(err, node.ErrPolicy) {
		t.Fatalf("a blocked node's event: %v, want ErrPolicy", err)
	}
	if n.ReadableBy(room.ID, mallory.Node()) {
		t.Error("a blocked node may read a public room")
	}
	if err := n.Invite(ctx, alice, room.ID, mallory); !errors.Is(err, node.ErrForbidden) {
		t.Errorf("inviting a blocked node's user: %v", err)
	}
	// An invite of a local user by a blocked node's user is ignored.
	priv := node.RoomID("rprivate1")
	if err := n.Ingest(ctx, w.event(priv, mallory, node.EventCreate, node.CreateContent{Name: "p", Kind: node.KindGroup, Visibility: node.Private})); !errors.Is(err, node.ErrPolicy) {
		t.Fatalf("blocked create: %v", err)
	}
	if err := n.SetFederationMode(ctx, node.Operator, node.FederationAllowlist); err != nil {
		t.Fatal(err)
	}
	if n.NodeAllowed(carol.Node()) {
		t.Fatal("allowlist mode lets an unlisted node federate")
	}
	if err := n.Ingest(ctx, w.msg(room.ID, carol)); !errors.Is(err, node.ErrPolicy) {
		t.Fatalf("unlisted node in allowlist mode: %v", err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, carol.Node(), node.RuleAllow, ""); err != nil {
		t.Fatal(err)
	}
	if err := n.Ingest(ctx, w.msg(room.ID, carol)); err != nil {
		t.Fatalf("allowed node: %v", err)
	}
	p, err := n.FederationPolicy(ctx)
	if err != nil || p.Mode != node.FederationAllowlist || len(p.Rules) != 2 {
		t.Fatalf("policy = %+v, %v", p, err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, "not-a-node", node.RuleBlock, ""); !errors.Is(err, node.ErrInvalid) {
		t.Errorf("bad node ID: %v", err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, n.ID(), node.RuleBlock, ""); !errors.Is(err, node.ErrInvalid) {
		t.Errorf("blocking itself: %v", err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, mallory.Node(), "", ""); err != nil {
		t.Fatal(err)
	}
	if err := n.SetNodeRule(ctx, node.Operator, mallory.Node(), "", ""); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("clear twice: %v", err)
	}
}

func TestFederationModeIsStored(t *testing.T) {
	ctx := context.Background()
	db := memstore.New()
	defer db.Close()
	key := mustKey(t)
	open := func(mode string) *node.Node {
		n, err := node.New(ctx, node.Config{Store: db, Key: key, Admin: node.AdminConfig{Federation: mode}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	if got := open("").FederationMode(); got != node.FederationOpen {
		t.Fatalf("new node: %s", got)
	}
	n := open("")
	if err := n.SetFederationMode(ctx, node.Operator, node.FederationAllowlist); err != nil {
		t.Fatal(err)
	}
	if got := open("").FederationMode(); got != node.FederationAllowlist {
		t.Fatalf("after restart: %s, want the stored allowlist", got)
	}
	if got := open(node.FederationOpen).FederationMode(); got != node.FederationOpen {
		t.Fatalf("a mode given at start wins: %s", got)
	}
}

func TestCloseRoom(t *testing.T) {
	ctx := context.Background()
	n, _ := newAdminNode(t, node.AdminConfig{})
	alice, bob := mustRegister(t, n, "alice"), mustRegister(t, n, "bob")
	room, err := n.CreateRoom(ctx, alice, "spam", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	w.ts = time.Now().UnixMilli() // after the local room's creation
	carol := w.user("carol", "C")
	if err := n.Ingest(ctx, w.member(room.ID, carol, carol, node.MemberJoin)); err != nil {
		t.Fatal(err)
	}
	left, err := n.CloseRoom(ctx, node.Operator, room.ID, "spam")
	if err != nil || left != 2 {
		t.Fatalf("close: %d, %v", left, err)
	}
	if _, err := n.Join(ctx, bob, room.ID); !errors.Is(err, node.ErrForbidden) {
		t.Errorf("join a closed room: %v", err)
	}
	if err := n.Ingest(ctx, w.msg(room.ID, carol)); !errors.Is(err, node.ErrPolicy) {
		t.Errorf("events of a closed room: %v", err)
	}
	if n.ReadableBy(room.ID, carol.Node()) || n.Wants(w.msg(room.ID, carol)) {
		t.Error("a closed room is still served")
	}
	for _, id := range n.GossipRooms() {
		if id == room.ID {
			t.Error("a closed room's topic is still followed")
		}
	}
	rooms, err := n.Rooms(ctx, bob)
	if err != nil || len(rooms) != 0 {
		t.Errorf("bob's rooms after close = %d, %v", len(rooms), err)
	}
	list, err := n.AdminRooms(ctx)
	if err != nil || len(list) != 1 || !list[0].Closed || list[0].LocalMembers != 0 {
		t.Fatalf("admin rooms = %+v, %v", list, err)
	}
	if err := n.ReopenRoom(ctx, node.Operator, room.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Errorf("join a reopened room: %v", err)
	}
}

func TestAuditLogIsBounded(t *testing.T) {
	ctx := context.Background()
	n, _ := newAdminNode(t, node.AdminConfig{AuditMax: 5})
	for i := range 12 {
		if err := n.Record(ctx, node.AuditEntry{Actor: "mod@x", Action: "room.kick", Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all, more, err := n.Audit(ctx, 0, 100)
	if err != nil || more || len(all) != 5 || all[0].Target != "11" || all[4].Target != "7" {
		t.Fatalf("audit = %d entries (more %v, %v), want the newest 5", len(all), more, err)
	}
	page, more, err := n.Audit(ctx, all[1].ID, 2)
	if err != nil || !more || len(page) != 2 || page[0].Target != "9" {
		t.Fatalf("page before %d = %+v, %v, %v", all[1].ID, page, more, err)
	}
	if err := n.Record(ctx, node.AuditEntry{Action: "x"}); !errors.Is(err, node.ErrInvalid) {
		t.Errorf("entry without actor: %v", err)
	}
	// Retention: entries older than it go at the next write.
	clock := time.Now()
	m, err := node.New(ctx, node.Config{Store: memstore.New(), Key: mustKey(t), Now: func() time.Time { return clock },
		Admin: node.AdminConfig{AuditRetention: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_ = m.Record(ctx, node.AuditEntry{Actor: "a", Action: "old"})
	clock = clock.Add(2 * time.Hour)
	_ = m.Record(ctx, node.AuditEntry{Actor: "a", Action: "new"})
	all, _, _ = m.Audit(ctx, 0, 10)
	if len(all) != 1 || all[0].Action != "new" {
		t.Fatalf("after retention: %+v", all)
	}
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	n, _ := newAdminNode(t, node.AdminConfig{})
	alice, bob, carol := mustRegister(t, n, "alice"), mustRegister(t, n, "bob"), mustRegister(t, n, "carol")
	room, err := n.CreateRoom(ctx, alice, "r", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Invite(ctx, alice, room.ID, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	m, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "rude words"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.FileReport(ctx, bob, node.ReportParams{Room: room.ID, Message: m.ID, Reason: "rude"})
	if err != nil {
		t.Fatal(err)
	}
	if r.User != alice || r.Body != "rude words" {
		t.Fatalf("report = %+v", r)
	}
	// Carol cannot report what she cannot see.
	if _, err := n.FileReport(ctx, carol, node.ReportParams{Room: room.ID, Message: m.ID, Reason: "x"}); !errors.Is(err, node.ErrNotFound) && !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("report of an unseen message: %v", err)
	}
	for _, bad := range []node.ReportParams{
		{User: alice}, {Reason: "nothing named"}, {Message: m.ID, Reason: "no room"},
		{User: alice, Reason: string(make([]byte, node.MaxReportReason+1))}, {User: "nobody", Reason: "x"},
	} {
		if _, err := n.FileReport(ctx, bob, bad); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("FileReport(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	for i := 1; i < node.ReportsPerHour; i++ {
		if _, err := n.FileReport(ctx, carol, node.ReportParams{User: alice, Reason: "again"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.FileReport(ctx, carol, node.ReportParams{User: alice, Reason: "again"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.FileReport(ctx, carol, node.ReportParams{User: alice, Reason: "too many"}); !errors.Is(err, node.ErrRateLimited) {
		t.Fatalf("report past the hourly cap: %v", err)
	}
	open, _, err := n.Reports(ctx, false, 0, 500)
	if err != nil || len(open) != node.ReportsPerHour+1 || open[len(open)-1].ID != r.ID {
		t.Fatalf("open reports = %d, %v", len(open), err)
	}
	if err := n.ResolveReport(ctx, string(alice), r.ID, "talked to them"); err != nil {
		t.Fatal(err)
	}
	if err := n.ResolveReport(ctx, string(alice), r.ID, ""); !errors.Is(err, node.ErrConflict) {
		t.Fatalf("resolve twice: %v", err)
	}
	if err := n.ResolveReport(ctx, string(alice), 42, ""); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("resolve unknown: %v", err)
	}
	open, _, _ = n.Reports(ctx, false, 0, 500)
	all, _, _ := n.Reports(ctx, true, 0, 500)
	if len(open) != node.ReportsPerHour || len(all) != node.ReportsPerHour+1 || !all[len(all)-1].Resolved {
		t.Fatalf("after resolve: %d open, %d in all", len(open), len(all))
	}
}

// TestDeleteUserDropsTheirFiles: an erased user's avatar and the files
// their deleted messages attached are collected after the grace period;
// a file someone else also attached stays.
func TestDeleteUserDropsTheirFiles(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice, bob := mustRegister(t, n.Node, "alice"), mustRegister(t, n.Node, "bob")
	room, err := n.CreateRoom(ctx, alice, "r", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	face := n.upload(t, bob, "", pngBytes(t, 4, 4))
	if _, err := n.UpdateMe(ctx, bob, node.ProfileChange{Avatar: ptr(string(face.ID))}); err != nil {
		t.Fatal(err)
	}
	own := n.upload(t, bob, "", []byte("bob's file"))
	shared := n.upload(t, bob, "", []byte("also attached by alice"))
	if _, err := n.Send(ctx, bob, node.SendParams{Room: room.ID, Body: "mine", Attachments: attach(own.ID, shared.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "hers", Attachments: attach(shared.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.DeleteUser(ctx, node.Operator, "bob"); err != nil {
		t.Fatal(err)
	}
	n.clock.advance(2 * time.Hour)
	removed, err := n.CollectMedia(ctx)
	if err != nil || removed != 2 {
		t.Fatalf("collected %d, want bob's avatar and his attachment: %v", removed, err)
	}
	for id, want := range map[node.MediaID]bool{face.ID: false, own.ID: false, shared.ID: true} {
		if n.files.Has(id) != want {
			t.Errorf("file %s stored = %v, want %v", id, !want, want)
		}
	}
}
