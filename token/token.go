// Package token mints and verifies Hearth access tokens: short-lived JWTs
// signed by the node with HMAC-SHA256.
//
// Verification pins the algorithm (alg=none and RS/ES confusion fail),
// requires exp, iat, sub and sid, and checks issuer and audience, so a token
// of another node is refused even if both were somehow keyed alike.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTTL is the longest lifetime of an access token (API.md §3).
const MaxTTL = 15 * time.Minute

// ErrInvalid is returned for every token that does not verify; the reason
// is wrapped for logs but never shown to clients.
var ErrInvalid = errors.New("invalid access token")

// Claims are what an access token says.
type Claims struct {
	User    string // user ID
	Session string // session ID, checked against the store
	Expires time.Time
}

type jwtClaims struct {
	SID string `json:"sid"`
	jwt.RegisteredClaims
}

// Issuer mints and verifies tokens for one node.
type Issuer struct {
	secret []byte
	name   string // "hearth:<nodeID>", both issuer and audience
	ttl    time.Duration
	now    func() time.Time
}

// NewIssuer returns an issuer for a node. secret must be at least 32 bytes;
// ttl is capped at MaxTTL (and defaults to it). now may be nil.
func NewIssuer(secret []byte, nodeID string, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("token secret must be at least 32 bytes")
	}
	if ttl <= 0 || ttl > MaxTTL {
		ttl = MaxTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{secret: secret, name: "hearth:" + nodeID, ttl: ttl, now: now}, nil
}

// TTL is the lifetime of minted tokens.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue mints a token for a user's session.
func (i *Issuer) Issue(user, session string) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(i.ttl)
	c := jwtClaims{
		SID: session,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.name,
			Audience:  jwt.ClaimStrings{i.name},
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token and returns its claims.
func (i *Issuer) Verify(tok string) (*Claims, error) {
	if len(tok) == 0 || len(tok) > 4096 {
		return nil, ErrInvalid
	}
	var c jwtClaims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(i.name),
		jwt.WithAudience(i.name),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	_, err := p.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) { return i.secret, nil })
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Subject == "" || c.SID == "" || c.ExpiresAt == nil || c.IssuedAt == nil {
		return nil, fmt.Errorf("%w: missing claims", ErrInvalid)
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTTL+time.Second {
		return nil, fmt.Errorf("%w: lifetime over 15 minutes", ErrInvalid)
	}
	return &Claims{User: c.Subject, Session: c.SID, Expires: c.ExpiresAt.Time}, nil
}
