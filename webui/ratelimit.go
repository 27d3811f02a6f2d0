package webui

import (
	"sync"
	"time"
)

// maxBuckets bounds the buckets of one keyed limiter. Keys come from
// outside (usernames tried, client addresses), so without a bound a
// stranger cycling through them would grow the map; past it an idle
// bucket, else any, is forgotten.
const maxBuckets = 1 << 16

// keyed is a set of token buckets, one per key, forgotten after they have
// been idle long enough to be full again, so memory stays bounded by the
// number of recently active keys (and by maxBuckets).
//
// The buckets are written here rather than taken from x/time/rate: a
// login takes its token before the password is hashed and gives it back
// afterwards when it succeeded, and rate.Reservation.Cancel gives nothing
// back once the reservation's time has passed.
type keyed struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	max     int
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newKeyed(perMinute float64, burst int) *keyed {
	return &keyed{perSec: perMinute / 60, burst: float64(burst), max: maxBuckets, buckets: map[string]*bucket{}}
}

// bucketLocked returns key's bucket brought up to now.
func (k *keyed) bucketLocked(key string, now time.Time) *bucket {
	b := k.buckets[key]
	if b == nil {
		if len(k.buckets) >= k.max {
			k.evictLocked(now)
		}
		b = &bucket{tokens: k.burst, at: now}
		k.buckets[key] = b
		return b
	}
	if now.After(b.at) {
		b.tokens = min(k.burst, b.tokens+now.Sub(b.at).Seconds()*k.perSec)
		b.at = now
	}
	return b
}

// evictLocked forgets the buckets that are full again, or one at random
// when none is (map order is random).
func (k *keyed) evictLocked(now time.Time) {
	k.sweepLocked(now)
	if len(k.buckets) < k.max {
		return
	}
	for key := range k.buckets {
		delete(k.buckets, key)
		return
	}
}

// allow spends one token; when none is left it says how long to wait.
func (k *keyed) allow(key string) (bool, time.Duration) {
	_, ok, d := k.reserve(key)
	return ok, d
}

// spent is one token taken from a bucket; refund gives it back.
type spent struct {
	k   *keyed
	key string
}

// refund gives the token back, for a request that should not count (a
// successful login). A nil token is nothing to give back.
func (t *spent) refund() {
	if t == nil {
		return
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if b := t.k.buckets[t.key]; b != nil {
		b.tokens = min(t.k.burst, b.tokens+1)
	}
}

// reserve takes one token before the work it pays for, so that many
// concurrent requests cannot all pass a check made before any of them
// is charged. When no token is left it says how long to wait.
func (k *keyed) reserve(key string) (t *spent, ok bool, after time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	b := k.bucketLocked(key, now)
	if b.tokens < 1 {
		return nil, false, time.Duration((1 - b.tokens) / k.perSec * float64(time.Second))
	}
	b.tokens--
	return &spent{k: k, key: key}, true, 0
}

// refund gives back the tokens of several reservations.
func refund(ts ...*spent) {
	for _, t := range ts {
		t.refund()
	}
}

func (k *keyed) sweep(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked(now)
}

// sweepLocked forgets buckets idle long enough to be full again.
func (k *keyed) sweepLocked(now time.Time) {
	full := time.Duration(k.burst / k.perSec * float64(time.Second))
	for key, b := range k.buckets {
		if now.Sub(b.at) > full+time.Minute {
			delete(k.buckets, key)
		}
	}
}

func (k *keyed) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// limits are the server's rate limits. Failed logins are counted per
// username and per client address, wrong old passwords of a password
// change per user with the failed logins; registrations, refreshes and
// unauthenticated WebSocket upgrades per address; room creation, API
// requests and WebSocket frames per user.
type limits struct {
	loginUser  *keyed
	loginAddr  *keyed
	register   *keyed
	refresh    *keyed
	createRoom *keyed
	user       *keyed // nil when disabled
	stop       chan struct{}
	done       chan struct{}
}

func newLimits(userRate float64) *limits {
	l := &limits{
		loginUser:  newKeyed(5, 5),
		loginAddr:  newKeyed(30, 30),
		register:   newKeyed(120, 200),
		refresh:    newKeyed(60, 60),
		createRoom: newKeyed(10, 20),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if userRate > 0 {
		l.user = newKeyed(userRate*60, max(int(userRate*2), 1))
	}
	go l.sweepLoop()
	return l
}

func (l *limits) all() []*keyed {
	return []*keyed{l.loginUser, l.loginAddr, l.register, l.refresh, l.createRoom, l.user}
}

func (l *limits) sweepLoop() {
	defer close(l.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			for _, k := range l.all() {
				if k != nil {
					k.sweep(now)
				}
			}
		}
	}
}

func (l *limits) close() {
	close(l.stop)
	<-l.done
}

// userAllow spends one request of a user's budget.
func (l *limits) userAllow(user string) (bool, time.Duration) {
	if l.user == nil {
		return true, 0
	}
	return l.user.allow(user)
}
