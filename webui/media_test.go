package webui_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// mediaResp is a raw response: media answers have their own CSP, so the
// harness's do (which checks the API's) is not used for them.
type mediaResp struct {
	status int
	header http.Header
	body   []byte
}

func (tn *testNode) raw(t *testing.T, method, path, token string, body io.Reader, header map[string]string) mediaResp {
	t.Helper()
	req, err := http.NewRequest(method, tn.URL+path, body)
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
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return mediaResp{resp.StatusCode, resp.Header, b}
}

func (r mediaResp) code(t *testing.T) string {
	t.Helper()
	var e struct{ Error struct{ Code string } }
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("%d: %q is not an API error", r.status, r.body)
	}
	return e.Error.Code
}

func (c *client) upload(t *testing.T, name, contentType string, b []byte) node.Media {
	t.Helper()
	r := c.tn.raw(t, "POST", "/api/v1/media?name="+url.QueryEscape(name), c.Access, bytes.NewReader(b), map[string]string{"Content-Type": contentType})
	if r.status != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
	var m node.Media
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMediaUploadAndServe(t *testing.T) {
	tn := newTestNode(t, nodeOptions{node: func(c *node.Config) { c.MaxUpload = 256 << 10; c.UserQuota = 600 << 10 }})
	alice, bob := tn.mustRegister(t, "alice"), tn.mustRegister(t, "bob")

	t.Run("image inline, with Range, ETag and caching", func(t *testing.T) {
		body := testPNG(t, 120, 80)
		m := alice.upload(t, "cat.png", "image/png", body)
		if m.Type != "image/png" || m.Size != int64(len(body)) || m.Width != 120 || m.Height != 80 || m.Name != "cat.png" || m.Blurhash == "" {
			t.Fatalf("media = %+v", m)
		}
		r := tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), alice.Access, nil, nil)
		h := r.header
		if r.status != 200 || !bytes.Equal(r.body, body) || h.Get("Content-Type") != "image/png" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "inline") || h.Get("ETag") != `"`+string(m.ID)+`"` ||
			h.Get("Cache-Control") != "private, max-age=31536000, immutable" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("GET: %d %v", r.status, h)
		}
		r = tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), alice.Access, nil, map[string]string{"Range": "bytes=10-19"})
		if r.status != http.StatusPartialContent || !bytes.Equal(r.body, body[10:20]) || r.header.Get("Content-Range") != "bytes 10-19/"+itoa(len(body)) {
			t.Fatalf("range: %d %q %v", r.status, r.body, r.header)
		}
		r = tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), alice.Access, nil, map[string]string{"If-None-Match": `"` + string(m.ID) + `"`})
		if r.status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", r.status)
		}
		// The thumbnail fits the box asked for.
		r = tn.raw(t, "GET", "/api/v1/media/"+string(m.ID)+"/thumbnail?w=100&h=70", alice.Access, nil, nil)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(r.body))
		if r.status != 200 || err != nil || cfg.Width != 64 || cfg.Height > 70 || r.header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumbnail: %d %v %+v %v", r.status, err, cfg, r.header)
		}
		if r := tn.raw(t, "GET", "/api/v1/media/"+string(m.ID)+"/thumbnail?w=10&h=abc", alice.Access, nil, nil); r.status != 400 {
			t.Fatalf("bad thumbnail size: %d", r.status)
		}
		// Knowing the ID gives bob nothing.
		if r := tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), bob.Access, nil, nil); r.status != 404 || r.code(t) != "not_found" {
			t.Fatalf("bob: %d %s", r.status, r.body)
		}
		if r := tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), "", nil, nil); r.status != 401 {
			t.Fatalf("anonymous: %d", r.status)
		}
	})

	t.Run("polyglot served as a download", func(t *testing.T) {
		body := []byte("<html><body><script>alert(document.cookie)</script>GIF89a</body></html>")
		m := alice.upload(t, "innocent.png", "image/png", body)
		if m.Type != "text/html" {
			t.Fatalf("type taken from the client: %+v", m)
		}
		r := tn.raw(t, "GET", "/api/v1/media/"+string(m.ID), alice.Access, nil, nil)
		h := r.header
		if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") == "image/png" {
			t.Fatalf("polyglot served with %v", h)
		}
		if !strings.Contains(h.Get("Content-Disposition"), "filename=innocent.png") {
			t.Errorf("disposition = %q", h.Get("Content-Disposition"))
		}
	})

	t.Run("limits", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), 256<<10+1)
		r := tn.raw(t, "POST", "/api/v1/media?name=big", bob.Access, bytes.NewReader(big), nil)
		if r.status != 413 || r.code(t) != "too_large" {
			t.Fatalf("declared too large: %d %s", r.status, r.body)
		}
		// Without a length (chunked), checked while streaming.
		r = tn.raw(t, "POST", "/api/v1/media?name=big", bob.Access, io.MultiReader(bytes.NewReader(big)), nil)
		if r.status != 413 || r.code(t) != "too_large" {
			t.Fatalf("streamed too large: %d %s", r.status, r.body)
		}
		for i := range 2 {
			bob.upload(t, "", "application/octet-stream", bytes.Repeat([]byte{byte(i)}, 250<<10))
		}
		r = tn.raw(t, "POST", "/api/v1/media", bob.Access, bytes.NewReader(bytes.Repeat([]byte("q"), 200<<10)), nil)
		if r.status != 413 || r.code(t) != "quota_exceeded" || !strings.Contains(string(r.body), "quota") {
			t.Fatalf("past the quota: %d %s", r.status, r.body)
		}
	})

	t.Run("attachments in messages, avatars", func(t *testing.T) {
		room := alice.mustCreateRoom(t, "pics", "public")
		bob.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/join", nil, 200, nil)
		pic := alice.upload(t, "dog.png", "image/png", testPNG(t, 30, 30))
		var msg node.Message
		alice.must(t, "POST", "/api/v1/rooms/"+string(room.ID)+"/messages", map[string]any{"attachments": []map[string]string{{"id": string(pic.ID)}}}, 201, &msg)
		if msg.Body != "" || len(msg.Attachments) != 1 {
			t.Fatalf("message = %+v", msg)
		}
		// Bob reads it now: it is attached in a room he is in.
		if r := tn.raw(t, "GET", "/api/v1/media/"+string(pic.ID), bob.Access, nil, nil); r.status != 200 {
			t.Fatalf("bob reads an attachment of his room: %d", r.status)
		}
		ws := bob.mustWS(t)
		other := bob.upload(t, "b.png", "image/png", testPNG(t, 10, 10))
		ws.send(t, map[string]any{"type": "send", "id": "c1", "room": room.ID, "attachments": []map[string]string{{"id": string(other.ID), "name": "renamed.png"}}})
		ack := ws.expect(t, "ack", func(f wsFrame) bool { return f.ID == "c1" }).message(t)
		var a node.Media
		if len(ack.Attachments) != 1 || json.Unmarshal(ack.Attachments[0], &a) != nil || a.Name != "renamed.png" || a.Width != 10 {
			t.Fatalf("ack = %+v", ack)
		}
		ws.send(t, map[string]any{"type": "send", "id": "c2", "room": room.ID, "attachments": []map[string]string{{"id": string(pic.ID)}, {"id": "nope"}}})
		if f := ws.expect(t, "error", func(f wsFrame) bool { return f.ID == "c2" }); f.Code != "invalid_argument" {
			t.Fatalf("bad attachment: %+v", f)
		}
		var u node.User
		bob.must(t, "PATCH", "/api/v1/me", map[string]string{"avatar": string(other.ID)}, 200, &u)
		if u.Avatar != string(other.ID) {
			t.Fatalf("avatar = %q", u.Avatar)
		}
		if r := bob.call(t, "PATCH", "/api/v1/me", map[string]string{"avatar": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}); r.Status != 400 {
			t.Fatalf("unknown avatar: %d", r.Status)
		}
	})

	t.Run("media cookie for <img> loads", func(t *testing.T) {
		m := alice.upload(t, "c.png", "image/png", testPNG(t, 5, 5))
		r := tn.raw(t, "POST", "/api/v1/media/cookie", alice.Access, nil, nil)
		var cookie *http.Cookie
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == "hearth_media" {
				cookie = c
			}
		}
		if r.status != 204 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/api/v1/media" {
			t.Fatalf("cookie: %d %+v", r.status, cookie)
		}
		get := func(path string) int {
			return tn.raw(t, "GET", path, "", nil, map[string]string{"Cookie": "hearth_media=" + cookie.Value}).status
		}
		if s := get("/api/v1/media/" + string(m.ID)); s != 200 {
			t.Fatalf("GET with the cookie: %d", s)
		}
		// The cookie is no bearer token, and uploads do not take it.
		if r := tn.raw(t, "GET", "/api/v1/me", cookie.Value, nil, nil); r.status != 401 {
			t.Fatalf("cookie token as a bearer token: %d", r.status)
		}
		if r := tn.raw(t, "POST", "/api/v1/media", "", strings.NewReader("x"), map[string]string{"Cookie": "hearth_media=" + cookie.Value}); r.status != 401 {
			t.Fatalf("upload with the cookie: %d", r.status)
		}
		// Logout ends it.
		alice.must(t, "POST", "/api/v1/auth/logout", nil, 204, nil)
		if s := get("/api/v1/media/" + string(m.ID)); s != 401 {
			t.Fatalf("GET with the cookie after logout: %d", s)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
