package token_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hearth-chat/hearth/token"
)

func secret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIssueAndVerify(t *testing.T) {
	iss, err := token.NewIssuer(secret(t), "nodeA", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := iss.Issue("alice@nodeA", "sess1")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d > token.MaxTTL || d < token.MaxTTL-time.Minute {
		t.Fatalf("expiry in %v, want about 15 minutes", d)
	}
	c, err := iss.Verify(tok)
	if err != nil || c.User != "alice@nodeA" || c.Session != "sess1" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if _, err := token.NewIssuer([]byte("short"), "n", 0, nil); err == nil {
		t.Fatal("accepted a short secret")
	}
}

// TestVerifyRefusesAttacks covers the classic JWT attacks: each token must
// fail with ErrInvalid.
func TestVerifyRefusesAttacks(t *testing.T) {
	key := secret(t)
	now := time.Now()
	iss, _ := token.NewIssuer(key, "nodeA", 0, func() time.Time { return now })
	claims := func(mod func(*jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": "hearth:nodeA", "aud": []string{"hearth:nodeA"}, "sub": "alice@nodeA", "sid": "s1",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims, k any) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	valid := sign(jwt.SigningMethodHS256, claims(nil), key)
	if _, err := iss.Verify(valid); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding

	cases := map[string]string{
		"alg none":                   b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg none with signature":    b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2],
		"HS512 with the same secret": sign(jwt.SigningMethodHS512, claims(nil), key),
		"RS256":                      sign(jwt.SigningMethodRS256, claims(nil), rsaKey),
		"EdDSA":                      sign(jwt.SigningMethodEdDSA, claims(nil), edKey),
		"wrong secret":               sign(jwt.SigningMethodHS256, claims(nil), secret(t)),
		"expired": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
			(*c)["exp"] = now.Add(-time.Second).Unix()
		}), key),
		"no exp": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) { delete(*c, "exp") }), key),
		"not yet valid": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
			(*c)["nbf"] = now.Add(time.Minute).Unix()
		}), key),
		"issued in the future": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
			(*c)["iat"] = now.Add(time.Hour).Unix()
		}), key),
		"lifetime over 15 minutes": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
			(*c)["exp"] = now.Add(24 * time.Hour).Unix()
		}), key),
		"another node's issuer": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) { (*c)["iss"] = "hearth:nodeB" }), key),
		"another node's audience": sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
			(*c)["aud"] = []string{"hearth:nodeB"}
		}), key),
		"no session":      sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) { delete(*c, "sid") }), key),
		"no subject":      sign(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) { delete(*c, "sub") }), key),
		"tampered claims": parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"hearth:nodeA","aud":["hearth:nodeA"],"sub":"admin@nodeA","sid":"s1","iat":1,"exp":9999999999}`)) + "." + parts[2],
		"garbage":         "not.a.jwt",
		"empty":           "",
		"huge":            strings.Repeat("a", 10000),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if c, err := iss.Verify(tok); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify accepted: %+v, %v", c, err)
			}
		})
	}
}

// TestTokensOfAnotherNode: a token minted by node B is refused by node A
// even when both happen to share a secret.
func TestTokensOfAnotherNode(t *testing.T) {
	key := secret(t)
	a, _ := token.NewIssuer(key, "nodeA", 0, nil)
	b, _ := token.NewIssuer(key, "nodeB", 0, nil)
	tok, _, _ := b.Issue("mallory@nodeB", "s")
	if _, err := a.Verify(tok); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("node A accepted node B's token: %v", err)
	}
}
