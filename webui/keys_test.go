package webui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/internal/devicetest"
	"github.com/hearth-chat/hearth/internal/poll"
	"github.com/hearth-chat/hearth/node"
)

// e2eeClient is a session with its device and the device's keys.
type e2eeClient struct {
	*client
	Device string
	mx     string // Matrix user ID
	d      *devicetest.Device
}

func registerDevice(t *testing.T, tn *testNode, name, deviceID string) *e2eeClient {
	t.Helper()
	var s session
	body := map[string]string{"username": name, "password": testPassword}
	if deviceID != "" {
		body["deviceId"] = deviceID
	}
	tn.must(t, request{method: "POST", path: "/api/v1/auth/register", body: body}, http.StatusCreated, &s)
	return newE2EEClient(t, tn, s)
}

func newE2EEClient(t *testing.T, tn *testNode, s session) *e2eeClient {
	t.Helper()
	c := &client{tn: tn, User: s.User, Access: s.AccessToken, Refresh: s.RefreshToken}
	return &e2eeClient{client: c, Device: s.DeviceID, mx: node.MatrixUserID(s.User.ID), d: devicetest.New(node.MatrixUserID(s.User.ID), s.DeviceID)}
}

// TestKeysContract drives every §7 endpoint with the Matrix-shaped
// bodies an OlmMachine sends and checks the Matrix-shaped answers it
// expects.
func TestKeysContract(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	alice := registerDevice(t, tn, "alice", "ALICEPHONE")
	bob := registerDevice(t, tn, "bob", "")
	if alice.Device != "ALICEPHONE" || bob.Device == "" {
		t.Fatalf("session deviceIds: %q %q", alice.Device, bob.Device)
	}

	t.Run("devices", func(t *testing.T) {
		var s session
		tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "alice", "password": testPassword, "deviceId": "ALICEPHONE"}}, http.StatusOK, &s)
		if s.DeviceID != "ALICEPHONE" {
			t.Fatalf("login resuming ALICEPHONE got device %q", s.DeviceID)
		}
		var out struct {
			Devices []struct {
				DeviceID string `json:"deviceId"`
			} `json:"devices"`
		}
		alice.must(t, "GET", "/api/v1/devices", nil, http.StatusOK, &out)
		if len(out.Devices) != 1 || out.Devices[0].DeviceID != "ALICEPHONE" {
			t.Fatalf("devices: %+v", out)
		}
	})

	t.Run("keys/upload", func(t *testing.T) {
		for _, c := range []*e2eeClient{alice, bob} {
			var out struct {
				Counts map[string]int `json:"one_time_key_counts"`
			}
			c.must(t, "POST", "/api/v1/keys/upload", map[string]any{
				"device_keys": c.d.DeviceKeys(), "one_time_keys": c.d.OneTimeKeys(3), "fallback_keys": c.d.FallbackKey(),
			}, http.StatusOK, &out)
			if out.Counts["signed_curve25519"] != 3 {
				t.Fatalf("counts %v", out.Counts)
			}
		}
		// A forged signature, and keys naming another device or user,
		// are refused.
		forged := devicetest.New(alice.mx, alice.Device).DeviceKeys()
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(forged, &obj)
		obj["signatures"] = json.RawMessage(fmt.Sprintf(`{%q:{"ed25519:%s":%q}}`, alice.mx, alice.Device, strings.Repeat("A", 86)))
		if r := alice.call(t, "POST", "/api/v1/keys/upload", map[string]any{"device_keys": obj}); r.Status != http.StatusForbidden {
			t.Errorf("forged device keys: %d %s", r.Status, r.Body)
		}
		if r := alice.call(t, "POST", "/api/v1/keys/upload", map[string]any{"device_keys": bob.d.DeviceKeys()}); r.Status != http.StatusForbidden {
			t.Errorf("bob's keys uploaded by alice: %d %s", r.Status, r.Body)
		}
		// Another identity key for the same device is refused.
		other := devicetest.New(alice.mx, alice.Device)
		if r := alice.call(t, "POST", "/api/v1/keys/upload", map[string]any{"device_keys": other.DeviceKeys()}); r.Status != http.StatusConflict {
			t.Errorf("new identity key for a device: %d %s", r.Status, r.Body)
		}
	})

	t.Run("keys/query", func(t *testing.T) {
		var out map[string]json.RawMessage
		alice.must(t, "POST", "/api/v1/keys/query", map[string]any{"device_keys": map[string][]string{bob.mx: {}}, "timeout": 10000}, http.StatusOK, &out)
		for _, k := range []string{"device_keys", "failures", "master_keys", "self_signing_keys", "user_signing_keys"} {
			if _, ok := out[k]; !ok {
				t.Errorf("query answer lacks %q: %s", k, out)
			}
		}
		var dk map[string]map[string]struct {
			UserID   string            `json:"user_id"`
			DeviceID string            `json:"device_id"`
			Keys     map[string]string `json:"keys"`
		}
		_ = json.Unmarshal(out["device_keys"], &dk)
		if got := dk[bob.mx][bob.Device]; got.UserID != bob.mx || got.Keys["ed25519:"+bob.Device] != bob.d.Ed {
			t.Fatalf("bob's device keys: %+v", dk)
		}
	})

	t.Run("keys/claim", func(t *testing.T) {
		seen := map[string]bool{}
		for i := range 5 {
			var out struct {
				OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
				Failures    map[string]json.RawMessage                       `json:"failures"`
			}
			alice.must(t, "POST", "/api/v1/keys/claim", map[string]any{"one_time_keys": map[string]map[string]string{bob.mx: {bob.Device: "signed_curve25519"}}}, http.StatusOK, &out)
			keys := out.OneTimeKeys[bob.mx][bob.Device]
			if len(keys) != 1 || out.Failures == nil {
				t.Fatalf("claim %d: %+v", i, out)
			}
			for id := range keys {
				fallback := strings.Contains(id, ":FB")
				if i < 3 && (fallback || seen[id]) || i >= 3 && !fallback {
					t.Fatalf("claim %d got %s", i, id)
				}
				seen[id] = true
			}
		}
	})

	t.Run("cross-signing", func(t *testing.T) {
		xs := devicetest.NewCrossSigning(alice.mx)
		alice.must(t, "POST", "/api/v1/keys/device_signing/upload", xs.Upload(), http.StatusOK, nil)
		alice.must(t, "POST", "/api/v1/keys/device_signing/upload", xs.Upload(), http.StatusOK, nil) // the same again: idempotent
		other := devicetest.NewCrossSigning(alice.mx)
		if r := alice.call(t, "POST", "/api/v1/keys/device_signing/upload", other.Upload()); r.Status != http.StatusForbidden {
			t.Fatalf("replacing cross-signing keys without a password: %d %s", r.Status, r.Body)
		}
		// Alice's self-signing key signs her device.
		var q struct {
			DeviceKeys map[string]map[string]json.RawMessage `json:"device_keys"`
			Master     map[string]json.RawMessage            `json:"master_keys"`
			UserSign   map[string]json.RawMessage            `json:"user_signing_keys"`
		}
		alice.must(t, "POST", "/api/v1/keys/query", map[string]any{"device_keys": map[string][]string{alice.mx: {}}}, http.StatusOK, &q)
		if q.Master[alice.mx] == nil || q.UserSign[alice.mx] == nil {
			t.Fatalf("own cross-signing keys missing: %+v", q)
		}
		signed := xs.SignDevice(q.DeviceKeys[alice.mx][alice.Device])
		var out struct {
			Failures map[string]map[string]json.RawMessage `json:"failures"`
		}
		alice.must(t, "POST", "/api/v1/keys/signatures/upload", map[string]any{alice.mx: map[string]json.RawMessage{alice.Device: signed}}, http.StatusOK, &out)
		if len(out.Failures) != 0 {
			t.Fatalf("signature failures: %s", out.Failures)
		}
		q.DeviceKeys, q.Master, q.UserSign = nil, nil, nil
		bob.must(t, "POST", "/api/v1/keys/query", map[string]any{"device_keys": map[string][]string{alice.mx: {}}}, http.StatusOK, &q)
		if !strings.Contains(string(q.DeviceKeys[alice.mx][alice.Device]), "ed25519:"+xs.SelfPub) {
			t.Fatalf("bob does not see alice's cross-signed device: %s", q.DeviceKeys[alice.mx][alice.Device])
		}
		if q.UserSign[alice.mx] != nil {
			t.Fatal("bob sees alice's user-signing key")
		}
		// A forged signature is a failure, not an error.
		bad := strings.Replace(string(signed), xs.SelfPub+`":"`, xs.SelfPub+`":"AAAA`, 1)
		alice.must(t, "POST", "/api/v1/keys/signatures/upload", map[string]any{alice.mx: map[string]json.RawMessage{alice.Device: json.RawMessage(bad)}}, http.StatusOK, &out)
		if out.Failures[alice.mx][alice.Device] == nil {
			t.Fatalf("forged signature accepted: %+v", out)
		}
		// With the password the keys may be replaced.
		body := other.Upload()
		body["auth"] = json.RawMessage(fmt.Sprintf(`{"type":"m.login.password","password":%q}`, testPassword))
		alice.must(t, "POST", "/api/v1/keys/device_signing/upload", body, http.StatusOK, nil)
	})

	t.Run("sendToDevice and the todevice frame", func(t *testing.T) {
		ws := bob.mustWS(t)
		ws.expect(t, "key_counts", nil)
		msg := map[string]any{"messages": map[string]any{bob.mx: map[string]any{bob.Device: map[string]string{"algorithm": "m.olm.v1.curve25519-aes-sha2", "n": "1"}}}}
		alice.must(t, "PUT", "/api/v1/sendToDevice/m.room.encrypted/txn1", msg, http.StatusOK, nil)
		alice.must(t, "PUT", "/api/v1/sendToDevice/m.room.encrypted/txn1", msg, http.StatusOK, nil) // idempotent
		f := ws.expect(t, "todevice", nil)
		var ev struct {
			Sender  string          `json:"sender"`
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		}
		if len(f.Events) != 1 || json.Unmarshal(f.Events[0], &ev) != nil || ev.Sender != alice.mx || ev.Type != "m.room.encrypted" || f.Next == "" {
			t.Fatalf("todevice frame: %+v", f)
		}
		// Not acknowledged: sent again on the next connection, once.
		ws2 := bob.mustWS(t)
		f2 := ws2.expect(t, "todevice", nil)
		if len(f2.Events) != 1 || f2.Next != f.Next {
			t.Fatalf("resent frame: %+v", f2)
		}
		ws2.send(t, map[string]any{"type": "todevice_ack", "upTo": f2.Next})
		ws.expectNone(t, "todevice", nil, 0)
		poll.Until(t, 5e9, func() error {
			ws3 := bob.mustWS(t)
			defer ws3.conn.Close()
			ws3.expect(t, "key_counts", nil)
			for _, b := range ws3.backlog {
				if b.Type == "todevice" {
					return fmt.Errorf("acknowledged message sent again")
				}
			}
			return nil
		})
		// "*" reaches every device of the user.
		alice.must(t, "PUT", "/api/v1/sendToDevice/m.room_key_request/txn2", map[string]any{"messages": map[string]any{bob.mx: map[string]any{"*": map[string]string{"x": "y"}}}}, http.StatusOK, nil)
		ws.expect(t, "todevice", func(f wsFrame) bool {
			return len(f.Events) == 1 && strings.Contains(string(f.Events[0]), "m.room_key_request")
		})
	})

	t.Run("encrypted room", func(t *testing.T) {
		var dm node.Room
		alice.must(t, "POST", "/api/v1/dm", map[string]any{"userId": string(bob.User.ID)}, http.StatusOK, &dm)
		if !dm.Encrypted {
			t.Fatal("a DM is not encrypted by default")
		}
		var pub node.Room
		alice.must(t, "POST", "/api/v1/rooms", map[string]any{"name": "town", "visibility": "public"}, http.StatusCreated, &pub)
		if pub.Encrypted {
			t.Fatal("a public room is encrypted by default")
		}
		r := alice.call(t, "POST", "/api/v1/rooms/"+string(dm.ID)+"/messages", map[string]any{"body": "in the clear"})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "end-to-end encrypted") {
			t.Fatalf("plaintext in an encrypted DM: %d %s", r.Status, r.Body)
		}
		enc := json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2","sender_key":"k","ciphertext":"AwgAEhBx","session_id":"S","device_id":"ALICEPHONE"}`)
		var m node.Message
		alice.must(t, "POST", "/api/v1/rooms/"+string(dm.ID)+"/messages", map[string]any{"encrypted": enc, "clientId": "c1"}, http.StatusCreated, &m)
		if m.Body != "" || string(m.Encrypted) != string(enc) {
			t.Fatalf("encrypted message: %+v", m)
		}
		ws := bob.mustWS(t)
		ws.send(t, map[string]any{"type": "send", "id": "w1", "room": dm.ID, "encrypted": enc, "replyTo": m.ID})
		ack := ws.expect(t, "ack", func(f wsFrame) bool { return f.ID == "w1" }).message(t)
		if ack.ReplyTo != m.ID || ack.Body != "" || ack.Encrypted == nil {
			t.Fatalf("ack: %+v", ack)
		}
		ws.send(t, map[string]any{"type": "send", "id": "w2", "room": dm.ID, "body": "oops"})
		if e := ws.expect(t, "error", func(f wsFrame) bool { return f.ID == "w2" }); e.Code != "invalid_argument" {
			t.Fatalf("plaintext frame: %+v", e)
		}
		var edited node.Message
		alice.must(t, "PATCH", "/api/v1/rooms/"+string(dm.ID)+"/messages/"+string(m.ID), map[string]any{"encrypted": enc}, http.StatusOK, &edited)
		if edited.EditedAt == 0 || edited.Body != "" {
			t.Fatalf("encrypted edit: %+v", edited)
		}
		var on node.Room
		alice.must(t, "POST", "/api/v1/rooms/"+string(pub.ID)+"/encryption", nil, http.StatusOK, &on)
		if !on.Encrypted {
			t.Fatal("encryption not turned on")
		}
		if r := alice.call(t, "POST", "/api/v1/rooms/"+string(dm.ID)+"/messages", map[string]any{"encrypted": map[string]string{"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x", "session_id": "s", "m.relates_to": "x"}}); r.Status != http.StatusBadRequest {
			t.Fatalf("unknown field in encrypted: %d %s", r.Status, r.Body)
		}
	})

	t.Run("key backup", func(t *testing.T) {
		if r := alice.call(t, "GET", "/api/v1/room_keys/version", nil); r.Status != http.StatusNotFound {
			t.Fatalf("no backup yet: %d", r.Status)
		}
		var v struct{ Version string }
		alice.must(t, "POST", "/api/v1/room_keys/version", map[string]any{"algorithm": node.BackupAlgorithm, "auth_data": map[string]any{"public_key": "abc"}}, http.StatusOK, &v)
		key := func(idx int, verified bool) map[string]any {
			return map[string]any{"first_message_index": idx, "forwarded_count": 0, "is_verified": verified, "session_data": map[string]string{"ephemeral": "e", "ciphertext": "c", "mac": "m"}}
		}
		var c struct {
			Etag  string `json:"etag"`
			Count int    `json:"count"`
		}
		alice.must(t, "PUT", "/api/v1/room_keys/keys?version="+v.Version, map[string]any{"rooms": map[string]any{"!r1:x": map[string]any{"sessions": map[string]any{"s/1": key(3, false), "s2": key(0, true)}}}}, http.StatusOK, &c)
		if c.Count != 2 {
			t.Fatalf("count %+v", c)
		}
		alice.must(t, "PUT", "/api/v1/room_keys/keys/!r1:x/s2?version="+v.Version, key(5, false), http.StatusOK, &c)
		var info struct {
			Algorithm string
			Count     int
			Etag      string
			Version   string
			AuthData  json.RawMessage `json:"auth_data"`
		}
		alice.must(t, "GET", "/api/v1/room_keys/version", nil, http.StatusOK, &info)
		if info.Version != v.Version || info.Count != 2 || info.Etag != c.Etag || info.AuthData == nil {
			t.Fatalf("version info %+v (etag %s)", info, c.Etag)
		}
		var all struct {
			Rooms map[string]struct {
				Sessions map[string]struct {
					FirstMessageIndex int `json:"first_message_index"`
				} `json:"sessions"`
			} `json:"rooms"`
		}
		alice.must(t, "GET", "/api/v1/room_keys/keys?version="+v.Version, nil, http.StatusOK, &all)
		if s := all.Rooms["!r1:x"].Sessions; len(s) != 2 || s["s2"].FirstMessageIndex != 0 {
			t.Fatalf("backup keys (the worse copy must not win): %+v", all)
		}
		if r := bob.call(t, "GET", "/api/v1/room_keys/keys?version="+v.Version, nil); r.Status != http.StatusNotFound {
			t.Fatalf("bob reads alice's backup: %d", r.Status)
		}
		var v2 struct{ Version string }
		alice.must(t, "POST", "/api/v1/room_keys/version", map[string]any{"algorithm": node.BackupAlgorithm, "auth_data": map[string]any{"public_key": "def"}}, http.StatusOK, &v2)
		if r := alice.call(t, "PUT", "/api/v1/room_keys/keys?version="+v.Version, map[string]any{"rooms": map[string]any{}}); r.Status != http.StatusForbidden {
			t.Fatalf("write to an old version: %d", r.Status)
		}
		alice.must(t, "DELETE", "/api/v1/room_keys/keys/!r1:x?version="+v.Version, nil, http.StatusOK, &c)
		alice.must(t, "DELETE", "/api/v1/room_keys/version/"+v.Version, nil, http.StatusOK, nil)
		if r := alice.call(t, "GET", "/api/v1/room_keys/version/"+v.Version, nil); r.Status != http.StatusNotFound {
			t.Fatalf("deleted version: %d", r.Status)
		}
	})

	t.Run("delete device", func(t *testing.T) {
		var s session
		tn.must(t, request{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "bob", "password": testPassword}}, http.StatusOK, &s)
		second := newE2EEClient(t, tn, s)
		ws := alice.mustWS(t)
		if r := bob.call(t, "DELETE", "/api/v1/devices/"+second.Device, map[string]string{"password": "wrong password!"}); r.Status != http.StatusForbidden {
			t.Fatalf("wrong password: %d", r.Status)
		}
		bob.must(t, "DELETE", "/api/v1/devices/"+second.Device, map[string]string{"password": testPassword}, http.StatusNoContent, nil)
		if r := second.call(t, "GET", "/api/v1/devices", nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("the deleted device's session still works: %d", r.Status)
		}
		var out struct{ Devices []struct{ DeviceID string } }
		bob.must(t, "GET", "/api/v1/devices", nil, http.StatusOK, &out)
		if slices.ContainsFunc(out.Devices, func(d struct{ DeviceID string }) bool { return d.DeviceID == second.Device }) {
			t.Fatal("deleted device still listed")
		}
		// Alice shares an encrypted DM with bob: she hears his devices changed.
		ws.expect(t, "device_lists", func(f wsFrame) bool { return slices.Contains(f.Changed, string(bob.User.ID)) })
		for range 6 {
			bob.call(t, "DELETE", "/api/v1/devices/"+bob.Device, map[string]string{"password": "wrong password!"})
		}
		if r := bob.call(t, "DELETE", "/api/v1/devices/"+bob.Device, map[string]string{"password": testPassword}); r.Status != http.StatusTooManyRequests {
			t.Fatalf("wrong passwords are not throttled: %d", r.Status)
		}
	})
}
