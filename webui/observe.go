package webui

// Observer is told what the web layer does, for metrics; cmd/hearth hands
// in one that counts into Prometheus (package metrics), and the zero
// Config uses one that does nothing. Its methods are called on hot paths
// (a fan-out, a frame): they must be cheap and must not block.
type Observer interface {
	// MessageIn: a client's message was stored (send frame or POST).
	MessageIn()
	// MessagesOut: a message frame was handed to n connections.
	MessagesOut(n int)
	// SlowClient: a connection was cut off because its queue was full.
	SlowClient()
	// RateLimited: a request ("http") or frame ("ws") was refused by a
	// rate limit.
	RateLimited(scope string)
	// Registered: an account was created.
	Registered()
	// Login: a login succeeded (ok) or failed.
	Login(ok bool)
}

type nopObserver struct{}

func (nopObserver) MessageIn()         {}
func (nopObserver) MessagesOut(int)    {}
func (nopObserver) SlowClient()        {}
func (nopObserver) RateLimited(string) {}
func (nopObserver) Registered()        {}
func (nopObserver) Login(bool)         {}

// SetObserver sets the hub's observer; call before serving. webui.New
// sets it from Config.Observer.
func (h *Hub) SetObserver(o Observer) { h.obs = o }

// observer returns the hub's observer, or one that does nothing.
func (h *Hub) observer() Observer {
	if h.obs == nil {
		return nopObserver{}
	}
	return h.obs
}

// FanoutQueue is how many fan-outs wait in the hub's lanes.
func (h *Hub) FanoutQueue() int {
	n := 0
	for _, l := range h.lanes {
		n += len(l)
	}
	return n
}

// CloseUser closes every connection of a user with 4001 (the account was
// locked, reset or deleted).
func (h *Hub) CloseUser(u string) {
	h.each(func(c *conn) {
		if string(c.user) == u {
			c.unauthenticated("the session has ended", "session ended")
		}
	})
}
