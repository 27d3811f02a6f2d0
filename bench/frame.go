package bench

import (
	"bytes"
	"strconv"
)

// The payload every workload sends is "<seq> <unixnanos> xxx…": the
// message's sequence number, the time it was due to be sent (Unix
// nanoseconds), and padding up to the requested size. It holds only digits,
// spaces and 'x', so it needs no escaping in JSON or Socket.io frames and a
// receiver can parse it straight out of the frame bytes.

// appendPayload appends the payload of message seq, due at ns, padded with
// 'x' to size bytes (never shorter than its two numbers and a space).
func appendPayload(buf []byte, seq int, ns int64, size int) []byte {
	start := len(buf)
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, ns, 10)
	buf = append(buf, ' ')
	for len(buf)-start < size {
		buf = append(buf, 'x')
	}
	return buf
}

// parsePayload reads the sequence number and send time at the start of p
// (p may run on past the payload, e.g. to the end of the frame).
func parsePayload(p []byte) (seq int, ns int64, ok bool) {
	s, i, ok := parseUint(p, 0)
	if !ok || i >= len(p) || p[i] != ' ' || s > 1<<31 {
		return 0, 0, false
	}
	t, i, ok := parseUint(p, i+1)
	if !ok || i >= len(p) || (p[i] != ' ' && p[i] != '"') {
		return 0, 0, false
	}
	return int(s), int64(t), true
}

// parseUint parses the decimal digits of p starting at i and returns the
// value and the index after the last digit.
func parseUint(p []byte, i int) (uint64, int, bool) {
	start := i
	var v uint64
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		if i-start >= 19 {
			return 0, i, false
		}
		v = v*10 + uint64(p[i]-'0')
		i++
	}
	return v, i, i > start
}

// jsonValue returns the offset of the value of the first member named key
// in the JSON text b, or -1. It is a scanner, not a parser: it finds the
// first `"key"` followed by optional white space and a colon. That is exact
// for well-formed JSON, since a quote inside a string is always escaped,
// so `"key"` with bare quotes can only be a member name (or a string
// value, which is never followed by a colon). It does not care how deep
// the member is nested; callers search for names that occur once.
func jsonValue(b []byte, key string) int {
	off := 0
	for {
		i := indexQuoted(b[off:], key)
		if i < 0 {
			return -1
		}
		j := off + i + len(key) + 2
		j = skipSpace(b, j)
		if j < len(b) && b[j] == ':' {
			return skipSpace(b, j+1)
		}
		off += i + 1
	}
}

// indexQuoted finds `"key"` in b without building the quoted string.
func indexQuoted(b []byte, key string) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '"')
		if i < 0 {
			return -1
		}
		i += off
		end := i + 1 + len(key)
		if end < len(b) && b[end] == '"' && string(b[i+1:end]) == key {
			return i
		}
		off = i + 1
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonString returns the raw (still escaped) contents of the JSON string
// value of key, or nil if there is none.
func jsonString(b []byte, key string) []byte {
	i := jsonValue(b, key)
	if i < 0 || i >= len(b) || b[i] != '"' {
		return nil
	}
	i++
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return b[i:j]
		}
	}
	return nil
}

// sink receives what a protocol codec finds in the frames of one
// connection. Implementations: receiver (counts deliveries) and sender
// (counts acknowledgements and refusals).
type sink interface {
	// deliver is called with a delivered payload (the bytes from the
	// payload's start, possibly running on to the end of the frame).
	deliver(p []byte)
	// ack is called when the server acknowledges one published message;
	// p is the payload when the acknowledgement carries it, else nil.
	ack(p []byte)
	// refuse is called for an error reply.
	refuse(frame []byte)
}

// scanFunc inspects one received frame, reports what it holds to s, and
// returns a frame to write back (a protocol-level pong), or nil. Codecs
// must not retain frame.
type scanFunc func(frame []byte, s sink) (reply []byte)
