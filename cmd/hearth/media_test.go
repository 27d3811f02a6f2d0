package main

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/hearth-chat/hearth/internal/poll"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mediaObj is the API's Media object.
type mediaObj struct {
	ID, Type, Name string
	Size           int64
	Width, Height  int
	Blurhash       string
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (c *apiClient) raw(t *testing.T, method, path, token string, body io.Reader, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return httpResult{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, b}
}

func (c *apiClient) upload(t *testing.T, token, name, typ string, b []byte) mediaObj {
	t.Helper()
	r := c.raw(t, "POST", "/api/v1/media?name="+name, token, bytes.NewReader(b), map[string]string{"Content-Type": typ})
	if r.status != 201 {
		t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
	var m mediaObj
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func errCode(r httpResult) string {
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func testImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	_, _ = rand.Read(img.Pix) // incompressible: a realistic size
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, typ...), data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngBomb is a valid w×h greyscale PNG, one bit a pixel, all black:
// a few tens of KiB that decode to w×h bytes.
func pngBomb(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(h))
	b.Write(pngChunk("IHDR", append(ihdr, 1, 0, 0, 0, 0)))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, 1+(w+7)/8)
	for range h {
		zw.Write(row)
	}
	zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func buildHearth(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestMediaProcess runs the real binary: upload and download with Range,
// the size limit and the quota, a polyglot served as a download, a
// decompression bomb refused with the process's memory staying low, a
// kill -9 in the middle of an upload leaving no partial file, and the
// collection of unreferenced files.
func TestMediaProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildHearth(t)
	data := t.TempDir()
	flags := []string{"--name", "media", "--max-upload", "2MiB", "--user-quota", "5MiB", "--media-grace", "3s"}
	p := startServe(t, bin, data, flags...)
	c := &apiClient{base: "http://" + p.http}
	alice, bob := c.register(t, "alice"), c.register(t, "bob")
	blobs := filepath.Join(data, "media", "blobs")
	outer := t // a process restarted in a subtest lives as long as the test

	img := testImage(t, 100, 60)
	pic := c.upload(t, alice.AccessToken, "pic.png", "image/png", img)
	if pic.Type != "image/png" || pic.Width != 100 || pic.Height != 60 || pic.Size != int64(len(img)) || pic.Blurhash == "" {
		t.Fatalf("uploaded %+v", pic)
	}
	r := c.raw(t, "GET", "/api/v1/media/"+pic.ID, alice.AccessToken, nil, map[string]string{"Range": "bytes=100-"})
	if r.status != 206 || !bytes.Equal(r.body, img[100:]) || r.header.Get("ETag") != `"`+pic.ID+`"` {
		t.Fatalf("range download: %d, %d bytes", r.status, len(r.body))
	}
	if r := c.raw(t, "GET", "/api/v1/media/"+pic.ID, bob.AccessToken, nil, nil); r.status != 404 {
		t.Fatalf("bob reads alice's unattached upload: %d", r.status)
	}
	// Attached, it is kept past the (short) grace period, and bob, in
	// the room, may read it.
	var room struct{ ID string }
	c.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]string{"name": "keep", "visibility": "public"}, 201, &room)
	c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken,
		map[string]any{"body": "", "attachments": []map[string]string{{"id": pic.ID}}}, 201, nil)
	if r := c.raw(t, "GET", "/api/v1/media/"+pic.ID, bob.AccessToken, nil, nil); r.status != 200 {
		t.Fatalf("bob reads an attachment of a public room: %d", r.status)
	}

	t.Run("413 past the limit, quota", func(t *testing.T) {
		big := make([]byte, 2<<20+1)
		if r := c.raw(t, "POST", "/api/v1/media?name=big", bob.AccessToken, bytes.NewReader(big), nil); r.status != 413 || errCode(r) != "too_large" {
			t.Fatalf("over the limit: %d %s", r.status, r.body)
		}
		for i := range 2 {
			chunk := bytes.Repeat([]byte{byte(i + 1)}, 2<<20)
			c.upload(t, bob.AccessToken, "part", "application/octet-stream", chunk)
		}
		r := c.raw(t, "POST", "/api/v1/media?name=more", bob.AccessToken, bytes.NewReader(make([]byte, 1<<20+512<<10)), nil)
		if r.status != 413 || errCode(r) != "quota_exceeded" {
			t.Fatalf("past the quota: %d %s", r.status, r.body)
		}
	})

	t.Run("polyglot served as a download", func(t *testing.T) {
		html := []byte("<!doctype html><html><script>fetch('/api/v1/me')</script><img src=x></html>")
		m := c.upload(t, alice.AccessToken, "cat.png", "image/png", html)
		r := c.raw(t, "GET", "/api/v1/media/"+m.ID, alice.AccessToken, nil, nil)
		if strings.HasPrefix(m.Type, "image/") || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("polyglot %+v served with %v", m, r.header)
		}
	})

	t.Run("20000 × 20000 PNG refused, memory bounded", func(t *testing.T) {
		bomb := pngBomb(20_000, 20_000)
		before := peakRSS(t, p.cmd.Process.Pid)
		r := c.raw(t, "POST", "/api/v1/media?name=bomb.png", alice.AccessToken, bytes.NewReader(bomb), map[string]string{"Content-Type": "image/png"})
		if r.status != 413 || !strings.Contains(string(r.body), "20000 × 20000") {
			t.Fatalf("bomb of %d KiB: %d %s", len(bomb)>>10, r.status, r.body)
		}
		after := peakRSS(t, p.cmd.Process.Pid)
		// Decoding it would take 400 MB (a byte a pixel).
		if after > 200<<20 || after-before > 32<<20 {
			t.Fatalf("peak RSS %d MiB (was %d MiB) after the bomb", after>>20, before>>20)
		}
		t.Logf("bomb of %d KiB refused; peak RSS %d MiB before, %d MiB after", len(bomb)>>10, before>>20, after>>20)
	})

	t.Run("kill -9 mid-upload leaves no partial file", func(t *testing.T) {
		files := countFiles(t, blobs)
		pr, pw := io.Pipe()
		done := make(chan httpResult, 1)
		go func() {
			req, _ := http.NewRequest("POST", c.base+"/api/v1/media?name=half", pr)
			req.Header.Set("Authorization", "Bearer "+alice.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- httpResult{status: -1}
				return
			}
			resp.Body.Close()
			done <- httpResult{status: resp.StatusCode}
		}()
		go func() {
			chunk := bytes.Repeat([]byte("partial "), 8<<10)
			for range 8 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			// Then stall: the upload is in progress when the kill comes.
		}()
		tmp := filepath.Join(data, "media", "tmp")
		poll.Until(t, 10*time.Second, func() error {
			if n := countFiles(t, tmp); n == 0 {
				return fmt.Errorf("no temporary file yet")
			}
			return nil
		})
		p.kill(t)
		pw.CloseWithError(io.ErrClosedPipe)
		<-done
		if n := countFiles(t, blobs); n != files {
			t.Fatalf("%d stored files after the kill, want %d", n, files)
		}
		p = startServe(outer, bin, data, flags...)
		c.base = "http://" + p.http
		if n := countFiles(t, tmp); n != 0 {
			t.Fatalf("%d temporary files after restart", n)
		}
		// What was stored before the kill is still there.
		if r := c.raw(t, "GET", "/api/v1/media/"+pic.ID, alice.AccessToken, nil, nil); r.status != 200 || !bytes.Equal(r.body, img) {
			t.Fatalf("after restart: %d", r.status)
		}
	})

	t.Run("unreferenced files are collected after the grace period", func(t *testing.T) {
		kept := c.upload(t, alice.AccessToken, "kept.png", "image/png", testImage(t, 20, 20))
		loose := c.upload(t, alice.AccessToken, "loose.txt", "text/plain", []byte("nobody will attach this"))
		c.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken,
			map[string]any{"body": "", "attachments": []map[string]string{{"id": kept.ID}}}, 201, nil)
		poll.Until(t, 20*time.Second, func() error {
			if r := c.raw(t, "GET", "/api/v1/media/"+loose.ID, alice.AccessToken, nil, nil); r.status != 404 {
				return fmt.Errorf("loose upload still served: %d", r.status)
			}
			if _, err := os.Stat(filepath.Join(blobs, loose.ID[:2], loose.ID)); !os.IsNotExist(err) {
				return fmt.Errorf("loose file still on disk")
			}
			return nil
		})
		// The grace period has passed for everything uploaded before.
		for _, id := range []string{kept.ID, pic.ID} {
			if r := c.raw(t, "GET", "/api/v1/media/"+id, bob.AccessToken, nil, nil); r.status != 200 {
				t.Fatalf("an attached file was collected: %d", r.status)
			}
		}
	})
}

// TestMediaFederationProcesses: an image attached on A is shown to a
// user on C (A–B–C in a line); with A killed, a user on a fourth node D
// still gets it from B or C; a user on a node outside a private room
// cannot read its files.
func TestMediaFederationProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs four binaries")
	}
	bin := buildHearth(t)
	dir := t.TempDir()
	a := startPeer(t, bin, filepath.Join(dir, "A"))
	b := startPeer(t, bin, filepath.Join(dir, "B"), a.p2p[0])
	c := startPeer(t, bin, filepath.Join(dir, "C"), b.p2p[0])
	var d *fedProc
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []*fedProc{a, b, c, d} {
				if p != nil {
					t.Logf("%s logs:\n%s", p.data, tail(p.stderr.String(), 3000))
				}
			}
		}
	})
	alice, bob, carol := a.api.register(t, "alice"), b.api.register(t, "bob"), c.api.register(t, "carol")
	var room struct{ ID string }
	a.api.mustDo(t, "POST", "/api/v1/rooms", alice.AccessToken, map[string]string{"name": "photos", "visibility": "public"}, 201, &room)
	for _, j := range []struct {
		p   *fedProc
		tok string
	}{{b, bob.AccessToken}, {c, carol.AccessToken}} {
		poll.Until(t, 20*time.Second, func() error {
			if code, err := j.p.api.try("POST", "/api/v1/rooms/"+room.ID+"/join", j.tok, nil, nil); code != 200 {
				return fmt.Errorf("join on %s: %d %v", j.p.node, code, err)
			}
			return nil
		})
	}
	img := testImage(t, 400, 300)
	pic := a.api.upload(t, alice.AccessToken, "view.png", "image/png", img)
	var msg struct{ ID string }
	a.api.mustDo(t, "POST", "/api/v1/rooms/"+room.ID+"/messages", alice.AccessToken,
		map[string]any{"body": "look", "attachments": []map[string]string{{"id": pic.ID}}}, 201, &msg)

	get := func(p *fedProc, tok, path string) error {
		r := p.api.raw(t, "GET", path, tok, nil, nil)
		if r.status != 200 {
			return fmt.Errorf("GET %s on %s: %d %s", path, p.data, r.status, r.body)
		}
		if strings.HasSuffix(path, pic.ID) && !bytes.Equal(r.body, img) {
			return fmt.Errorf("wrong bytes on %s", p.data)
		}
		return nil
	}
	poll.Until(t, 30*time.Second, func() error {
		if !strings.Contains(strings.Join(c.api.history(t, carol.AccessToken, room.ID), ","), msg.ID) {
			return fmt.Errorf("C lacks the message")
		}
		return get(c, carol.AccessToken, "/api/v1/media/"+pic.ID)
	})
	if err := get(c, carol.AccessToken, "/api/v1/media/"+pic.ID+"/thumbnail?w=256&h=256"); err != nil {
		t.Fatal(err)
	}

	a.kill(t)
	d = startPeer(t, bin, filepath.Join(dir, "D"), c.p2p[0], b.p2p[0])
	dave := d.api.register(t, "dave")
	poll.Until(t, 30*time.Second, func() error {
		if code, err := d.api.try("POST", "/api/v1/rooms/"+room.ID+"/join", dave.AccessToken, nil, nil); code != 200 {
			return fmt.Errorf("join on D: %d %v", code, err)
		}
		return nil
	})
	poll.Until(t, 60*time.Second, func() error { return get(d, dave.AccessToken, "/api/v1/media/"+pic.ID) })

	// A private room of carol's (C) and dave's (D): B hosts no member and
	// its user cannot read the file, even with its ID.
	var priv struct{ ID string }
	c.api.mustDo(t, "POST", "/api/v1/rooms", carol.AccessToken, map[string]any{"name": "inner", "visibility": "private", "encrypted": false}, 201, &priv)
	c.api.mustDo(t, "POST", "/api/v1/rooms/"+priv.ID+"/invite", carol.AccessToken, map[string]string{"userId": "dave@" + d.node}, 204, nil)
	poll.Until(t, 20*time.Second, func() error {
		if code, err := d.api.try("POST", "/api/v1/rooms/"+priv.ID+"/join", dave.AccessToken, nil, nil); code != 200 {
			return fmt.Errorf("dave joins: %d %v", code, err)
		}
		return nil
	})
	secret := testImage(t, 50, 50)
	sp := c.api.upload(t, carol.AccessToken, "secret.png", "image/png", secret)
	c.api.mustDo(t, "POST", "/api/v1/rooms/"+priv.ID+"/messages", carol.AccessToken,
		map[string]any{"attachments": []map[string]string{{"id": sp.ID}}}, 201, nil)
	poll.Until(t, 30*time.Second, func() error { return get(d, dave.AccessToken, "/api/v1/media/"+sp.ID) })
	if r := b.api.raw(t, "GET", "/api/v1/media/"+sp.ID, bob.AccessToken, nil, nil); r.status != 404 {
		t.Fatalf("bob on B reads a private room's file: %d", r.status)
	}
	if dirContains(t, b.data, string(secret[100:164])) {
		t.Fatal("B's data directory holds the private file")
	}
}
