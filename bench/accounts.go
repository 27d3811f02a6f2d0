package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Accounts are Hearth bench users signed up once, each with a refresh
// token, so that later runs on a copy of the same data directory sign in
// by refreshing (one database write) instead of hashing a password
// (argon2id, tens of milliseconds of CPU each: 10,000 sign-ins would cost
// minutes of the node's CPU in every run).
type Accounts struct {
	// URL is the node they were created on, for the record.
	URL      string    `json:"url,omitempty"`
	Prefix   string    `json:"prefix"`
	Password string    `json:"password"`
	Created  time.Time `json:"created"`
	// Users is how many there are: Prefix0 … Prefix{Users-1}, and
	// Prefix-sender.
	Users int `json:"users"`
	// Refresh maps usernames to refresh tokens.
	Refresh map[string]string `json:"refresh"`
	// SignUpSeconds is how long signing them all up took.
	SignUpSeconds float64 `json:"sign_up_seconds"`
}

// LoadAccounts reads accounts saved by SaveAccounts.
func LoadAccounts(path string) (Accounts, error) {
	var a Accounts
	b, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("accounts %s: %w", path, err)
	}
	return a, nil
}

// SaveAccounts writes a to path.
func SaveAccounts(path string, a Accounts) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// PrepareAccounts registers users Prefix0 … Prefix{users-1} and
// Prefix-sender on the Hearth node at url, through the public API (each
// from its own loopback address group, as the node's per-address limits
// expect), and returns them with their refresh tokens.
func PrepareAccounts(ctx context.Context, url, prefix, password string, users int, log *slog.Logger) (Accounts, error) {
	cfg := Config{URLs: []string{url}, UsersPrefix: prefix, Password: password, Logger: log}
	if err := cfg.setDefaults(); err != nil {
		return Accounts{}, err
	}
	d, err := newHearthDriver(&cfg)
	if err != nil {
		return Accounts{}, err
	}
	a := Accounts{URL: url, Prefix: cfg.UsersPrefix, Password: cfg.Password, Users: users, Refresh: map[string]string{}}
	var mu sync.Mutex
	start := time.Now()
	register := func(ctx context.Context, u int, name string) error {
		var s struct {
			RefreshToken string `json:"refreshToken"`
		}
		body := map[string]string{"username": name, "password": cfg.Password, "displayName": name}
		if err := d.do(ctx, 0, u, "POST", "/api/v1/auth/register", "", body, &s); err != nil {
			if err := d.do(ctx, 0, u, "POST", "/api/v1/auth/login", "", body, &s); err != nil {
				return fmt.Errorf("sign up %s: %w", name, err)
			}
		}
		mu.Lock()
		a.Refresh[name] = s.RefreshToken
		mu.Unlock()
		return nil
	}
	if err := register(ctx, -1, cfg.UsersPrefix+"-sender"); err != nil {
		return a, err
	}
	// The node hashes two passwords at a time; a few more in flight keep
	// it busy without piling up requests.
	err = forEach(ctx, users, 4, func(ctx context.Context, u int) error {
		if u > 0 && u%1000 == 0 {
			log.Info("hearth: signed up", "users", u, "took", time.Since(start).Round(time.Second))
		}
		return register(ctx, u, fmt.Sprintf("%s%d", cfg.UsersPrefix, u))
	})
	a.Created = time.Now().UTC()
	a.SignUpSeconds = time.Since(start).Seconds()
	return a, err
}
