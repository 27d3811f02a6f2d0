package store_test

import (
	"testing"

	"github.com/hearth-chat/hearth/store/storetest"
)

// TestConformance runs node.Store's conformance suite against Badger
// files in a temp dir.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t, t.TempDir()) })
}
