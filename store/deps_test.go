package store_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the Badger store knows the domain and nothing else of
// ours, and nothing of the transports.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/libp2p/", "github.com/gorilla/", "github.com/golang-jwt/",
	}})
}
