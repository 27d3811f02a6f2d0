package search_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the index knows the domain and bleve, nothing else of
// ours, and nothing of the store or the transports.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/libp2p/", "github.com/gorilla/", "github.com/golang-jwt/", "github.com/dgraph-io/",
	}})
}
