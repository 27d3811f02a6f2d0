package webui_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the web layer talks to the domain and checks tokens;
// it never reaches past the domain into the store or federation.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node", "token"}, Banned: []string{
		"github.com/dgraph-io/", "github.com/libp2p/",
	}})
}
