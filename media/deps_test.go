package media_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the file store knows the domain's types and nothing
// else of ours, and nothing of the transports or the database.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node"}, Banned: []string{
		"github.com/libp2p/", "github.com/dgraph-io/", "net/http", "github.com/gorilla/", "github.com/golang-jwt/",
	}})
}
