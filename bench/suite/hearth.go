package suite

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hearth-chat/hearth/bench"
)

// Sign-ups are the expensive part of a Hearth bench user: argon2id costs
// tens of milliseconds of CPU per password, on purpose. The suite signs
// its users up once, through the public API, on a data directory it keeps
// under CacheDir with their refresh tokens; every Hearth run then starts
// a node on a fresh copy of that directory and signs its users in by
// refreshing their stored sessions (what a returning browser does), so no
// measured run, and no run's setup, hashes a password.

// accountsCacheMaxAge is how old a cache may be before it is rebuilt
// (sessions live 30 days).
const accountsCacheMaxAge = 20 * 24 * time.Hour

// AccountsInfo says how the run's Hearth users were made, for the report.
type AccountsInfo struct {
	Users int `json:"users"`
	// Cached is true when they came from an earlier run's cache.
	Cached  bool      `json:"cached"`
	Created time.Time `json:"created"`
	// SignUpSeconds is how long signing them up took when the cache was
	// built.
	SignUpSeconds float64 `json:"sign_up_seconds"`
	Dir           string  `json:"dir"`
}

// PrepareUsers makes sure the accounts cache for cfg exists (signing the
// users up if it does not) and says what it holds; RunSuite with the same
// configuration then finds it.
func PrepareUsers(ctx context.Context, cfg Config) (*AccountsInfo, error) {
	cfg.setDefaults()
	if err := cfg.Peers.fill(); err != nil {
		return nil, err
	}
	_, info, err := cfg.hearthAccounts(ctx)
	return info, err
}

// hearthAccounts returns the accounts and the template data directory,
// building them when the cache is missing, too small or too old.
func (c *Config) hearthAccounts(ctx context.Context) (bench.Accounts, *AccountsInfo, error) {
	// One cache, kept while it holds enough users: a quick run reuses a
	// full run's.
	dir := filepath.Join(c.CacheDir, "hearth-users")
	info := &AccountsInfo{Users: c.Users, Dir: dir}
	path := filepath.Join(dir, "accounts.json")
	if a, err := bench.LoadAccounts(path); err == nil && a.Users >= c.Users && time.Since(a.Created) < accountsCacheMaxAge {
		// The cache must still open with this binary (a newer schema
		// would be refused).
		if srv, err := c.startHearth(ctx, filepath.Join(dir, "data")); err == nil {
			srv.Stop()
			info.Cached, info.Created, info.SignUpSeconds = true, a.Created, a.SignUpSeconds
			return a, info, nil
		}
		c.Logger.Warn("the cached Hearth data directory does not start; signing the users up again", "dir", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return bench.Accounts{}, nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return bench.Accounts{}, nil, err
	}
	c.Logger.Info("signing up the Hearth bench users once; later runs reuse them", "users", c.Users, "dir", dir)
	srv, err := c.Peers.Start(ctx, "hearth", data)
	if err != nil {
		return bench.Accounts{}, nil, err
	}
	a, err := bench.PrepareAccounts(ctx, srv.URL, "bench", "bench-password", c.Users, c.Logger)
	if stopErr := srv.Stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return bench.Accounts{}, nil, fmt.Errorf("sign up bench users: %w", err)
	}
	if err := bench.SaveAccounts(path, a); err != nil {
		return bench.Accounts{}, nil, err
	}
	info.Created, info.SignUpSeconds = a.Created, a.SignUpSeconds
	return a, info, nil
}

// hearthServer is a node started on a fresh copy of the accounts' data
// directory; Stop removes the copy.
type hearthServer struct {
	*Server
	dir string
}

func (h *hearthServer) Stop() error {
	err := h.Server.Stop()
	os.RemoveAll(h.dir)
	return err
}

// startHearth starts a node on a copy of template (the accounts' data
// directory), so that the stored refresh tokens are unspent in it.
func (c *Config) startHearth(ctx context.Context, template string) (*hearthServer, error) {
	dir, err := os.MkdirTemp("", "hearth-bench-run-")
	if err != nil {
		return nil, err
	}
	if err := copyDir(template, dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("copy %s: %w", template, err)
	}
	srv, err := c.Peers.Start(ctx, "hearth", dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &hearthServer{Server: srv, dir: dir}, nil
}

// copyDir copies the regular files and directories under src into dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		fi, err := in.Stat()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
