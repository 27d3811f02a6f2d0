package webui

import (
	"fmt"
	"testing"
	"time"
)

// TestKeyedBucketsBounded: a stranger cycling through usernames or
// addresses cannot grow a limiter past its bound, and a refund gives a
// token back after the work it paid for.
func TestKeyedBucketsBounded(t *testing.T) {
	k := newKeyed(5, 5)
	k.max = 100
	for i := range 1000 {
		k.allow(fmt.Sprint("user", i))
	}
	if n := k.len(); n > 100 {
		t.Fatalf("%d buckets, want at most 100", n)
	}

	var toks []*spent
	for range 5 {
		tok, ok, _ := k.reserve("alice")
		if !ok {
			t.Fatal("a fresh bucket refused")
		}
		toks = append(toks, tok)
	}
	if _, ok, after := k.reserve("alice"); ok || after <= 0 || after > 13*time.Second {
		t.Fatalf("sixth reserve = %v, retry after %v", ok, after)
	}
	time.Sleep(10 * time.Millisecond) // the refund comes after the work
	refund(toks[0])
	if _, ok, _ := k.reserve("alice"); !ok {
		t.Fatal("a refunded token was not given back")
	}
}
