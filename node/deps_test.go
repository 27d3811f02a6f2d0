package node_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainDependencies keeps the domain free of transport and storage:
// imports point inward (STYLE.md), so node must never depend on libp2p,
// Badger, HTTP or WebSockets.
func TestDomainDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/libp2p/", "github.com/dgraph-io/", "net/http", "github.com/gorilla/", "github.com/golang-jwt/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package node depends on %s", dep)
			}
		}
	}
}
