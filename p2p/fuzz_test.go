package p2p

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadFrame feeds arbitrary bytes to the sync frame reader: it must
// never panic nor allocate past the frame limit.
func FuzzReadFrame(f *testing.F) {
	var ok bytes.Buffer
	_ = writeFrame(&ok, &syncRequest{Op: opRefs, Room: "r1", Limit: 10})
	f.Add(ok.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0x02, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req syncRequest
		_ = readFrame(bufio.NewReader(bytes.NewReader(b)), &req)
	})
}

// FuzzMessageID checks that any pubsub payload gets an ID without panic.
func FuzzMessageID(f *testing.F) {
	f.Add([]byte{1})
	f.Add(append([]byte{1}, make([]byte, 80)...))
	f.Add([]byte("T{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if topicID := messageIDOf(b); topicID == "" {
			t.Fatal("empty message id")
		}
	})
}
