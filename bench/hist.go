package bench

import (
	"math"
	"math/bits"
)

// Histogram is a log-linear histogram of non-negative integer values (the
// load tool records latencies in microseconds). Values below 2*histSub are
// counted exactly; above that each power of two is split into histSub
// equal buckets, so a bucket is at most 1/histSub (about 3%) wide relative
// to its value. This is the HDR histogram idea cut down to what the load
// tool needs: a fixed array, no allocation per value, mergeable. It is
// written here instead of importing an HDR package because ~60 lines do
// and the tool keeps one histogram per receiver (thousands of them).
//
// The zero value is ready to use. A Histogram is not safe for concurrent
// use.
type Histogram struct {
	counts [histBuckets]uint32
	n      uint64
	sum    uint64
	min    uint64
	max    uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits // buckets per power of two
	// histMaxValue caps recorded values (2^36 µs is about 19 hours).
	histMaxValue = 1<<36 - 1
	histBuckets  = (36-histSubBits)*histSub + histSub
)

// histBucket returns the bucket index of v (v <= histMaxValue).
func histBucket(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // v>>e is in [histSub, 2*histSub)
	return e*histSub + int(v>>uint(e))
}

// histLow returns the smallest value that falls into bucket i; the bucket
// covers [histLow(i), histLow(i+1)).
func histLow(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m << uint(e)
}

// Record adds one value; values over histMaxValue are clamped.
func (h *Histogram) Record(v uint64) {
	if v > histMaxValue {
		v = histMaxValue
	}
	h.counts[histBucket(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() uint64 { return h.max }

// Min returns the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() uint64 { return h.min }

// Mean returns the exact mean, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}

// Quantile returns the value at quantile q (0..1): the middle of the
// bucket holding the ceil(q*n)-th smallest value, clamped to [Min, Max] so
// that Quantile(0) and Quantile(1) are exact. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank <= 1 {
		return h.min
	}
	if rank >= h.n {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			lo, hi := histLow(i), histLow(i+1)
			v := lo + (hi-lo)/2
			if hi-lo <= 1 {
				v = lo
			}
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}
