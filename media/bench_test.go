package media_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p/p2ptest"
	"github.com/hearth-chat/hearth/store"
)

// The media figures of `make bench` (bench/cmd/hearth-bench-suite runs
// this package): upload throughput beside raw disk writes on the same
// machine, thumbnail time, and a 10 MB file fetched across one and two
// hops of real libp2p hosts.

const benchFile = 10 << 20

func randomFile(b *testing.B, n int) []byte {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return buf
}

// BenchmarkRawDiskWrite is the floor: write 10 MB to a new file in the
// same kind of directory, fsync, close.
func BenchmarkRawDiskWrite(b *testing.B) {
	dir := b.TempDir()
	buf := randomFile(b, benchFile)
	b.SetBytes(benchFile)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkUpload is a user's upload of a 10 MB file through the domain:
// quota, streaming to a temporary file with sniffing and hashing, fsync,
// rename, and the record in Badger, synced.
func BenchmarkUpload(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	files, err := media.Open(b.TempDir(), media.Config{})
	if err != nil {
		b.Fatal(err)
	}
	key := mustKey(b)
	n, err := node.New(ctx, node.Config{Store: db, Key: key, Media: files, UserQuota: 1 << 40, HashConcurrency: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	u, err := n.Register(ctx, "bench", "password123", "")
	if err != nil {
		b.Fatal(err)
	}
	buf := randomFile(b, benchFile)
	b.SetBytes(benchFile)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf[0], buf[1] = byte(i), byte(i>>8) // a new file each time
		if _, err := n.Upload(ctx, u.ID, node.UploadParams{Length: benchFile, Body: bytes.NewReader(buf)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThumbnail makes a 512-pixel preview of a 12-megapixel photo
// (decode, scale, encode, write), the cache emptied each time.
func BenchmarkThumbnail(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	files, err := media.Open(dir, media.Config{})
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i ^ i>>7)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i>>3), uint8(i>>5)
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	p, err := files.Write(ctx, bytes.NewReader(photo.Bytes()), true)
	if err != nil {
		b.Fatal(err)
	}
	id := p.Info().ID
	if err := p.Commit(); err != nil {
		b.Fatal(err)
	}
	thumb := filepath.Join(dir, "thumbs", string(id[:2]), string(id)+"-512")
	b.ReportAllocs()
	for b.Loop() {
		_ = os.Remove(thumb)
		f, _, err := files.Thumbnail(ctx, id, 512)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(float64(photo.Len())/(1<<20), "MB-source")
}

// BenchmarkFetch10MB reads a 10 MB file attached on A from a user of
// another node: hops=1 fetches it from A to B; hops=2 then has a user of
// C, which is connected to B only, read it from B. Each iteration is a
// new file (its upload and message are not timed).
func BenchmarkFetch10MB(b *testing.B) {
	for _, hops := range []int{1, 2} {
		b.Run("hops="+string(rune('0'+hops)), func(b *testing.B) {
			ns := p2ptest.LineWith(b, 3, p2ptest.Relayed)
			a, mid, c := ns[0], ns[1], ns[2]
			ua, um, uc := a.User(b, "alice"), mid.User(b, "bob"), c.User(b, "carol")
			ctx := context.Background()
			room, err := a.Node.CreateRoom(ctx, ua, "files", "", node.Public)
			if err != nil {
				b.Fatal(err)
			}
			for _, j := range []struct {
				n *p2ptest.Node
				u node.UserID
			}{{mid, um}, {c, uc}} {
				p2ptest.WaitFor(b, 30*time.Second, func() error { _, err := j.n.Node.Join(ctx, j.u, room.ID); return err })
			}
			buf := randomFile(b, benchFile)
			b.SetBytes(benchFile)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				buf[0], buf[1] = byte(i), byte(i>>8)
				m, err := a.Node.Upload(ctx, ua, node.UploadParams{Length: benchFile, Body: bytes.NewReader(buf)})
				if err != nil {
					b.Fatal(err)
				}
				msg, err := a.Node.Send(ctx, ua, node.SendParams{Room: room.ID, Attachments: []json.RawMessage{json.RawMessage(`{"id":"` + string(m.ID) + `"}`)}})
				if err != nil {
					b.Fatal(err)
				}
				for _, j := range []struct {
					n *p2ptest.Node
					u node.UserID
				}{{mid, um}, {c, uc}} {
					p2ptest.WaitFor(b, 30*time.Second, func() error { return j.n.Notes.HasMessage(j.u, msg.ID) })
				}
				b.StartTimer()
				read(b, mid, um, m.ID)
				if hops == 2 {
					// C asks B alone: the second hop.
					err := c.Host.FetchMedia(ctx, m.ID, []node.NodeID{mid.Node.ID()}, 1<<30, func(r io.Reader) error {
						p, err := c.Files.Write(ctx, r, false)
						if err != nil {
							return err
						}
						return p.Commit()
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func read(b *testing.B, n *p2ptest.Node, u node.UserID, id node.MediaID) {
	_, f, err := n.Node.OpenMedia(context.Background(), u, id)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func mustKey(b *testing.B) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
