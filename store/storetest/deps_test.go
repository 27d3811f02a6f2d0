package storetest_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the conformance suite knows node.Store, not any one
// store.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/dgraph-io/", "github.com/libp2p/", "net/http",
	}})
}
