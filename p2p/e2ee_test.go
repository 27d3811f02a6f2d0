package p2p_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/internal/devicetest"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

// keyUser is a user with one device whose keys are published.
type keyUser struct {
	n   *p2ptest.Node
	id  node.UserID
	dev node.DeviceID
	d   *devicetest.Device
}

func newKeyUser(t *testing.T, n *p2ptest.Node, name string, otks int) *keyUser {
	t.Helper()
	u := n.User(t, name)
	s, _, err := n.Node.NewSession(bg, u, "")
	if err != nil {
		t.Fatal(err)
	}
	ku := &keyUser{n: n, id: u, dev: s.DeviceID, d: devicetest.New(node.MatrixUserID(u), string(s.DeviceID))}
	_, err = n.Node.UploadKeys(bg, u, s.DeviceID, &node.KeysUploadRequest{
		DeviceKeys: ku.d.DeviceKeys(), OneTimeKeys: ku.d.OneTimeKeys(otks), FallbackKeys: ku.d.FallbackKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ku
}

// TestOneTimeKeysClaimedOnceAcrossNodes: three nodes claim the one-time
// keys of a device on a fourth at the same time, over real libp2p
// streams to its Badger store; each key is handed out exactly once, and
// when they are gone every claim gets the fallback key.
func TestOneTimeKeysClaimedOnceAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 4)
	for _, n := range ns[2:] {
		p2ptest.Connect(t, n, ns[0])
	}
	const keys = 30
	alice := newKeyUser(t, ns[0], "alice", keys)
	claimers := []node.UserID{ns[1].User(t, "bob"), ns[2].User(t, "carol"), ns[3].User(t, "dave")}
	req := &node.KeysClaimRequest{OneTimeKeys: map[string]map[string]string{
		node.MatrixUserID(alice.id): {string(alice.dev): node.SignedCurve25519},
	}}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i, c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				resp, err := ns[i+1].Node.ClaimKeys(bg, c, req)
				if err != nil || len(resp.Failures) > 0 {
					t.Errorf("claim from %s: %v %v", ns[i+1].Name, err, resp)
					return
				}
				for id := range resp.OneTimeKeys[node.MatrixUserID(alice.id)][string(alice.dev)] {
					mu.Lock()
					got[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	fallback := 0
	for id, c := range got {
		if len(id) > len("signed_curve25519:FB") && id[:len("signed_curve25519:FB")] == "signed_curve25519:FB" {
			fallback += c
			continue
		}
		if c != 1 {
			t.Errorf("one-time key %s handed out %d times", id, c)
		}
	}
	if len(got)-1 != keys || fallback != 45-keys {
		t.Fatalf("%d distinct keys (%d fallback answers), want %d one-time keys and %d fallbacks", len(got), fallback, keys, 45-keys)
	}
	counts, unused, err := ns[0].Node.KeyCounts(bg, alice.id, alice.dev)
	if err != nil || counts[node.SignedCurve25519] != 0 || len(unused) != 0 {
		t.Fatalf("after the claims: counts %v, unused fallback %v, %v", counts, unused, err)
	}
	// A new fallback key is unused until claimed.
	if _, err := ns[0].Node.UploadKeys(bg, alice.id, alice.dev, &node.KeysUploadRequest{FallbackKeys: alice.d.FallbackKey()}); err != nil {
		t.Fatal(err)
	}
	if _, unused, _ := ns[0].Node.KeyCounts(bg, alice.id, alice.dev); !slices.Equal(unused, []string{node.SignedCurve25519}) {
		t.Fatalf("unused fallback after upload: %v", unused)
	}
}

// TestDeviceListsAcrossNodes: a user's new device reaches, as a
// device-list entry, the users of other nodes who share an encrypted
// room with them, and the remote query then returns it.
func TestDeviceListsAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	alice := newKeyUser(t, a, "alice", 5)
	bob := newKeyUser(t, b, "bob", 5)
	carol := newKeyUser(t, c, "carol", 5) // shares no encrypted room with bob
	room, err := a.Node.CreateRoomWith(bg, alice.id, "secret", "", node.Private, node.RoomOptions{Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Node.Invite(bg, alice.id, room.ID, bob.id); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error { return roomNote(b, bob.id, room.ID) })
	if _, err := b.Node.Join(bg, bob.id, room.ID); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if s, ok := a.Node.RoomState(room.ID); !ok || !s.IsMember(bob.id) || !s.Encrypted {
			return errors.New("a does not see bob joined to the encrypted room")
		}
		return nil
	})
	// Bob logs in on a second device and publishes its keys.
	s2, _, err := b.Node.NewSession(bg, bob.id, "")
	if err != nil {
		t.Fatal(err)
	}
	d2 := devicetest.New(node.MatrixUserID(bob.id), string(s2.DeviceID))
	if _, err := b.Node.UploadKeys(bg, bob.id, s2.DeviceID, &node.KeysUploadRequest{DeviceKeys: d2.DeviceKeys()}); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		changed, _, _, err := a.Node.DeviceListInbox(bg, alice.id, alice.dev, 0, 100)
		if err != nil || !slices.Contains(changed, bob.id) {
			return fmt.Errorf("alice's device-list entries: %v %v", changed, err)
		}
		return nil
	})
	resp, err := a.Node.QueryKeys(bg, alice.id, &node.KeysQueryRequest{DeviceKeys: map[string][]string{node.MatrixUserID(bob.id): {}}})
	if err != nil || len(resp.DeviceKeys[node.MatrixUserID(bob.id)]) != 2 {
		t.Fatalf("alice's query of bob: %v %v", resp, err)
	}
	// Carol shares no encrypted room with bob: no entry about him.
	changed, _, _, _ := c.Node.DeviceListInbox(bg, carol.id, carol.dev, 0, 100)
	if slices.Contains(changed, bob.id) {
		t.Fatal("carol was told of bob's devices without sharing a room")
	}
	// Bob leaves: alice hears he is gone.
	if err := b.Node.Leave(bg, bob.id, room.ID); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error {
		_, left, _, err := a.Node.DeviceListInbox(bg, alice.id, alice.dev, 0, 100)
		if err != nil || !slices.Contains(left, bob.id) {
			return fmt.Errorf("alice's left entries: %v %v", left, err)
		}
		return nil
	})
}

// TestToDeviceAcrossNodes: to-device messages for another node's user
// go through the outbox and arrive once each, also when the receiving
// node restarts before it could be reached, and a repeated txnId
// delivers nothing again.
func TestToDeviceAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	alice := newKeyUser(t, a, "alice", 1)
	bob := newKeyUser(t, b, "bob", 1)
	send := func(txn string, i int) {
		t.Helper()
		err := a.Node.SendToDevice(bg, alice.id, alice.dev, "m.room.encrypted", txn, map[string]map[string]json.RawMessage{
			node.MatrixUserID(bob.id): {"*": json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b.Stop()
	for i := range 10 {
		send(fmt.Sprint("txn", i), i)
	}
	send("txn3", 3) // a retry of the same request
	if c := a.Node.OutboxLen(bg, b.Node.ID()); c != 10 {
		t.Fatalf("outbox holds %d, want 10", c)
	}
	b.Restart()
	p2ptest.Connect(t, b, a)
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		evs, _, err := b.Node.ToDeviceInbox(bg, bob.id, bob.dev, 0, 100, 1<<20)
		if err != nil || len(evs) < 10 {
			return fmt.Errorf("bob has %d messages: %v", len(evs), err)
		}
		return nil
	})
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if c := a.Node.OutboxLen(bg, b.Node.ID()); c != 0 {
			return fmt.Errorf("outbox still holds %d", c)
		}
		return nil
	})
	evs, last, _ := b.Node.ToDeviceInbox(bg, bob.id, bob.dev, 0, 100, 1<<20)
	seen := map[string]int{}
	for _, e := range evs {
		seen[string(e.Content)]++
		if e.Sender != node.MatrixUserID(alice.id) || e.Type != "m.room.encrypted" {
			t.Fatalf("event %+v", e)
		}
	}
	if len(seen) != 10 || len(evs) != 10 {
		t.Fatalf("bob got %d messages (%d distinct): %v", len(evs), len(seen), seen)
	}
	if err := b.Node.AckToDevice(bg, bob.id, bob.dev, last); err != nil {
		t.Fatal(err)
	}
	if evs, _, _ := b.Node.ToDeviceInbox(bg, bob.id, bob.dev, 0, 100, 1<<20); len(evs) != 0 {
		t.Fatalf("after the ack %d messages remain", len(evs))
	}
}

// TestPlaintextRefusedInEncryptedRoom: a body in an encrypted room is
// refused from a local user and from another node (a signed event that
// a node could relay), while the encrypted content is carried.
func TestPlaintextRefusedInEncryptedRoom(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	ua, ub := a.User(t, "alice"), b.User(t, "bob")
	dm, err := a.Node.DMWith(bg, ua, ub, node.RoomOptions{Encrypted: true})
	if err != nil || !dm.Encrypted {
		t.Fatalf("dm: %v %v", dm, err)
	}
	if _, err := a.Node.Send(bg, ua, node.SendParams{Room: dm.ID, Body: "secret in the clear"}); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("plaintext send in an encrypted DM: %v", err)
	}
	enc := json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEnA","session_id":"s1","device_id":"D"}`)
	m, err := a.Node.Send(bg, ua, node.SendParams{Room: dm.ID, Encrypted: enc})
	if err != nil || m.Body != "" || string(m.Encrypted) != string(enc) {
		t.Fatalf("encrypted send: %+v %v", m, err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error { return b.Notes.HasMessage(ub, m.ID) })
	// A node that signs a plaintext message into the room is refused.
	c, _ := json.Marshal(node.MessageContent{Body: "leaked"})
	e := &node.Event{Type: node.EventMessage, Room: dm.ID, Sender: ub, Content: c, TS: time.Now().UnixMilli()}
	if err := b.Node.Signer().Seal(e); err != nil {
		t.Fatal(err)
	}
	if err := a.Node.Ingest(bg, e); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("remote plaintext event: %v", err)
	}
	// And encryption never goes off.
	off, _ := json.Marshal(node.EncryptionContent{Algorithm: "none"})
	e = &node.Event{Type: node.EventEncryption, Room: dm.ID, Sender: ub, Content: off, TS: time.Now().UnixMilli()}
	if err := b.Node.Signer().Seal(e); err != nil {
		t.Fatal(err)
	}
	if err := a.Node.Ingest(bg, e); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("turning encryption off: %v", err)
	}
}

// TestForeignKeyAnswerRefused: a node that answers a key query with
// keys of users it does not host is refused whole (a failure), and none
// of its keys reach the client.
func TestForeignKeyAnswerRefused(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, b := ns[0], ns[1]
	alice := newKeyUser(t, a, "alice", 1)
	bob := newKeyUser(t, b, "bob", 1)
	// A hostile node that answers every query with bob's keys.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	mallory := node.NewUserID("mallory", node.NodeID(h.ID().String()))
	answer, _ := json.Marshal(map[string]any{"keys": node.KeyQueryResult{
		DeviceKeys: map[node.UserID]map[node.DeviceID]json.RawMessage{bob.id: {bob.dev: bob.d.DeviceKeys()}},
	}})
	h.SetStreamHandler("/hearth/e2ee/1.0.0", func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		if size, err := binary.ReadUvarint(r); err == nil {
			_, _ = r.Discard(int(size))
		}
		var hdr [binary.MaxVarintLen64]byte
		_, _ = s.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(answer)))])
		_, _ = s.Write(answer)
	})
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if err := a.Host.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	resp, err := a.Node.QueryKeys(bg, alice.id, &node.KeysQueryRequest{DeviceKeys: map[string][]string{node.MatrixUserID(mallory): {}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, failed := resp.Failures[h.ID().String()]; !failed || len(resp.DeviceKeys) != 0 {
		t.Fatalf("answer for a foreign user accepted: %+v", resp)
	}
}
