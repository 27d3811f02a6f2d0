package webui

import (
	"sync"

	"github.com/hearth-chat/hearth/node"
)

// Connection limits' defaults (Config, and the flags of hearth serve).
const (
	// DefaultUserSockets bounds one user's authenticated WebSockets:
	// plenty of tabs and devices, not thousands.
	DefaultUserSockets = 32
	// DefaultUnauthPerAddr bounds the WebSockets of one client address
	// that have not authenticated yet. A browser authenticates at once;
	// load tools open up to 64 at a time from one address.
	DefaultUnauthPerAddr = 64
	// DefaultUnauthTotal bounds all WebSockets not yet authenticated.
	DefaultUnauthTotal = 1024
)

// preAuthReadLimit bounds a frame read before the auth frame: an auth
// frame is a few hundred bytes, and a stranger must not make the node
// buffer megabytes per connection.
const preAuthReadLimit = 4 << 10

// connLimits counts WebSockets: those still authenticating, per client
// address and in all, and those authenticated, per user. Each count is
// taken before the connection holds anything and given back when it
// ends, so concurrent upgrades cannot overshoot a bound.
type connLimits struct {
	mu        sync.Mutex
	unauth    map[string]int
	unauthAll int
	users     map[node.UserID]int
	perAddr   int
	total     int
	perUser   int // <= 0: no bound
}

func newConnLimits(cfg Config) *connLimits {
	return &connLimits{
		unauth: map[string]int{}, users: map[node.UserID]int{},
		perAddr: cfg.UnauthPerAddr, total: cfg.UnauthTotal, perUser: cfg.UserSockets,
	}
}

// acquireUnauth counts a new connection from addr until releaseUnauth.
func (l *connLimits) acquireUnauth(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unauthAll >= l.total || l.unauth[addr] >= l.perAddr {
		return false
	}
	l.unauth[addr]++
	l.unauthAll++
	return true
}

func (l *connLimits) releaseUnauth(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unauth[addr]--; l.unauth[addr] <= 0 {
		delete(l.unauth, addr)
	}
	l.unauthAll--
}

// acquireUser counts an authenticated connection of u until releaseUser.
func (l *connLimits) acquireUser(u node.UserID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perUser > 0 && l.users[u] >= l.perUser {
		return false
	}
	l.users[u]++
	return true
}

func (l *connLimits) releaseUser(u node.UserID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users[u]--; l.users[u] <= 0 {
		delete(l.users, u)
	}
}
