package devicetest_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: a test helper of the domain's shapes; it knows only
// node.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{"github.com/libp2p/", "github.com/dgraph-io/", "net/http"}})
}
