package webui_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"testing"
)

// TestUIAssetsGzipped: the UI's scripts and styles go out gzipped to
// browsers that accept it, plain to those that do not or ask for a range,
// with the same bytes either way.
func TestUIAssetsGzipped(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	get := func(path string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", tn.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Setting Accept-Encoding ourselves keeps the transport from
		// decompressing, so the test sees what was sent.
		req.Header.Set("Accept-Encoding", "identity")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	_, index := get("/", nil)
	m := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindSubmatch(index)
	if m == nil {
		t.Fatalf("no script in index.html: %s", index)
	}
	script := string(m[1])

	plainResp, plain := get(script, nil)
	if plainResp.StatusCode != 200 || plainResp.Header.Get("Content-Encoding") != "" || len(plain) == 0 {
		t.Fatalf("plain: %d %q, %d bytes", plainResp.StatusCode, plainResp.Header.Get("Content-Encoding"), len(plain))
	}
	zResp, zipped := get(script, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if zResp.Header.Get("Content-Encoding") != "gzip" || zResp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: encoding %q, vary %q", zResp.Header.Get("Content-Encoding"), zResp.Header.Get("Vary"))
	}
	if ct := zResp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("gzip Content-Type = %q", ct)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzipped body does not match the file (%v)", err)
	}
	if len(zipped)*2 > len(plain) {
		t.Errorf("gzip saved little: %d of %d bytes", len(zipped), len(plain))
	}
	for name, h := range map[string]map[string]string{
		"gzip refused": {"Accept-Encoding": "gzip; q=0.0"},
		"a range":      {"Accept-Encoding": "gzip", "Range": "bytes=0-9"},
	} {
		resp, _ := get(script, h)
		if resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: got Content-Encoding %q", name, resp.Header.Get("Content-Encoding"))
		}
	}
}
