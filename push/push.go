// Package push delivers Web Push notifications (RFC 8030) for the node:
// it keeps the node's VAPID key pair (RFC 8292) in a file of the data
// directory, encrypts each payload for its subscription (RFC 8291,
// aes128gcm) and posts it to the browser's push service, through
// github.com/SherClockHolmes/webpush-go, a small, well-kept library that
// does exactly the encryption and VAPID signing.
//
// Sender satisfies node.Pusher. It decides nothing: it reports what the
// push service answered in the domain's terms (node.ErrGone for a gone
// subscription, node.ErrInvalid for a refused push, a retryable error
// with the service's Retry-After for 429 and 5xx), and the node's outbox
// decides what follows.
package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/hearth-chat/hearth/node"
)

// Config configures a Sender. Zero fields take the defaults named.
type Config struct {
	// KeyFile holds the VAPID private key (PEM, PKCS #8, P-256). It is
	// created, readable by the owner only, when missing. Required.
	KeyFile string
	// Subject is the contact a push service may use about this node's
	// pushes (RFC 8292 §2.1): a mailto: or https: URL. Required.
	Subject string
	// AllowLoopback lets pushes reach loopback addresses (tests, a local
	// push service). Otherwise only public addresses are dialled, so a
	// subscription cannot make the node post into its own network.
	AllowLoopback bool
	// Logger receives the sender's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Sender posts pushes to push services. It is safe for concurrent use.
type Sender struct {
	subject string
	public  string // base64url, uncompressed point
	private string // base64url, 32-byte scalar
	client  *http.Client
	log     *slog.Logger
}

// Open loads (or creates) the VAPID key and returns a Sender.
func Open(cfg Config) (*Sender, error) {
	if cfg.KeyFile == "" {
		return nil, errors.New("push: a key file is required")
	}
	subject, err := checkSubject(cfg.Subject)
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ecdhKey, err := key.ECDH()
	if err != nil {
		return nil, fmt.Errorf("push: vapid key: %w", err)
	}
	enc := base64.RawURLEncoding
	return &Sender{
		subject: subject,
		public:  enc.EncodeToString(ecdhKey.PublicKey().Bytes()),
		private: enc.EncodeToString(ecdhKey.Bytes()),
		client:  newClient(cfg.AllowLoopback),
		log:     cfg.Logger,
	}, nil
}

// checkSubject accepts a mailto: or https: URL and returns what the
// library takes: it prefixes anything that is not an https: URL with
// mailto:, so a mailto: subject is handed over without its scheme.
func checkSubject(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "https://") && len(s) > len("https://"):
		return s, nil
	case strings.HasPrefix(s, "mailto:") && strings.Contains(s, "@"):
		return strings.TrimPrefix(s, "mailto:"), nil
	}
	return "", fmt.Errorf("push: the subject must be a mailto: address or an https: URL, not %q", s)
}

// PublicKey is the VAPID public key browsers subscribe with.
func (s *Sender) PublicKey() string { return s.public }

// Push encrypts payload for sub and posts it to sub's push service.
func (s *Sender) Push(ctx context.Context, sub *node.PushSubscription, payload []byte, o node.PushOptions) error {
	urgency := webpush.UrgencyNormal
	if o.Urgency == node.UrgencyHigh {
		urgency = webpush.UrgencyHigh
	}
	// The library pads the message by appending to the slice it is
	// given, which would write into a payload shared by several pushes:
	// it gets a copy of its own.
	msg := make([]byte, len(payload))
	copy(msg, payload)
	resp, err := webpush.SendNotificationWithContext(ctx, msg, &webpush.Subscription{
		Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &webpush.Options{
		HTTPClient: s.client, Subscriber: s.subject, TTL: max(int(o.TTL/time.Second), 0), Urgency: urgency,
		VAPIDPublicKey: s.public, VAPIDPrivateKey: s.private,
	})
	if err != nil {
		if errors.Is(err, webpush.ErrMaxPadExceeded) {
			return fmt.Errorf("push: payload over 4 KiB: %w", node.ErrTooLarge)
		}
		if ctx.Err() == nil && isRefusedDial(err) {
			return fmt.Errorf("push to %s: %w: %w", host(sub.Endpoint), err, node.ErrInvalid)
		}
		return fmt.Errorf("push to %s: %w", host(sub.Endpoint), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return classify(resp, sub.Endpoint, body)
}

// classify turns a push service's answer into the domain's terms (RFC
// 8030 §5, §7): 2xx accepted; 404 and 410 the subscription is gone; 429
// and 5xx try again later; anything else refused for good.
func classify(resp *http.Response, endpoint string, body []byte) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return fmt.Errorf("push service %s: %d: %w", host(endpoint), code, node.ErrGone)
	case code == http.StatusTooManyRequests || code >= 500:
		return &retryError{code: code, host: host(endpoint), after: retryAfter(resp.Header.Get("Retry-After"))}
	case code == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("push service %s: %d: %w", host(endpoint), code, node.ErrTooLarge)
	}
	return fmt.Errorf("push service %s: %d %q: %w", host(endpoint), code, body, node.ErrInvalid)
}

// retryError is a push the service asked to try again, after Retry-After
// when it said.
type retryError struct {
	code  int
	host  string
	after time.Duration
}

func (e *retryError) Error() string {
	return fmt.Sprintf("push service %s: %d, try again later", e.host, e.code)
}

// RetryAfter is what the push service asked to wait; 0 when it did not say.
func (e *retryError) RetryAfter() time.Duration { return e.after }

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func host(endpoint string) string {
	rest, _ := strings.CutPrefix(endpoint, "https://")
	rest, _ = strings.CutPrefix(rest, "http://")
	h, _, _ := strings.Cut(rest, "/")
	return h
}

// errRefusedAddr marks a dial the sender refused: the endpoint's host
// resolves to an address it may not reach.
var errRefusedAddr = errors.New("push endpoint resolves to a non-public address")

func isRefusedDial(err error) bool { return errors.Is(err, errRefusedAddr) }

// newClient is the HTTP client pushes go through: no redirects (a push
// service answers, it does not redirect), bounded time, and a dialer that
// reaches only public addresses (and loopback when allowLoopback).
func newClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			h, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(h)
			switch {
			case ip == nil:
				return errRefusedAddr
			case ip.IsLoopback() && allowLoopback:
				return nil
			case ip.IsLoopback(), ip.IsPrivate(), ip.IsUnspecified(), ip.IsLinkLocalUnicast(),
				ip.IsLinkLocalMulticast(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
				return fmt.Errorf("%s: %w", ip, errRefusedAddr)
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// loadOrCreateKey reads the VAPID key from path, or makes one and writes
// it there (0600), once: the key must outlive restarts, since browsers'
// subscriptions are bound to it.
func loadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("push: generate vapid key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("push: encode vapid key: %w", err)
		}
		out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := writeNew(path, out); err != nil {
			return nil, fmt.Errorf("push: write vapid key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("push: read vapid key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("push: %s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: parse vapid key %s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("push: %s is not a P-256 key", path)
	}
	return key, nil
}

// writeNew writes a new file durably: a temporary file synced and renamed
// into place, so a crash leaves the old state or the whole key.
func writeNew(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
