package p2p

import (
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestDropTracerAsksForSync: a gossip message GossipSub dropped before
// validation (queue full, throttled) makes the host sync with the peer it
// came from at once; other rejections do not.
func TestDropTracerAsksForSync(t *testing.T) {
	h := &Host{syncWith: make(chan peer.ID, 4)}
	from := peer.ID("peer-a")
	tr := dropTracer{h}
	for _, reason := range []string{pubsub.RejectValidationFailed, pubsub.RejectValidationIgnored, pubsub.RejectInvalidSignature} {
		tr.RejectMessage(&pubsub.Message{ReceivedFrom: from}, reason)
	}
	if len(h.syncWith) != 0 {
		t.Fatalf("%d syncs asked for after validated rejections", len(h.syncWith))
	}
	tr.RejectMessage(&pubsub.Message{ReceivedFrom: from}, pubsub.RejectValidationQueueFull)
	tr.RejectMessage(&pubsub.Message{ReceivedFrom: from}, pubsub.RejectValidationThrottled)
	for range 2 {
		select {
		case p := <-h.syncWith:
			if p != from {
				t.Fatalf("sync asked of %s, want %s", p, from)
			}
		default:
			t.Fatal("a dropped message asked for no sync")
		}
	}
}
