package suite_test

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the load tools speak only the public API (HTTP and
// WebSocket), so they import no package of the node's.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"bench", "bench/gobench"}})
}
