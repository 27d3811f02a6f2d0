package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/store/memstore"
)

// clock is a wall clock tests move.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time              { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration)     { c.ms.Add(d.Milliseconds()) }
func newClock() *clock                       { c := &clock{}; c.ms.Store(time.Now().UnixMilli()); return c }
func pngBytes(t *testing.T, w, h int) []byte { return pngOf(t, w, h, 0) }

func pngOf(t *testing.T, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i) + seed
	}
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x) + seed, uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type mediaNode struct {
	*node.Node
	files *media.Store
	clock *clock
}

func newMediaNode(t *testing.T, tune func(*node.Config)) *mediaNode {
	t.Helper()
	files, err := media.Open(t.TempDir(), media.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	db := memstore.New()
	cfg := node.Config{
		Store: db, Key: mustKey(t), HashConcurrency: 4, Now: c.now,
		Media: files, MaxUpload: 1 << 20, UserQuota: 3 << 20, MediaGrace: time.Hour, MediaGCInterval: time.Hour,
	}
	if tune != nil {
		tune(&cfg)
	}
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); db.Close() })
	return &mediaNode{Node: n, files: files, clock: c}
}

func (n *mediaNode) upload(t *testing.T, u node.UserID, name string, b []byte) *node.Media {
	t.Helper()
	m, err := n.Upload(context.Background(), u, node.UploadParams{Name: name, Length: int64(len(b)), Body: bytes.NewReader(b)})
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return m
}

func attach(ids ...node.MediaID) []json.RawMessage {
	var out []json.RawMessage
	for _, id := range ids {
		out = append(out, json.RawMessage(fmt.Sprintf(`{"id":%q,"type":"text/html","size":1}`, id)))
	}
	return out
}

func canRead(n *mediaNode, u node.UserID, id node.MediaID) error {
	_, f, err := n.OpenMedia(context.Background(), u, id)
	if err == nil {
		f.Close()
	}
	return err
}

func TestUploadLimitsAndQuota(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice := mustRegister(t, n.Node, "alice")
	img := n.upload(t, alice, "../../etc/cat\x00.png", pngBytes(t, 64, 32))
	if img.Type != "image/png" || img.Width != 64 || img.Height != 32 || img.Blurhash == "" || img.Name != "cat.png" || !img.ID.Valid() {
		t.Fatalf("uploaded %+v", img)
	}
	// Past the upload limit, declared or streamed.
	big := bytes.Repeat([]byte("a"), 1<<20+1)
	if _, err := n.Upload(ctx, alice, node.UploadParams{Length: int64(len(big)), Body: bytes.NewReader(big)}); !errors.Is(err, node.ErrTooLarge) {
		t.Fatalf("declared over the limit: %v", err)
	}
	if _, err := n.Upload(ctx, alice, node.UploadParams{Length: -1, Body: bytes.NewReader(big)}); !errors.Is(err, node.ErrTooLarge) {
		t.Fatalf("streamed over the limit: %v", err)
	}
	// Quota: 3 MiB; each distinct file counts, the same file once.
	used, quota, _ := n.MediaUsage(ctx, alice)
	if used != img.Size || quota != 3<<20 {
		t.Fatalf("usage %d of %d", used, quota)
	}
	for i := range 3 {
		b := bytes.Repeat([]byte{byte('b' + i)}, 1<<20-2000)
		n.upload(t, alice, "", b)
		if i == 0 {
			n.upload(t, alice, "", b) // again: stored and charged once
			if again, _, _ := n.MediaUsage(ctx, alice); again != used+int64(len(b)) {
				t.Fatalf("usage after uploading a file twice = %d, want %d", again, used+int64(len(b)))
			}
		}
	}
	last := bytes.Repeat([]byte("z"), 10_000)
	if _, err := n.Upload(ctx, alice, node.UploadParams{Length: int64(len(last)), Body: bytes.NewReader(last)}); !errors.Is(err, node.ErrQuota) {
		t.Fatalf("declared past the quota: %v", err)
	}
	if _, err := n.Upload(ctx, alice, node.UploadParams{Length: -1, Body: bytes.NewReader(last)}); !errors.Is(err, node.ErrQuota) {
		t.Fatalf("streamed past the quota: %v", err)
	}
	// Another user's quota is their own.
	bob := mustRegister(t, n.Node, "bob")
	n.upload(t, bob, "", last)
	if n.files.TempFiles() != 0 {
		t.Fatal("refused uploads left temporary files")
	}
}

// blockingBody is an upload body that waits until released. Its first
// Read tells reading, so a test knows the upload holds its slot.
type blockingBody struct {
	reading chan<- struct{}
	once    *sync.Once
	release chan struct{}
}

func (b blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { b.reading <- struct{}{} })
	<-b.release
	return 0, io.EOF
}

func TestConcurrentUploadsPerUserCapped(t *testing.T) {
	n := newMediaNode(t, func(c *node.Config) { c.MaxUploadsPerUser = 2 })
	alice := mustRegister(t, n.Node, "alice")
	release := make(chan struct{})
	var wg sync.WaitGroup
	reading := make(chan struct{}, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := blockingBody{reading: reading, once: new(sync.Once), release: release}
			_, _ = n.Upload(context.Background(), alice, node.UploadParams{Length: -1, Body: body})
		}()
	}
	// Both uploads read their bodies, so both hold a slot: a third is
	// refused until one ends.
	<-reading
	<-reading
	_, err := n.Upload(context.Background(), alice, node.UploadParams{Length: 1, Body: bytes.NewReader([]byte("x"))})
	close(release)
	wg.Wait()
	if !errors.Is(err, node.ErrRateLimited) {
		t.Fatalf("third concurrent upload = %v, want ErrRateLimited", err)
	}
	// With the slots free again, an upload goes through.
	if _, err := n.Upload(context.Background(), alice, node.UploadParams{Length: 1, Body: bytes.NewReader([]byte("y"))}); err != nil {
		t.Fatalf("upload after the others ended: %v", err)
	}
}

func TestMediaAccessRule(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice, bob, carol := mustRegister(t, n.Node, "alice"), mustRegister(t, n.Node, "bob"), mustRegister(t, n.Node, "carol")
	secret := n.upload(t, alice, "secret.png", pngBytes(t, 8, 8))
	// Only the uploader may read an upload; anyone else, knowing the
	// hash or not, gets not found.
	if err := canRead(n, alice, secret.ID); err != nil {
		t.Fatal(err)
	}
	if err := canRead(n, bob, secret.ID); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("bob reads alice's upload: %v", err)
	}
	if err := canRead(n, bob, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	// Attached in a private room with carol: carol may read it, bob not.
	priv, err := n.CreateRoom(ctx, alice, "inner", "", node.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Invite(ctx, alice, priv.ID, carol); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, carol, priv.ID); err != nil {
		t.Fatal(err)
	}
	// Bob cannot attach what he cannot read.
	pub, _ := n.CreateRoom(ctx, bob, "square", "", node.Public)
	if _, err := n.Send(ctx, bob, node.SendParams{Room: pub.ID, Attachments: attach(secret.ID)}); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("bob attaches alice's upload: %v", err)
	}
	m, err := n.Send(ctx, alice, node.SendParams{Room: priv.ID, Body: "", Attachments: attach(secret.ID)})
	if err != nil {
		t.Fatalf("a message with an attachment and no body: %v", err)
	}
	var a node.Media
	if len(m.Attachments) != 1 || json.Unmarshal(m.Attachments[0], &a) != nil || a.Type != "image/png" || a.Size != secret.Size || a.Width != 8 || a.Name != "secret.png" {
		t.Fatalf("attachment carries %s, want the node's own metadata", m.Attachments)
	}
	if err := canRead(n, carol, secret.ID); err != nil {
		t.Fatalf("carol, a member, cannot read: %v", err)
	}
	if err := canRead(n, bob, secret.ID); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("bob, not a member, reads: %v", err)
	}
	// Carol may forward what she can read.
	if _, err := n.Send(ctx, carol, node.SendParams{Room: priv.ID, Body: "again", Attachments: attach(secret.ID)}); err != nil {
		t.Fatalf("forward: %v", err)
	}
	// A public room's attachment is readable by anyone on the node.
	open := n.upload(t, bob, "open.png", pngBytes(t, 9, 9))
	if _, err := n.Send(ctx, bob, node.SendParams{Room: pub.ID, Body: "look", Attachments: attach(open.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := canRead(n, carol, open.ID); err != nil {
		t.Fatalf("public attachment: %v", err)
	}
	// Attachments are checked: count, shape, duplicates.
	many := make([]node.MediaID, 11)
	for i := range many {
		many[i] = open.ID
	}
	for name, atts := range map[string][]json.RawMessage{
		"eleven":    attach(many...),
		"duplicate": attach(open.ID, open.ID),
		"not an id": {json.RawMessage(`{"id":"../../x"}`)},
		"not json":  {json.RawMessage(`"x"`)},
	} {
		if _, err := n.Send(ctx, bob, node.SendParams{Room: pub.ID, Body: "x", Attachments: atts}); !errors.Is(err, node.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// Avatars: an image anyone may then read; not a text file.
	txt := n.upload(t, bob, "a.txt", []byte("not a picture"))
	if _, err := n.UpdateMe(ctx, bob, node.ProfileChange{Avatar: ptr(string(txt.ID))}); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("text avatar: %v", err)
	}
	if _, err := n.UpdateMe(ctx, bob, node.ProfileChange{Avatar: ptr(string(secret.ID))}); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("bob sets alice's private file as avatar: %v", err)
	}
	face := n.upload(t, bob, "face.png", pngBytes(t, 16, 16))
	u, err := n.UpdateMe(ctx, bob, node.ProfileChange{Avatar: ptr(string(face.ID))})
	if err != nil || u.Avatar != string(face.ID) {
		t.Fatalf("avatar: %v %+v", err, u)
	}
	if err := canRead(n, alice, face.ID); err != nil {
		t.Fatalf("someone's avatar is readable: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMediaCollection(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice := mustRegister(t, n.Node, "alice")
	room, _ := n.CreateRoom(ctx, alice, "r", "", node.Public)
	loose := n.upload(t, alice, "", []byte("never attached"))
	kept := n.upload(t, alice, "", []byte("attached"))
	face := n.upload(t, alice, "", pngBytes(t, 4, 4))
	gone := n.upload(t, alice, "", []byte("attached, then deleted"))
	if _, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "a", Attachments: attach(kept.ID)}); err != nil {
		t.Fatal(err)
	}
	del, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Body: "b", Attachments: attach(gone.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.UpdateMe(ctx, alice, node.ProfileChange{Avatar: ptr(string(face.ID))}); err != nil {
		t.Fatal(err)
	}
	if err := n.Delete(ctx, alice, room.ID, del.ID); err != nil {
		t.Fatal(err)
	}
	// A file on disk without a record (a crash between rename and
	// record) goes too once it is older than the grace period.
	p, err := n.files.Write(ctx, bytes.NewReader([]byte("orphan")), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	// Within the grace period nothing goes.
	if removed, err := n.CollectMedia(ctx); err != nil || removed != 0 {
		t.Fatalf("collected %d within the grace period: %v", removed, err)
	}
	n.clock.advance(2 * time.Hour)
	removed, err := n.CollectMedia(ctx)
	if err != nil || removed != 3 {
		t.Fatalf("collected %d, want the loose upload, the deleted attachment and the orphan: %v", removed, err)
	}
	for id, want := range map[node.MediaID]bool{loose.ID: false, gone.ID: false, p.Info().ID: false, kept.ID: true, face.ID: true} {
		if n.files.Has(id) != want {
			t.Errorf("file %s stored = %v, want %v", id, !want, want)
		}
	}
	if err := canRead(n, alice, loose.ID); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("collected file still readable: %v", err)
	}
	used, _, _ := n.MediaUsage(ctx, alice)
	if used != kept.Size+face.Size {
		t.Errorf("usage after collection = %d, want %d", used, kept.Size+face.Size)
	}
}

// A remote message's attachments are checked and kept as this node
// reads them.
func TestRemoteAttachmentsAreCheckedAndIndexed(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice := mustRegister(t, n.Node, "alice")
	room, _ := n.CreateRoom(ctx, alice, "r", "", node.Public)
	other := newMediaNode(t, nil)
	bob := mustRegister(t, other.Node, "bob")
	signer := other.Signer()
	// The messages come a millisecond after the join, as a node's hybrid
	// clock would stamp them: events are judged at their place in room
	// order, and one that sorted before the join would be a non-member's.
	joined := time.Now().UnixMilli()
	join := &node.Event{Type: node.EventMember, Room: room.ID, Sender: bob, TS: joined, Content: json.RawMessage(fmt.Sprintf(`{"user":%q,"membership":"join"}`, bob))}
	if err := signer.Seal(join); err != nil {
		t.Fatal(err)
	}
	if err := n.Ingest(ctx, join); err != nil {
		t.Fatal(err)
	}
	id := node.MediaID("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
	send := func(atts string) error {
		e := &node.Event{Type: node.EventMessage, Room: room.ID, Sender: bob, TS: joined + 1,
			Content: json.RawMessage(`{"body":"","attachments":` + atts + `}`)}
		if err := signer.Seal(e); err != nil {
			t.Fatal(err)
		}
		return n.Ingest(ctx, e)
	}
	if err := send(`[{"id":"nope"}]`); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("remote attachment without a valid id: %v", err)
	}
	if err := send(`[{"id":"` + string(id) + `","type":"text/html; x","name":"\u202egnp.exe","size":5,"blurhash":"<script>"}]`); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := n.History(ctx, alice, room.ID, "", "", 1)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	var a node.Media
	_ = json.Unmarshal(msgs[0].Attachments[0], &a)
	if a.ID != id || a.Type != "application/octet-stream" || a.Name != "gnp.exe" || a.Blurhash != "" {
		t.Fatalf("remote attachment kept as %+v", a)
	}
	// Alice may read it (it is in her room); this node has no copy and
	// no fetcher, so it says not found rather than serve anything.
	if err := canRead(n, alice, id); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("unfetchable remote file: %v", err)
	}
}

// TestEncryptedRoomAttachments: in an end-to-end encrypted room the
// client uploads ciphertext; the node stores opaque bytes (no preview,
// nothing decoded) and the message names the file by ID, type and size
// only, whatever name the client or the upload gave it.
func TestEncryptedRoomAttachments(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice := mustRegister(t, n.Node, "alice")
	room, err := n.CreateRoomWith(ctx, alice, "sealed", "", node.Private, node.RoomOptions{Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	cipher := make([]byte, 4096)
	for i := range cipher {
		cipher[i] = byte(i*131 + i>>3)
	}
	up := n.upload(t, alice, "holiday.jpg", cipher)
	if up.Type != "application/octet-stream" || up.Width != 0 || up.Blurhash != "" {
		t.Fatalf("ciphertext stored as %+v", up)
	}
	enc := json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEhBx","session_id":"S"}`)
	m, err := n.Send(ctx, alice, node.SendParams{Room: room.ID, Encrypted: enc,
		Attachments: []json.RawMessage{json.RawMessage(`{"id":"` + string(up.ID) + `","name":"holiday.jpg"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	var a node.Media
	if len(m.Attachments) != 1 || json.Unmarshal(m.Attachments[0], &a) != nil || a.Name != "" || a.ID != up.ID || a.Size != up.Size {
		t.Fatalf("encrypted room attachment = %s", m.Attachments)
	}
	if err := canRead(n, alice, up.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := n.Thumbnail(ctx, alice, up.ID, 256, 256); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("thumbnail of ciphertext: %v", err)
	}
}

// A room's avatar is kept past the grace period and read by the room's
// readers; when it is replaced, the old one is collected.
func TestRoomAvatarMedia(t *testing.T) {
	ctx := context.Background()
	n := newMediaNode(t, nil)
	alice, bob := mustRegister(t, n.Node, "alice"), mustRegister(t, n.Node, "bob")
	room, _ := n.CreateRoom(ctx, alice, "r", "", node.Private)
	secret, _ := n.CreateRoom(ctx, alice, "s", "", node.Private)
	if err := n.Invite(ctx, alice, room.ID, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(ctx, bob, room.ID); err != nil {
		t.Fatal(err)
	}
	first, other := n.upload(t, alice, "", pngBytes(t, 4, 4)), n.upload(t, alice, "", pngBytes(t, 6, 6))
	if _, err := n.UpdateRoom(ctx, bob, room.ID, node.RoomPatch{Avatar: ptr(string(first.ID))}); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("bob sets a file he cannot read as the avatar: %v", err)
	}
	if _, err := n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Avatar: ptr(string(first.ID))}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.UpdateRoom(ctx, alice, secret.ID, node.RoomPatch{Avatar: ptr(string(other.ID))}); err != nil {
		t.Fatal(err)
	}
	if err := canRead(n, bob, first.ID); err != nil {
		t.Fatalf("a member reads the room's avatar: %v", err)
	}
	if err := canRead(n, bob, other.ID); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("a non-member reads a private room's avatar: %v", err)
	}
	n.clock.advance(2 * time.Hour)
	if _, err := n.CollectMedia(ctx); err != nil {
		t.Fatal(err)
	}
	if !n.files.Has(first.ID) {
		t.Fatal("the room's avatar was collected")
	}
	second := n.upload(t, alice, "", pngBytes(t, 5, 5))
	if _, err := n.UpdateRoom(ctx, alice, room.ID, node.RoomPatch{Avatar: ptr(string(second.ID))}); err != nil {
		t.Fatal(err)
	}
	n.clock.advance(2 * time.Hour)
	if _, err := n.CollectMedia(ctx); err != nil {
		t.Fatal(err)
	}
	if n.files.Has(first.ID) || !n.files.Has(second.ID) {
		t.Fatalf("after a new avatar: old stored %v, new stored %v", n.files.Has(first.ID), n.files.Has(second.ID))
	}
}
