package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBucketCover checks that the hour blocks of a window are exactly its
// hours: an hour is in the window if and only if one of the blocks it is
// indexed under is in the cover, and the cover stays a handful of terms.
func TestBucketCover(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		a := r.Int64N(500_000)
		b := a + r.Int64N([]int64{1, 10, 1000, 100_000}[r.IntN(4)])
		cover := bucketCover(a, b)
		if len(cover) > 2*7*bucketLevels {
			t.Fatalf("hours %d..%d: %d blocks", a, b, len(cover))
		}
		for _, h := range []int64{a - 1, a, a + 1, (a + b) / 2, b - 1, b, b + 1, b + 4096} {
			in := slices.ContainsFunc(bucketTerms(h*hourMs), func(term string) bool { return slices.Contains(cover, term) })
			if want := h >= a && h <= b; in != want {
				t.Fatalf("hours %d..%d: hour %d covered = %v, want %v (cover %q)", a, b, h, in, want, cover)
			}
		}
	}
	if got := bucketCover(8, 15); !slices.Equal(got, []string{bucketTerm(1, 1)}) {
		t.Fatalf("hours 8..15 = %q, want the one block of eight", got)
	}
}

func TestWindowGrowth(t *testing.T) {
	for _, c := range []struct{ want, matched, growth uint64 }{
		{84, 0, 84}, {84, 40, 8}, {5000, 0, 512}, {5000, 100, 49}, {84, 1000, 8},
	} {
		if g := growth(c.want, c.matched); g != int64(c.growth) {
			t.Errorf("growth(%d, %d) = %d, want %d", c.want, c.matched, g, c.growth)
		}
	}
}
