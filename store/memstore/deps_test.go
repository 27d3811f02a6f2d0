package memstore_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the in-memory store needs the domain's types and no
// database, transport or network.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/dgraph-io/", "github.com/libp2p/", "net/http", "github.com/gorilla/",
	}})
}
