package token_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: access tokens are a leaf, importing nothing of ours.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Banned: []string{
		"github.com/dgraph-io/", "github.com/libp2p/", "github.com/gorilla/",
	}})
}
