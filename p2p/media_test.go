package p2p_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func mediaIDOf(b []byte) node.MediaID {
	sum := sha256.Sum256(b)
	return node.MediaID(base64.RawURLEncoding.EncodeToString(sum[:]))
}

func upload(t *testing.T, n *p2ptest.Node, u node.UserID, b []byte) *node.Media {
	t.Helper()
	m, err := n.Node.Upload(bg, u, node.UploadParams{Name: "f.bin", Length: int64(len(b)), Body: bytes.NewReader(b)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sendAttachment(t *testing.T, n *p2ptest.Node, u node.UserID, room node.RoomID, id node.MediaID) *node.Message {
	t.Helper()
	m, err := n.Node.Send(bg, u, node.SendParams{Room: room, Attachments: []json.RawMessage{json.RawMessage(`{"id":"` + string(id) + `"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func read(n *p2ptest.Node, u node.UserID, id node.MediaID) ([]byte, error) {
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	_, f, err := n.Node.OpenMedia(ctx, u, id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// TestMediaAcrossNodes: a file attached on A is read by a user on C (a
// line A–B–C), fetched and checked against its ID; with A stopped, a
// user on a fourth node D still gets it, from C's copy.
func TestMediaAcrossNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, ub, uc := a.User(t, "alice"), b.User(t, "bob"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "photos", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, b, ub, room.ID)
	mustJoin(t, c, uc, room.ID)
	body := randomBytes(300 << 10)
	m := upload(t, a, ua, body)
	msg := sendAttachment(t, a, ua, room.ID, m.ID)
	p2ptest.WaitFor(t, 15*time.Second, func() error { return c.Notes.HasMessage(uc, msg.ID) })
	got, err := read(c, uc, m.ID)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("carol on C reads the file: %d bytes, %v", len(got), err)
	}
	if !c.Files.Has(m.ID) {
		t.Fatal("C did not keep its copy")
	}
	// An avatar set on A is readable on C once A's profile arrives.
	pic := pngFile(t)
	face := upload(t, a, ua, pic)
	avatar := string(face.ID)
	if _, err := a.Node.UpdateMe(bg, ua, node.ProfileChange{Avatar: &avatar}); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		u, err := c.Node.User(bg, ua)
		if err != nil || u.Avatar != avatar {
			return fmt.Errorf("C sees alice's avatar as %v (%v)", u, err)
		}
		got, err := read(c, uc, face.ID)
		if err != nil || !bytes.Equal(got, pic) {
			return fmt.Errorf("carol reads alice's avatar: %v", err)
		}
		return nil
	})
	a.Stop()
	d := p2ptest.Start(t, "D", nil)
	p2ptest.Connect(t, d, c)
	ud := d.User(t, "dave")
	mustJoin(t, d, ud, room.ID)
	p2ptest.WaitFor(t, 20*time.Second, func() error {
		got, err := read(d, ud, m.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, body) {
			return errors.New("wrong bytes")
		}
		return nil
	})
}

// TestPrivateRoomMediaStaysWithMemberNodes: a node that hosts no member
// of a private room cannot fetch its files, even knowing their IDs.
func TestPrivateRoomMediaStaysWithMemberNodes(t *testing.T) {
	ns := p2ptest.Line(t, 3)
	a, b, c := ns[0], ns[1], ns[2]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "inner", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Node.Invite(bg, ua, room.ID, uc); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitFor(t, 15*time.Second, func() error { return roomNote(c, uc, room.ID) })
	if _, err := c.Node.Join(bg, uc, room.ID); err != nil {
		t.Fatal(err)
	}
	body := randomBytes(10 << 10)
	m := upload(t, a, ua, body)
	msg := sendAttachment(t, a, ua, room.ID, m.ID)
	p2ptest.WaitFor(t, 15*time.Second, func() error { return c.Notes.HasMessage(uc, msg.ID) })
	// C, a member node, fetches it.
	if got, err := read(c, uc, m.ID); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("member node: %v", err)
	}
	// B asks A (and C) directly, with the ID: refused by both.
	p2ptest.Connect(t, b, a)
	accept := func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
	err = b.Host.FetchMedia(bg, m.ID, []node.NodeID{a.Node.ID(), c.Node.ID()}, 1<<20, accept)
	if !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("B fetched a private room's file: %v", err)
	}
	if b.Files.Has(m.ID) {
		t.Fatal("B holds the file")
	}
}

// serveWrong makes a hostile host answer every media request with a file
// of the right size and the wrong bytes.
func serveWrong(x *hostile, size int) {
	x.host.SetStreamHandler("/hearth/media/1.0.0", func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 1024 {
			return
		}
		if _, err := io.ReadFull(r, make([]byte, n)); err != nil {
			return
		}
		hdr, _ := json.Marshal(map[string]int{"size": size})
		_, _ = s.Write(binary.AppendUvarint(nil, uint64(len(hdr))))
		_, _ = s.Write(hdr)
		_, _ = s.Write(randomBytes(size))
	})
}

// TestWrongMediaBytesRefusedAndPenalised: a node that sends bytes that
// do not match the ID is refused, penalised in its peer score and not
// asked again; the file comes from an honest node.
func TestWrongMediaBytesRefusedAndPenalised(t *testing.T) {
	ns := p2ptest.Line(t, 2)
	a, c := ns[0], ns[1]
	ua, uc := a.User(t, "alice"), c.User(t, "carol")
	room, err := a.Node.CreateRoom(bg, ua, "photos", "", node.Public)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, c, uc, room.ID)
	body := randomBytes(64 << 10)
	m := upload(t, a, ua, body)
	sendAttachment(t, a, ua, room.ID, m.ID)

	x := newHostile(t)
	serveWrong(x, len(body))
	x.connect(t, c)
	xid := node.NodeID(x.host.ID().String())
	var stored []byte
	verify := func(r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if mediaIDOf(b) != m.ID {
			return &node.Error{Kind: node.ErrInvalid, Message: "bytes do not match"}
		}
		stored = b
		return nil
	}
	if err := c.Host.FetchMedia(bg, m.ID, []node.NodeID{xid, a.Node.ID()}, 1<<20, verify); err != nil {
		t.Fatalf("fetch with a hostile node first: %v", err)
	}
	if !bytes.Equal(stored, body) {
		t.Fatal("took the wrong bytes")
	}
	p2ptest.WaitFor(t, 10*time.Second, func() error {
		if s, ok := c.Host.PeerScore(x.host.ID()); !ok || s >= -200 {
			return fmt.Errorf("hostile peer score %v (%v), want below the publish threshold", s, ok)
		}
		return nil
	})
	// It is not asked again.
	asked := false
	err = c.Host.FetchMedia(bg, m.ID, []node.NodeID{xid}, 1<<20, func(r io.Reader) error { asked = true; return verify(r) })
	if err == nil || asked {
		t.Fatalf("penalised node asked again: %v, asked %v", err, asked)
	}
	// A file over the limit is refused without reading it, and without
	// blaming an honest node.
	err = c.Host.FetchMedia(bg, m.ID, []node.NodeID{a.Node.ID()}, 1000, verify)
	if err == nil {
		t.Fatal("a file over the limit was taken")
	}
	if s, _ := c.Host.PeerScore(peer.ID(a.Host.ID())); s < 0 {
		t.Fatalf("honest node penalised: %v", s)
	}
}

func pngFile(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 24, 24))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
