package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hearth-chat/hearth/node"
)

var bg = context.Background()

func mustTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func write(t *testing.T, s *Store, b []byte, scrub bool) node.PendingMedia {
	t.Helper()
	p, err := s.Write(bg, bytes.NewReader(b), scrub)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return p
}

func idOf(b []byte) node.MediaID {
	sum := sha256.Sum256(b)
	return node.MediaID(base64.RawURLEncoding.EncodeToString(sum[:]))
}

func readAll(t *testing.T, s *Store, id node.MediaID) []byte {
	t.Helper()
	f, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteCommitOpen(t *testing.T) {
	s, _ := open(t)
	body := []byte("plain words for a text file\n")
	p := write(t, s, body, true)
	info := p.Info()
	if info.ID != idOf(body) || info.Size != int64(len(body)) || info.Type != "text/plain" {
		t.Fatalf("info = %+v", info)
	}
	if s.Has(info.ID) {
		t.Fatal("a pending file is in the store")
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if !s.Has(info.ID) || !bytes.Equal(readAll(t, s, info.ID), body) {
		t.Fatal("committed file not readable")
	}
	// The same bytes again: same ID, stored once.
	p2 := write(t, s, body, true)
	if p2.Info().ID != info.ID {
		t.Fatal("same bytes, different ID")
	}
	if err := p2.Commit(); err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = s.Each(func(node.MediaID, time.Time) bool { n++; return true })
	if n != 1 || s.TempFiles() != 0 {
		t.Fatalf("%d files, %d temp files after two uploads of one file", n, s.TempFiles())
	}
	if err := s.Remove(info.ID); err != nil || s.Has(info.ID) {
		t.Fatalf("remove: %v", err)
	}
	if err := s.Remove(info.ID); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := s.Open(info.ID); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("open removed: %v", err)
	}
}

func TestSniffIgnoresTheClient(t *testing.T) {
	s, _ := open(t)
	for name, c := range map[string]struct {
		body []byte
		want string
	}{
		"html":         {[]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "text/html"},
		"svg":          {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml"},
		"jpeg":         {encodeJPEG(t, 4, 4), "image/jpeg"},
		"png":          {encodePNG(t, 4, 4, false), "image/png"},
		"random":       {[]byte{0x93, 0x11, 0xfe, 0x07, 0x80, 0x00, 0xc3, 0x2a}, "application/octet-stream"},
		"empty":        {nil, "text/plain"},
		"pdf":          {[]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "application/pdf"},
		"gif polyglot": {append([]byte("GIF89a"), []byte("<html><script>alert(1)</script>")...), "image/gif"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := s.Write(bg, bytes.NewReader(c.body), true)
			if name == "gif polyglot" {
				// Its header is no sane GIF's: refused rather than stored
				// as an image that is none.
				if err == nil || !errors.Is(err, node.ErrInvalid) && !errors.Is(err, node.ErrTooLarge) {
					t.Fatalf("polyglot GIF: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Discard()
			if p.Info().Type != c.want {
				t.Errorf("type = %q, want %q", p.Info().Type, c.want)
			}
		})
	}
}

func TestWriteStripsLocationAndHashesWhatIsStored(t *testing.T) {
	s, _ := open(t)
	in := jpegWithMetadata(t, 60, 30, 6)
	p := write(t, s, in, true)
	info := p.Info()
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	stored := readAll(t, s, info.ID)
	if bytes.Contains(stored, []byte("SECRET")) || info.ID != idOf(stored) || info.Size != int64(len(stored)) {
		t.Fatalf("stored %d bytes, id %s, secrets kept: %v", len(stored), info.ID, bytes.Contains(stored, []byte("SECRET")))
	}
	// Orientation 6 turns the picture: displayed 30 wide, 60 high.
	if info.Width != 30 || info.Height != 60 || info.Type != "image/jpeg" || info.Blurhash == "" {
		t.Fatalf("info = %+v", info)
	}
	// A copy from another node keeps its bytes: same ID.
	p2 := write(t, s, stored, false)
	defer p2.Discard()
	if p2.Info().ID != info.ID || p2.Info().Width != 30 {
		t.Fatalf("verbatim copy = %+v", p2.Info())
	}
}

func TestDecompressionBombRefusedWithoutDecoding(t *testing.T) {
	s, _ := open(t)
	bomb := pngBomb(t, 20_000, 20_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := s.Write(bg, bytes.NewReader(bomb), true)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, node.ErrTooLarge) || !strings.Contains(err.Error(), "20000 × 20000") {
		t.Fatalf("bomb of %d bytes: %v", len(bomb), err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 32<<20 {
		t.Errorf("refusing the bomb allocated %d MiB", grown>>20)
	}
	if s.TempFiles() != 0 {
		t.Error("a refused upload left a temporary file")
	}
	// From another node (a fixed ID) it is kept, with no preview.
	p, err := s.Write(bg, bytes.NewReader(bomb), false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Discard()
	if i := p.Info(); i.Width != 0 || i.Blurhash != "" {
		t.Errorf("copied bomb info = %+v", i)
	}
}

func TestWriteFailuresLeaveNothing(t *testing.T) {
	s, dir := open(t)
	boom := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), 100_000)), iotest.ErrReader(boom))
	if _, err := s.Write(bg, r, true); !errors.Is(err, boom) {
		t.Fatalf("write = %v, want the reader's error", err)
	}
	if _, err := s.Write(bg, bytes.NewReader(encodeJPEG(t, 8, 8)[:200]), true); !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("truncated JPEG = %v, want ErrInvalid", err)
	}
	if s.TempFiles() != 0 {
		t.Fatal("failed writes left temporary files")
	}
	// A crash leaves temp files behind; Open removes them.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "leftover"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Config{})
	if err != nil || s2.TempFiles() != 0 {
		t.Fatalf("reopen: %v, %d temp files", err, s2.TempFiles())
	}
}

func TestThumbnails(t *testing.T) {
	s, _ := open(t)
	p := write(t, s, encodeJPEG(t, 2000, 1000), true)
	id := p.Info().ID
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	check := func(box, w, h int, typ string, id node.MediaID) {
		t.Helper()
		f, got, err := s.Thumbnail(bg, id, box)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cfg, format, err := image.DecodeConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width != w || cfg.Height != h || got != typ || "image/"+format != typ {
			t.Errorf("box %d: %dx%d %s (%s), want %dx%d %s", box, cfg.Width, cfg.Height, got, format, w, h, typ)
		}
	}
	check(256, 256, 128, "image/jpeg", id)
	if _, err := os.Stat(s.thumbPath(id, 256)); err != nil {
		t.Fatal("thumbnail not cached")
	}
	check(256, 256, 128, "image/jpeg", id) // from the cache
	// Never enlarged; transparency kept as PNG.
	p = write(t, s, encodePNG(t, 40, 20, true), true)
	small := p.Info().ID
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	check(512, 40, 20, "image/png", small)
	// Orientation applies: a 60×30 JPEG turned by EXIF 6 previews 30×60.
	p = write(t, s, jpegWithMetadata(t, 60, 30, 6), true)
	turned := p.Info().ID
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	check(1024, 30, 60, "image/jpeg", turned)
	if err := s.Remove(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.thumbPath(id, 256)); !os.IsNotExist(err) {
		t.Error("removing a file left its thumbnails")
	}
}
