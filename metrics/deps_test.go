package metrics_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: metrics implements the observers that other packages
// declare, so it imports none of ours; only cmd/hearth wires it in.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{}, Banned: []string{
		"github.com/dgraph-io/", "github.com/libp2p/", "github.com/gorilla/",
	}})
}
