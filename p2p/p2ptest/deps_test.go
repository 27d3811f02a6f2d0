package p2ptest_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: test federations are built from the real store,
// domain and host, and no web layer (the Ours list leaves webui out);
// WaitFor is internal/poll's.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node", "p2p", "store", "media", "internal/poll"}, Banned: []string{"github.com/golang-jwt/"}})
}
