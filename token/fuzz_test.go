package token_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/token"
)

// fuzzNow is the issuer's clock in FuzzVerify; the seed tokens in
// testdata were minted at it.
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func fuzzIssuer(tb testing.TB) *token.Issuer {
	tb.Helper()
	iss, err := token.NewIssuer(bytes.Repeat([]byte{1}, 32), "12D3KooWFuzz", 0, func() time.Time { return fuzzNow })
	if err != nil {
		tb.Fatal(err)
	}
	return iss
}

// FuzzVerify feeds bearer tokens to Verify. It must never panic, and a
// token it accepts must carry a user and a session and expire within
// 15 minutes of now, never before it.
func FuzzVerify(f *testing.F) {
	iss := fuzzIssuer(f)
	tok, _, err := iss.Issue("alice@12D3KooWFuzz", "session1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIiwic2lkIjoiYiJ9.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := iss.Verify(tok)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if c.User == "" || c.Session == "" {
			t.Fatalf("accepted token without user or session: %+v", c)
		}
		if !c.Expires.After(fuzzNow) || c.Expires.After(fuzzNow.Add(token.MaxTTL+time.Second)) {
			t.Fatalf("accepted token expiring at %v (now %v)", c.Expires, fuzzNow)
		}
	})
}
