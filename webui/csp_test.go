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
