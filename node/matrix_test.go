package node_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/hearth-chat/hearth/node"
)

// TestSignedJSONVectors checks the signing of Matrix JSON against the
// test vectors of the Matrix specification (appendices, "JSON Signing"):
// the node verifies device and cross-signing keys with the same bytes.
func TestSignedJSONVectors(t *testing.T) {
	seed, err := base64.RawStdEncoding.DecodeString("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	for _, tc := range []struct{ in, sig string }{
		{`{}`, "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"},
		{`{"one": 1, "two": "Two"}`, "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"},
	} {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.in), &obj); err != nil {
			t.Fatal(err)
		}
		if err := node.SignObject(obj, "domain", "ed25519:1", priv); err != nil {
			t.Fatal(err)
		}
		var sigs map[string]map[string]string
		if err := json.Unmarshal(obj["signatures"], &sigs); err != nil {
			t.Fatal(err)
		}
		if got := sigs["domain"]["ed25519:1"]; got != tc.sig {
			t.Errorf("signature of %s = %s, want %s", tc.in, got, tc.sig)
		}
	}
}

func TestMatrixUserIDs(t *testing.T) {
	u := node.UserID("alice@12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")
	m := node.MatrixUserID(u)
	if m != "@alice:12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf" {
		t.Fatalf("MatrixUserID = %q", m)
	}
	if back, ok := node.UserFromMatrix(m); !ok || back != u {
		t.Fatalf("UserFromMatrix(%q) = %q, %v", m, back, ok)
	}
	for _, bad := range []string{"alice:node", "@:node", "@alice", "@Alice!:node", "@alice:", "@alice:a:b", "@alice:a/b"} {
		if _, ok := node.UserFromMatrix(bad); ok {
			t.Errorf("UserFromMatrix(%q) accepted", bad)
		}
	}
}
