package search_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the node's search worker and the index stop with
// them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide workers of Badger's dependencies and bleve's
		// analysis pool, started once and never stopped.
		goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/badger/v4/y.(*WaterMark).process"),
		goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
	)
}
