package webui

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyed is a set of token buckets, one per key, forgotten after they have
// been idle long enough to be full again, so memory stays bounded by the
// number of recently active keys.
type keyed struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyed(perMinute float64, burst int) *keyed {
	return &keyed{limit: rate.Limit(perMinute / 60), burst: burst, buckets: map[string]*bucket{}}
}

func (k *keyed) get(key string) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = time.Now()
	return b.lim
}

// allow spends one token; when none is left it says how long to wait.
func (k *keyed) allow(key string) (bool, time.Duration) {
	lim := k.get(key)
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}

// blocked reports, without spending, whether key has no token left.
func (k *keyed) blocked(key string) (bool, time.Duration) {
	lim := k.get(key)
	if lim.Tokens() >= 1 {
		return false, 0
	}
	r := lim.Reserve()
	d := r.Delay()
	r.Cancel()
	return true, d
}

func (k *keyed) sweep(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	full := time.Duration(float64(k.burst)/float64(k.limit)) * time.Second
	for key, b := range k.buckets {
		if now.Sub(b.seen) > full+time.Minute {
			delete(k.buckets, key)
		}
	}
}

// limits are the server's rate limits. Failed logins are counted per
// username and per client address; registrations per address; API
// requests and WebSocket frames per user.
type limits struct {
	loginUser *keyed
	loginAddr *keyed
	register  *keyed
	user      *keyed // nil when disabled
	stop      chan struct{}
	done      chan struct{}
}

func newLimits(userRate float64) *limits {
	l := &limits{
		loginUser: newKeyed(5, 5),
		loginAddr: newKeyed(30, 30),
		register:  newKeyed(120, 200),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if userRate > 0 {
		l.user = newKeyed(userRate*60, max(int(userRate*2), 1))
	}
	go l.sweepLoop()
	return l
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
			for _, k := range []*keyed{l.loginUser, l.loginAddr, l.register, l.user} {
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
