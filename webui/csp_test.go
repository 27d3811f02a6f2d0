package webui_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCSPAllowsWasmNotEval: the UI's end-to-end encryption compiles
// WebAssembly, which a script-src without 'wasm-unsafe-eval' forbids;
// eval and inline scripts must stay forbidden.
func TestCSPAllowsWasmNotEval(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	for _, path := range []string{"/", "/api/v1/node"} {
		resp := tn.do(t, request{method: http.MethodGet, path: path})
		var script []string
		for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" {
				script = f[1:]
			}
		}
		if !slices.Contains(script, "'self'") || !slices.Contains(script, "'wasm-unsafe-eval'") {
			t.Errorf("%s: script-src %q lacks 'self' or 'wasm-unsafe-eval'", path, script)
		}
		for _, bad := range []string{"'unsafe-eval'", "'unsafe-inline'", "*", "data:", "blob:"} {
			if slices.Contains(script, bad) {
				t.Errorf("%s: script-src allows %s", path, bad)
			}
		}
	}
}

// TestCSPAllowsDecryptedMedia: the files of encrypted rooms are decrypted
// in the page and played from blob: URLs (docs/ui.md, "Media"), so
// media-src allows blob: beside the node's own files, and nothing else.
func TestCSPAllowsDecryptedMedia(t *testing.T) {
	tn := newTestNode(t, nodeOptions{})
	resp := tn.do(t, request{method: http.MethodGet, path: "/"})
	var media []string
	for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "media-src" {
			media = f[1:]
		}
	}
	if !slices.Contains(media, "'self'") || !slices.Contains(media, "blob:") {
		t.Errorf("media-src %q lacks 'self' or blob:", media)
	}
	for _, bad := range []string{"*", "data:", "http:", "https:"} {
		if slices.Contains(media, bad) {
			t.Errorf("media-src allows %s", bad)
		}
	}
}
