package p2p_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the transport knows the domain's types (through the
// interfaces it declares) and neither the store nor the web layer.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/dgraph-io/", "github.com/golang-jwt/", // (libp2p brings gorilla/websocket)
	}})
}
