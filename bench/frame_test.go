package bench

import (
	"strings"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		seq  int
		ns   int64
		size int
	}{
		{0, 0, 0},
		{1, 1700000000123456789, 100},
		{1999, 1700000000123456789, 40},
		{123456, 42, 1000},
	}
	for _, tt := range tests {
		p := appendPayload(nil, tt.seq, tt.ns, tt.size)
		if len(p) < tt.size {
			t.Errorf("payload %q shorter than %d", p, tt.size)
		}
		if strings.Trim(string(p), "0123456789 x") != "" {
			t.Errorf("payload %q has characters that would need escaping", p)
		}
		for _, tail := range []string{"", `"}`, `"]`} {
			seq, ns, ok := parsePayload(append(p, tail...))
			if !ok || seq != tt.seq || ns != tt.ns {
				t.Errorf("parsePayload(%q) = %d, %d, %v; want %d, %d", p, seq, ns, ok, tt.seq, tt.ns)
			}
		}
	}
}

func TestParsePayloadRejects(t *testing.T) {
	for _, p := range []string{"", "x", "12", "12 ", "12 x", "a 1 x", "1 99999999999999999999 x", "-1 2 x", "1 2x"} {
		if _, _, ok := parsePayload([]byte(p)); ok {
			t.Errorf("parsePayload(%q) ok, want rejected", p)
		}
	}
}

func TestJSONScan(t *testing.T) {
	tests := []struct {
		name, frame, key, want string
		found                  bool
	}{
		{"simple", `{"type":"message","message":{"body":"1 2 x"}}`, "type", "message", true},
		{"spaces", `{ "type" : "ready" }`, "type", "ready", true},
		{"nested", `{"type":"message","message":{"id":"a","body":"1 2 x"}}`, "body", "1 2 x", true},
		{"value not key", `{"a":"type","type":"ack"}`, "type", "ack", true},
		{"escaped in string", `{"body":"say \"type\": \"x\"","type":"message"}`, "type", "message", true},
		{"escape inside value", `{"body":"a\"b"}`, "body", `a\"b`, true},
		{"absent", `{"kind":"x"}`, "type", "", false},
		{"not a string", `{"type":12}`, "type", "", false},
		{"truncated", `{"type":"mess`, "type", "", false},
		{"prefix key", `{"typed":"x","type":"y"}`, "type", "y", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := jsonString([]byte(tt.frame), tt.key)
			if (got != nil) != tt.found || string(got) != tt.want {
				t.Fatalf("jsonString(%s, %q) = %q (found %v), want %q (found %v)", tt.frame, tt.key, got, got != nil, tt.want, tt.found)
			}
		})
	}
}

// recorder is a sink that remembers what a codec reported.
type recorder struct {
	delivered []string
	acks      []string
	refused   int
}

func (r *recorder) deliver(p []byte) {
	seq, ns, ok := parsePayload(p)
	if !ok {
		r.delivered = append(r.delivered, "bad")
		return
	}
	r.delivered = append(r.delivered, string(appendPayload(nil, seq, ns, 0)))
}

func (r *recorder) ack(p []byte) {
	if p == nil {
		r.acks = append(r.acks, "")
		return
	}
	seq, ns, _ := parsePayload(p)
	r.acks = append(r.acks, string(appendPayload(nil, seq, ns, 0)))
}

func (r *recorder) refuse([]byte) { r.refused++ }

func TestScanDoesNotAllocate(t *testing.T) {
	frames := map[string]struct {
		scan  scanFunc
		frame string
	}{
		"hearth":     {scanHearth, `{"type":"message","message":{"id":"m1","room":"r1","sender":"a@n","body":"17 1700000000000000000 xxxxxxxx","ts":1700000000000}}`},
		"socketio":   {scanSocketIO, `42["msg","17 1700000000000000000 xxxxxxxx"]`},
		"centrifugo": {scanCentrifugo, `{"push":{"channel":"bench","pub":{"data":"17 1700000000000000000 xxxx","offset":3}}}` + "\n" + `{}`},
	}
	for name, f := range frames {
		t.Run(name, func(t *testing.T) {
			var s countSink
			b := []byte(f.frame)
			n := testing.AllocsPerRun(1000, func() { f.scan(b, &s) })
			if n != 0 {
				t.Fatalf("scan allocates %.1f times per frame", n)
			}
			if s.n == 0 {
				t.Fatalf("nothing delivered")
			}
		})
	}
}

type countSink struct{ n int }

func (c *countSink) deliver([]byte) { c.n++ }
func (c *countSink) ack([]byte)     {}
func (c *countSink) refuse([]byte)  {}

// FuzzScan feeds arbitrary frames to every codec and to the payload
// parser: they read bytes from the network and must never panic.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","message":{"body":"1 2 x"}}`,
		`{"type":"ack","message":{"body":"1 2 x"}}`,
		`42["msg","1 2 x"]`, `2`, `44{}`,
		`{"push":{"pub":{"data":"1 2 x"}}}` + "\n{}\n",
		`{"type":"`, `"body":"\`, `{"data":"1 2`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var s countSink
		scanHearth(frame, &s)
		scanSocketIO(frame, &s)
		scanCentrifugo(frame, &s)
		parsePayload(frame)
		r := &receiver{messages: 10, seen: make([]uint64, 1)}
		r.deliver(frame)
	})
}
