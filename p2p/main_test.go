package p2p_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: every
// host, node and store a test starts must be stopped and waited for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide workers of libp2p's and Badger's dependencies,
		// started once and never stopped.
		goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
		goleak.IgnoreTopFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}
