package node_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies keeps the domain free of transport and storage:
// imports point inward (STYLE.md), so node depends on no other package of
// ours, and never on libp2p, Badger, HTTP or WebSockets.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Banned: []string{
		"github.com/libp2p/", "github.com/dgraph-io/", "net/http", "github.com/gorilla/", "github.com/golang-jwt/",
	}})
}
