// Package deptest checks a package's dependencies against its import
// rules (tailscale's tstest/deptest idea): each package's deps_test.go
// states what it may import, so that imports keep pointing inward
// (docs/architecture.md) without anyone having to remember.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// Module is this module's path.
const Module = "github.com/hearth-chat/hearth"

// Rules are what the package under test may depend on, directly or not.
type Rules struct {
	// Ours lists the packages of this module it may depend on, relative
	// to the module ("node", "store/memstore"); a package always may
	// depend on itself. Any other package of ours fails the test.
	Ours []string
	// Banned are import path prefixes it must not depend on at all.
	Banned []string
}

// Check runs `go list -deps` on the package in the test's directory and
// fails t for every dependency the rules do not allow.
func Check(t *testing.T, r Rules) {
	t.Helper()
	self, err := exec.Command("go", "list", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{strings.TrimSpace(string(self)): true}
	for _, p := range r.Ours {
		allowed[Module+"/"+p] = true
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, Module+"/") && !allowed[dep] {
			t.Errorf("%s depends on %s, which its rules do not allow", strings.TrimSpace(string(self)), dep)
		}
		for _, banned := range r.Banned {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("%s depends on %s (banned: %s)", strings.TrimSpace(string(self)), dep, banned)
			}
		}
	}
}
