package searchbench_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the search bench runs the node in-process on the real
// store and index, and nothing of the transports.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node", "store", "search"}, Banned: []string{
		"github.com/libp2p/", "github.com/gorilla/",
	}})
}
