package node

import (
	"encoding/binary"
	"sync"
	"time"
)

// Stamp is a hybrid logical clock reading: wall milliseconds plus a logical
// counter that orders events within the same millisecond and absorbs clock
// skew between nodes. Room order is (Stamp, EventID).
type Stamp struct {
	Wall    int64  // milliseconds since the Unix epoch
	Logical uint32 // tie breaker within one Wall value
}

// Less orders stamps.
func (s Stamp) Less(o Stamp) bool {
	if s.Wall != o.Wall {
		return s.Wall < o.Wall
	}
	return s.Logical < o.Logical
}

// Clock is a hybrid logical clock. It never goes backwards, and after
// Observe it is ahead of every stamp it has seen, so an event a node emits
// after receiving another sorts after it. Clock is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	now  func() time.Time
	last Stamp
}

// NewClock returns a clock reading now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a stamp greater than every stamp returned or observed before.
func (c *Clock) Now() Stamp {
	wall := c.now().UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	if wall > c.last.Wall {
		c.last = Stamp{Wall: wall}
	} else {
		c.last.Logical++
	}
	return c.last
}

// Observe moves the clock past a remote stamp. Callers reject stamps too
// far in the future before observing them, so one bad peer cannot drag
// every clock ahead.
func (c *Clock) Observe(s Stamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.Less(s) {
		c.last = s
	}
}

// OrderKey is the byte string that sorts events in room order:
// 8 bytes wall (big endian), 4 bytes logical, then the event ID.
type OrderKey []byte

// MakeOrderKey builds the order key of an event.
func MakeOrderKey(s Stamp, id EventID) OrderKey {
	k := make([]byte, 12+len(id))
	binary.BigEndian.PutUint64(k, uint64(s.Wall))
	binary.BigEndian.PutUint32(k[8:], s.Logical)
	copy(k[12:], id)
	return k
}
