// Package pushtest runs a local Web Push service for tests, as
// net/http/httptest runs a server: it hands out subscriptions whose keys
// it holds (P-256 ECDH, crypto/ecdh) and, for each push it receives, does
// what a browser and its push service do: checks the VAPID token (RFC
// 8292) against the sender's public key and decrypts the payload (RFC
// 8291, aes128gcm) with the subscription's private key and auth secret.
// The decryption is written here from the RFCs, independently of the
// sending library, so that a test that reads a payload proves the real
// encryption.
package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Push is one push the service received.
type Push struct {
	// Sub is the ID (the endpoint's last path element) it was for.
	Sub string
	// Payload is the decrypted payload; nil when Err is set.
	Payload []byte
	TTL     string
	Urgency string
	// Subject is the VAPID token's sub claim.
	Subject string
	// Status is what the service answered.
	Status int
	// Err says why the push was not valid (bad token, undecryptable).
	Err error
}

// Subscription is a browser's subscription to the service, with the keys
// only the browser holds.
type Subscription struct {
	ID       string
	Endpoint string
	// P256dh and Auth are the public parts, base64url, as a browser's
	// PushSubscription.toJSON() gives them.
	P256dh string
	Auth   string

	priv *ecdh.PrivateKey
	auth []byte
}

// Service is a local push service on 127.0.0.1.
type Service struct {
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	vapid  string // the sender's VAPID public key, base64url; "" accepts any
	subs   map[string]*Subscription
	script []int // statuses to answer next, in order; then 201
	always int   // status to answer when the script is empty; 201 when 0
	got    []Push
	notify chan struct{}
}

// NewService starts a push service. Close it when done.
func NewService() *Service {
	s := &Service{subs: map[string]*Subscription{}, notify: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the service.
func (s *Service) Close() { s.srv.Close() }

// ExpectVAPID makes the service refuse pushes (403) whose VAPID key is
// not key, as a push service does for a subscription made with key.
func (s *Service) ExpectVAPID(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vapid = key
}

// Script sets the statuses answered to the next pushes, in order; after
// them pushes get 201 Created (or what Always set).
func (s *Service) Script(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, codes...)
}

// Always sets the status answered once the script is used up; 0 for 201.
func (s *Service) Always(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always = code
}

// Subscribe makes a new subscription, as a browser's pushManager does.
func (s *Service) Subscribe() *Subscription {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	idb := make([]byte, 9)
	_, _ = rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	sub := &Subscription{
		ID: id, Endpoint: s.URL + "/push/" + id,
		P256dh: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
		priv:   priv, auth: auth,
	}
	s.mu.Lock()
	s.subs[id] = sub
	s.mu.Unlock()
	return sub
}

// Received returns the pushes received so far.
func (s *Service) Received() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.got...)
}

// Wait returns the received pushes once pred holds for them, or what was
// received and false at the deadline.
func (s *Service) Wait(timeout time.Duration, pred func([]Push) bool) ([]Push, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := s.Received(); pred(got) {
			return got, true
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			return s.Received(), false
		}
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	s.mu.Lock()
	sub := s.subs[id]
	vapid := s.vapid
	s.mu.Unlock()
	if r.Method != http.MethodPost || !ok || sub == nil {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	p := Push{Sub: id, TTL: r.Header.Get("TTL"), Urgency: r.Header.Get("Urgency")}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err == nil {
		p.Subject, err = checkVAPID(r.Header.Get("Authorization"), s.URL, vapid)
	}
	switch {
	case err != nil:
	case r.Header.Get("Content-Encoding") != "aes128gcm":
		err = fmt.Errorf("content-encoding %q, want aes128gcm", r.Header.Get("Content-Encoding"))
	case p.TTL == "":
		err = errors.New("no TTL header")
	default:
		p.Payload, err = Decrypt(body, sub.priv, sub.auth)
	}
	p.Err = err
	s.mu.Lock()
	status := http.StatusCreated
	switch {
	case err != nil:
		status = http.StatusBadRequest
		if strings.Contains(err.Error(), "vapid") {
			status = http.StatusForbidden
		}
	case len(s.script) > 0:
		status, s.script = s.script[0], s.script[1:]
	case s.always != 0:
		status = s.always
	}
	p.Status = status
	s.got = append(s.got, p)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
}

// checkVAPID verifies an RFC 8292 Authorization header ("vapid t=JWT,
// k=KEY"): an ES256 token signed by KEY, for this service's origin, not
// expired and at most 24 hours ahead, with a mailto: or https: subject;
// and KEY equal to want unless want is empty. It returns the subject.
func checkVAPID(header, origin, want string) (string, error) {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return "", fmt.Errorf("vapid: authorization %q is not vapid", header)
	}
	var tok, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	if want != "" && key != want {
		return "", fmt.Errorf("vapid: key %q is not the subscription's %q", key, want)
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return "", fmt.Errorf("vapid: key: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return "", fmt.Errorf("vapid: key: %w", err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(), jwt.WithAudience(origin))
	if err != nil {
		return "", fmt.Errorf("vapid: token: %w", err)
	}
	exp, _ := claims.GetExpirationTime()
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return "", errors.New("vapid: token expires more than 24 hours ahead")
	}
	sub, _ := claims["sub"].(string)
	if !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return "", fmt.Errorf("vapid: subject %q is not a mailto: or https: URL", sub)
	}
	return sub, nil
}

// Decrypt opens an RFC 8291 message (one aes128gcm record, RFC 8188)
// with the user agent's private key and auth secret.
func Decrypt(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	// Header: salt (16) | record size (4) | key ID length (1) | key ID,
	// which is the sender's ephemeral public key (65).
	if len(body) < 21 {
		return nil, errors.New("rfc8291: message too short")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen+17 {
		return nil, fmt.Errorf("rfc8291: key id of %d bytes", idlen)
	}
	asPublic := body[21 : 21+idlen]
	ct := body[21+idlen:]
	if uint32(len(ct)) > rs {
		return nil, errors.New("rfc8291: more than one record")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("rfc8291: sender key: %w", err)
	}
	shared, err := priv.ECDH(as)
	if err != nil {
		return nil, fmt.Errorf("rfc8291: ecdh: %w", err)
	}
	// RFC 8291 §3.3: IKM from the ECDH secret and the auth secret, keyed
	// to both public keys; then RFC 8188's key and nonce from IKM and salt.
	info := append(append([]byte("WebPush: info\x00"), priv.PublicKey().Bytes()...), asPublic...)
	prkKey, err := hkdf.Extract(sha256.New, shared, auth)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("rfc8291: decrypt: %w", err)
	}
	// The last record ends with the delimiter 0x02 and zero padding.
	end := len(bytes.TrimRight(plain, "\x00"))
	if end == 0 || plain[end-1] != 0x02 {
		return nil, errors.New("rfc8291: no last-record delimiter")
	}
	return plain[:end-1], nil
}
