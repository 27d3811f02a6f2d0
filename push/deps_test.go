package push_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the push sender knows the domain's vocabulary and
// nothing else of ours, nor the store or the transports.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/libp2p/", "github.com/dgraph-io/", "github.com/gorilla/",
	}})
}
