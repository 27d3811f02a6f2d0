package main

import (
	"testing"

	"github.com/hearth-chat/hearth/internal/deptest"
)

// TestDependencies: the wiring is the one package that knows every
// other; it carries no test helpers into the binary.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{Ours: []string{"node", "store", "media", "p2p", "webui", "push", "search", "token", "metrics", "bench", "bench/gobench", "bench/suite", "bench/report"}})
}
