package node

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Web Push (docs/notifications.md): a local user's browsers register push
// subscriptions here; when a message arrives that the user's settings
// select (Notifies) and the user has no WebSocket open, the node queues
// one push per subscription in a durable outbox (pushout.go), which a
// Pusher (the push package: RFC 8291 encryption, VAPID) delivers to the
// browser's push service. The node decides what is pushed, to whom, when
// to retry and when a subscription is gone; the Pusher only carries.

// PushSubscription is one browser's push subscription (the Push API's
// PushSubscription): the push service's endpoint and the keys the
// payload is encrypted for.
type PushSubscription struct {
	// ID names the subscription for its user: derived from the endpoint,
	// so that registering the same browser again replaces it.
	ID       string `json:"id"`
	User     UserID `json:"user"`
	Endpoint string `json:"endpoint"`
	// P256dh is the browser's P-256 public key and Auth its 16-byte
	// authentication secret, both base64url without padding.
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
	// Device is the device (session) that registered it.
	Device    DeviceID `json:"device,omitempty"`
	CreatedAt int64    `json:"createdAt"`
}

// PushSubscribe is a subscription as a browser hands it over.
type PushSubscribe struct {
	Endpoint string
	P256dh   string
	Auth     string
	Device   DeviceID
}

// PushJob is one push waiting in the outbox: a payload for one
// subscription, with its retry state.
type PushJob struct {
	Seq     uint64          `json:"seq"`
	User    UserID          `json:"user"`
	Sub     string          `json:"sub"`
	Payload json.RawMessage `json:"payload"`
	Urgency string          `json:"urgency"`
	// Expires is when the push is no longer worth sending (ms); it is
	// dropped then, retried or not.
	Expires  int64 `json:"expires"`
	Attempts int   `json:"attempts,omitempty"`
	// Next is when the next attempt is due (ms).
	Next int64 `json:"next,omitempty"`
}

// PushPayload is the JSON a push carries to the browser's service
// worker. For a message of an end-to-end encrypted room it carries only
// Room, Message and Encrypted: never the text, nor who wrote it.
type PushPayload struct {
	Room       RoomID  `json:"room"`
	RoomName   string  `json:"roomName,omitempty"`
	Sender     UserID  `json:"sender,omitempty"`
	SenderName string  `json:"senderName,omitempty"`
	Body       string  `json:"body,omitempty"`
	Message    EventID `json:"message"`
	Encrypted  bool    `json:"encrypted,omitempty"`
	// Files counts the message's attachments (its body may be empty).
	Files int `json:"files,omitempty"`
}

// Push urgencies (RFC 8030 §5.3).
const (
	UrgencyNormal = "normal"
	UrgencyHigh   = "high"
)

// PushOptions go with one push.
type PushOptions struct {
	// TTL is how long the push service should keep the push for an
	// offline browser.
	TTL     time.Duration
	Urgency string
}

// Pusher delivers pushes to push services. The push package implements
// it. Push returns nil once the push service has accepted the push; an
// error wrapping ErrGone when the subscription no longer exists there
// (the node drops it); ErrInvalid or ErrTooLarge when the push service
// refused this push for good (the node drops the push); anything else is
// retried with backoff, no sooner than the error's RetryAfter() when it
// has that method.
type Pusher interface {
	// PublicKey is the VAPID public key (RFC 8292) that browsers
	// subscribe with: an uncompressed P-256 point, base64url.
	PublicKey() string
	Push(ctx context.Context, sub *PushSubscription, payload []byte, o PushOptions) error
}

// PushConfig configures Web Push. Zero fields take the defaults named.
type PushConfig struct {
	// Sender carries pushes; nil turns Web Push off.
	Sender Pusher
	// AllowLoopbackHTTP lets subscriptions name http:// endpoints on
	// loopback addresses (tests and local push services); otherwise
	// endpoints must be https.
	AllowLoopbackHTTP bool
	// SubscriptionsPerUser bounds a user's subscriptions; 10.
	SubscriptionsPerUser int
	// Queue bounds the pushes waiting in the outbox; 4096. Past it new
	// pushes are dropped (and logged), never older ones.
	Queue int
	// Concurrency bounds pushes in flight; 4.
	Concurrency int
	// TTL is how long a push is worth delivering, by the node's outbox
	// and by the push service; 24 h.
	TTL time.Duration
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts; 2 s and 10 min.
	RetryBase time.Duration
	RetryMax  time.Duration
	// MaxAge: messages older than this when they arrive (history
	// catch-up after a partition) push nothing; 1 h.
	MaxAge time.Duration
	// Timeout bounds one attempt; 30 s.
	Timeout time.Duration
}

func (c *PushConfig) setDefaults() {
	if c.SubscriptionsPerUser <= 0 {
		c.SubscriptionsPerUser = 10
	}
	if c.Queue <= 0 {
		c.Queue = 4096
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 2 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = time.Hour
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
}

// Limits of what a client hands over.
const (
	maxEndpointLen = 2048
	// pushSnippet bounds the body text a push carries, in characters:
	// enough for a notification, and well inside a push's 4 KiB.
	pushSnippet = 140
	// maxPushName bounds a room or sender name in a payload.
	maxPushName = 64
)

// PushKey returns the VAPID public key browsers subscribe with, or
// ErrNotFound when Web Push is off on this node.
func (n *Node) PushKey() (string, error) {
	if n.push == nil {
		return "", errorf(ErrNotFound, "web push is off on this node")
	}
	return n.push.cfg.Sender.PublicKey(), nil
}

// pushSubscriptionID derives a subscription's ID from its endpoint.
func pushSubscriptionID(endpoint string) string {
	h := sha256.Sum256([]byte(endpoint))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// decodeKey decodes a subscription key in base64url or standard base64,
// with or without padding (browsers hand out base64url without).
func decodeKey(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, true
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// checkSubscription validates what a browser hands over and returns the
// keys in canonical form.
func (n *Node) checkSubscription(p PushSubscribe) (p256dh, auth string, err error) {
	if len(p.Endpoint) > maxEndpointLen || !utf8.ValidString(p.Endpoint) {
		return "", "", errorf(ErrInvalid, "endpoint must be a URL of at most 2048 characters")
	}
	u, perr := url.Parse(p.Endpoint)
	if perr != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" {
		return "", "", errorf(ErrInvalid, "endpoint must be an absolute URL without credentials or fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && n.push.cfg.AllowLoopbackHTTP && isLoopbackHost(u.Hostname()):
	default:
		return "", "", errorf(ErrInvalid, "endpoint must be an https URL")
	}
	key, ok := decodeKey(p.P256dh)
	if !ok {
		return "", "", errorf(ErrInvalid, "keys.p256dh must be base64url")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil || len(key) != 65 {
		return "", "", errorf(ErrInvalid, "keys.p256dh must be an uncompressed P-256 public key")
	}
	secret, ok := decodeKey(p.Auth)
	if !ok || len(secret) != 16 {
		return "", "", errorf(ErrInvalid, "keys.auth must be 16 bytes in base64url")
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(key), enc.EncodeToString(secret), nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Subscribe registers a browser's push subscription for u, or replaces
// the one with the same endpoint (reported by created false). A user has
// at most PushConfig.SubscriptionsPerUser: past it ErrLimit.
func (n *Node) Subscribe(ctx context.Context, u UserID, p PushSubscribe) (sub *PushSubscription, created bool, err error) {
	if n.push == nil {
		return nil, false, errorf(ErrNotFound, "web push is off on this node")
	}
	p256dh, auth, err := n.checkSubscription(p)
	if err != nil {
		return nil, false, err
	}
	sub = &PushSubscription{
		ID: pushSubscriptionID(p.Endpoint), User: u, Endpoint: p.Endpoint, P256dh: p256dh, Auth: auth,
		Device: p.Device, CreatedAt: n.now().UnixMilli(),
	}
	w := n.push
	w.subMu.Lock() // one subscribe at a time, so that the cap holds
	defer w.subMu.Unlock()
	err = n.store.Update(ctx, func(tx Tx) error {
		count, found := 0, false
		if err := tx.EachPushSubscription(u, func(s *PushSubscription) bool {
			count++
			found = found || s.ID == sub.ID
			return true
		}); err != nil {
			return err
		}
		if !found && count >= w.cfg.SubscriptionsPerUser {
			return errorf(ErrLimit, fmt.Sprintf("at most %d push subscriptions per user; remove one first", w.cfg.SubscriptionsPerUser))
		}
		created = !found
		return tx.PutPushSubscription(sub)
	})
	if err != nil {
		return nil, false, fmt.Errorf("push subscribe: %w", err)
	}
	if err := n.WaitDurable(ctx); err != nil {
		return nil, false, err
	}
	if created {
		w.subscribed(u, 1)
	}
	return sub, created, nil
}

// PushSubscriptions lists u's subscriptions.
func (n *Node) PushSubscriptions(ctx context.Context, u UserID) ([]*PushSubscription, error) {
	subs := []*PushSubscription{}
	err := n.store.View(ctx, func(tx Tx) error {
		return tx.EachPushSubscription(u, func(s *PushSubscription) bool {
			subs = append(subs, s)
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("push subscriptions: %w", err)
	}
	return subs, nil
}

// Unsubscribe removes one of u's subscriptions and its pending pushes.
func (n *Node) Unsubscribe(ctx context.Context, u UserID, id string) error {
	if n.push == nil {
		return errorf(ErrNotFound, "no such push subscription")
	}
	if err := n.push.drop(ctx, u, id); err != nil {
		return err
	}
	return n.WaitDurable(ctx)
}

// connectedLocal reports whether a local user has a live connection.
func (n *Node) connectedLocal(u UserID) bool {
	p := n.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[u] > 0
}

// pushOffer is a newly stored message and what deciding its pushes needs
// of its room, taken under the room's lock when it was applied.
type pushOffer struct {
	to        []UserID // the room's local members
	msg       *Message
	kind      string
	name      string
	encrypted bool
}

// offerPush hands a newly durable message to the push worker. It runs on
// the store's sync goroutine, so it never blocks: when the worker is
// behind, the offer is dropped (and logged).
func (n *Node) offerPush(o *pushOffer) {
	w := n.push
	if w == nil || o.msg.TS < n.now().Add(-w.cfg.MaxAge).UnixMilli() {
		return
	}
	select {
	case w.offers <- o:
	default:
		n.log.Warn("push worker behind; a message's pushes are dropped", "room", o.msg.Room, "message", o.msg.ID)
	}
}

// payloadFor builds the push payload of a message: for an encrypted room
// only where and which, never the text or the sender.
func payloadFor(o *pushOffer, senderName string) ([]byte, error) {
	m := o.msg
	p := PushPayload{Room: m.Room, Message: m.ID}
	if o.encrypted || m.Encrypted != nil {
		p.Encrypted = true
	} else {
		p.RoomName = clip(o.name, maxPushName)
		p.Sender, p.SenderName = m.Sender, clip(senderName, maxPushName)
		p.Body = clip(m.Body, pushSnippet)
		p.Files = len(m.Attachments)
	}
	return json.Marshal(p)
}

// clip cuts s to at most max characters, marking a cut with an ellipsis.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// pushUrgency is high for what is addressed to the user (a mention, a
// DM), normal for the rest.
func pushUrgency(u UserID, o *pushOffer) string {
	if o.kind == KindDM || mentionsUser(o.msg, u) {
		return UrgencyHigh
	}
	return UrgencyNormal
}

// isNotFound is errors.Is(err, ErrNotFound).
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// pushOfferLocked is the push offer of a new message in r; nil when Web
// Push is off. r.mu is held.
func (n *Node) pushOfferLocked(r *roomEntry, members []UserID, m *Message) *pushOffer {
	if n.push == nil || len(members) == 0 {
		return nil
	}
	s := r.state
	return &pushOffer{to: members, msg: m, kind: s.Kind, name: s.Name, encrypted: s.Encrypted}
}

// dropDevicePushes removes the push subscriptions a deleted device
// registered: its browser is no longer signed in as u.
func (n *Node) dropDevicePushes(ctx context.Context, u UserID, d DeviceID) {
	if n.push == nil || d == "" {
		return
	}
	subs, err := n.PushSubscriptions(ctx, u)
	if err != nil {
		n.log.Warn("push: listing a deleted device's subscriptions", "err", err)
		return
	}
	for _, s := range subs {
		if s.Device == d {
			if err := n.push.drop(ctx, u, s.ID); err != nil && !isNotFound(err) {
				n.log.Warn("push: dropping a deleted device's subscription", "err", err)
			}
		}
	}
}
