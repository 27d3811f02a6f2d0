package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistBucketsAreContiguous(t *testing.T) {
	for i := 0; i < histBuckets-1; i++ {
		lo, hi := histLow(i), histLow(i+1)
		if hi <= lo {
			t.Fatalf("bucket %d: low %d, next low %d", i, lo, hi)
		}
		if got := histBucket(lo); got != i {
			t.Fatalf("histBucket(histLow(%d)=%d) = %d", i, lo, got)
		}
		if got := histBucket(hi - 1); got != i {
			t.Fatalf("histBucket(%d) = %d, want %d", hi-1, got, i)
		}
	}
	if got := histBucket(histMaxValue); got != histBuckets-1 {
		t.Fatalf("histBucket(max) = %d, want last bucket %d", got, histBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func() []uint64
	}{
		{"exact small", func() []uint64 {
			var v []uint64
			for i := uint64(0); i < 64; i++ {
				v = append(v, i)
			}
			return v
		}},
		{"uniform", func() []uint64 {
			r := rand.New(rand.NewPCG(1, 2))
			v := make([]uint64, 100000)
			for i := range v {
				v[i] = r.Uint64N(50000)
			}
			return v
		}},
		{"long tail", func() []uint64 {
			r := rand.New(rand.NewPCG(3, 4))
			v := make([]uint64, 50000)
			for i := range v {
				v[i] = uint64(r.ExpFloat64()*2000) + 100
			}
			v[0] = 10_000_000
			return v
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := tt.values()
			var h Histogram
			for _, v := range vals {
				h.Record(v)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			if h.Count() != uint64(len(vals)) {
				t.Fatalf("count %d, want %d", h.Count(), len(vals))
			}
			if h.Max() != sorted[len(sorted)-1] || h.Min() != sorted[0] {
				t.Fatalf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), sorted[0], sorted[len(sorted)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				want := sorted[int(float64(len(sorted))*q+0.999999)-1]
				got := h.Quantile(q)
				// One bucket is at most 1/histSub of its value wide.
				tol := float64(want)/histSub + 1
				if d := float64(got) - float64(want); d > tol || d < -tol {
					t.Errorf("q%.3f = %d, want %d ± %.0f", q, got, want, tol)
				}
			}
			if h.Quantile(1) != h.Max() || h.Quantile(0) != h.Min() {
				t.Errorf("q0/q1 = %d/%d, want min/max %d/%d", h.Quantile(0), h.Quantile(1), h.Min(), h.Max())
			}
		})
	}
}

func TestHistogramMergeAndClamp(t *testing.T) {
	var a, b, all Histogram
	for i := uint64(1); i <= 1000; i++ {
		if i%2 == 0 {
			a.Record(i)
		} else {
			b.Record(i)
		}
		all.Record(i)
	}
	a.Merge(&b)
	if a != all {
		t.Fatalf("merged histogram differs from the one that saw every value")
	}
	var empty Histogram
	a.Merge(&empty)
	if a != all {
		t.Fatalf("merging an empty histogram changed it")
	}
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Fatalf("empty histogram: non-zero quantile or mean")
	}
	var c Histogram
	c.Record(1 << 50)
	if c.Max() != histMaxValue {
		t.Fatalf("max %d, want clamp to %d", c.Max(), uint64(histMaxValue))
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	n := testing.AllocsPerRun(1000, func() { h.Record(12345) })
	if n != 0 {
		t.Fatalf("Record allocates %.1f times", n)
	}
}
