package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/gologshim"

	"github.com/hearth-chat/hearth/media"
	"github.com/hearth-chat/hearth/metrics"
	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/p2p"
	"github.com/hearth-chat/hearth/push"
	"github.com/hearth-chat/hearth/search"
	"github.com/hearth-chat/hearth/store"
	"github.com/hearth-chat/hearth/token"
	"github.com/hearth-chat/hearth/webui"
)

// Config is everything `hearth serve` can be told (API.md §1).
type Config struct {
	Data      string
	HTTP      string
	P2P       []string
	Peers     []string
	Name      string
	MDNS      bool
	LogLevel  string
	LogFormat string
	Origins   []string
	UserRate  float64
	Debug     string
	// MaxUpload and UserQuota bound one file and one user's files, in
	// bytes; MediaGrace is how long an unreferenced file is kept.
	MaxUpload  int64
	UserQuota  int64
	MediaGrace time.Duration
	// PublicURLs are the URLs the node is served under (--public-url).
	PublicURLs []string
	// Caps on what strangers and users can make the node hold
	// (docs/security.md, resource table).
	UserSockets   int
	UnauthPerAddr int
	UnauthTotal   int
	MaxConns      int
	UserRooms     int
	UserJoined    int
	UserSessions  int
	// Registration, Federation and Metrics: docs/operations.md.
	Registration string
	Federation   string
	Metrics      string
	// Push turns Web Push on; PushSubject is the VAPID contact (a mailto:
	// or https: URL; empty picks one, docs/notifications.md);
	// PushLoopback lets subscriptions name http:// endpoints on loopback
	// addresses (tests, a local push service).
	Push         bool
	PushSubject  string
	PushLoopback bool
	// Search keeps the full-text index (docs/search.md); off, searches
	// answer 503 and sends skip the indexing (about 200 µs of CPU each).
	Search bool
	// HeaderTimeout bounds how long a client may take to send request
	// headers (slowloris); 10 s. Not a flag: tests shorten it.
	HeaderTimeout time.Duration
}

// defaultMaxConns bounds open HTTP connections: above the load tests'
// 10,000 idle WebSockets, below a default file descriptor limit of 65,536.
const defaultMaxConns = 16384

// Main is a running node: the wiring of every package. Tests run it
// in-process with ParseFlags, Run and Close.
type Main struct {
	Config Config
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	lock    *os.File
	db      *store.DB
	files   *media.Store
	search  *search.Index
	node    *node.Node
	hub     *webui.Hub
	web     *webui.Server
	host    *p2p.Host
	http    *http.Server
	ln      net.Listener
	stopP   context.CancelFunc
	admin   *http.Server
	adminLn net.Listener

	debug     *http.Server
	metrics   *http.Server
	metricsLn net.Listener
	closing   atomic.Bool // readyz answers 503 once set
	closeOnce sync.Once
	closeErr  error
	p2pD      chan struct{}
}

// NewMain returns a Main with default configuration.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{stdout: stdout, stderr: stderr}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ParseFlags reads flags, with HEARTH_<FLAG> environment variables as
// defaults (a flag on the command line wins; list flags take
// comma-separated values from the environment).
//
// Long (over 80 lines) because most of it is the list of flags.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("hearth serve", flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	c := &m.Config
	host, _ := os.Hostname()
	var p2pAddrs, peers, origins, publicURLs listFlag
	fs.StringVar(&c.Data, "data", "./hearth-data", "directory for all state: database, node key, media")
	fs.StringVar(&c.HTTP, "http", "127.0.0.1:8080", "HTTP + WebSocket listen address (port 0 picks a free port)")
	fs.Var(&p2pAddrs, "p2p", "libp2p listen multiaddr; repeatable (default /ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/udp/4001/quic-v1)")
	fs.Var(&peers, "peer", "peer multiaddr ending in /p2p/<id> to dial at start; repeatable")
	fs.StringVar(&c.Name, "name", host, "a human label for this node")
	fs.BoolVar(&c.MDNS, "mdns", true, "discover nodes on the local network")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.Var(&origins, "allow-origin", "extra browser origin allowed to use the API (scheme://host:port); repeatable")
	fs.Float64Var(&c.UserRate, "user-rate", 200, "API requests and WebSocket frames per second per user; negative disables")
	fs.StringVar(&c.Debug, "debug-addr", "", "serve Go profiling (net/http/pprof) on this address, e.g. 127.0.0.1:6060; off when empty")
	c.MaxUpload, c.UserQuota = node.DefaultMaxUpload, node.DefaultUserQuota
	fs.Var((*byteSize)(&c.MaxUpload), "max-upload", "largest file a user may upload (e.g. 50MiB); larger uploads get 413")
	fs.Var((*byteSize)(&c.UserQuota), "user-quota", "bytes of uploads each user may keep (e.g. 1GiB)")
	fs.DurationVar(&c.MediaGrace, "media-grace", 24*time.Hour, "how long an uploaded file that no message or avatar uses is kept")
	fs.Var(&publicURLs, "public-url", "a URL the node is served under (scheme://host[:port]); other host names are refused, loopback names and IP literals always served; repeatable")
	fs.IntVar(&c.UserSockets, "user-sockets", webui.DefaultUserSockets, "authenticated WebSockets per user; negative removes the cap")
	fs.IntVar(&c.UnauthPerAddr, "unauth-sockets-per-addr", webui.DefaultUnauthPerAddr, "WebSockets not yet authenticated, per client address")
	fs.IntVar(&c.UnauthTotal, "unauth-sockets", webui.DefaultUnauthTotal, "WebSockets not yet authenticated, in all")
	fs.IntVar(&c.MaxConns, "max-conns", defaultMaxConns, "open HTTP connections (WebSockets included); more wait to be accepted; 0 removes the cap")
	fs.IntVar(&c.UserRooms, "user-rooms", node.DefaultRoomsPerUser, "rooms (DMs included) a user may create")
	fs.IntVar(&c.UserJoined, "user-joined-rooms", node.DefaultJoinedRoomsPerUser, "rooms a user may be in, joined or invited")
	fs.IntVar(&c.UserSessions, "user-sessions", node.DefaultSessionsPerUser, "sessions per user; a new login past it ends the oldest")
	fs.StringVar(&c.Registration, "registration", "open", "who may sign up: open, token (with an invite token from hearth admin invites) or closed")
	fs.StringVar(&c.Federation, "federation", "", "federate with every node but the blocked (open) or only the allowed (allowlist); empty keeps the stored mode (open on a new node)")
	fs.StringVar(&c.Metrics, "metrics", "", "serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9090; off when empty")
	fs.BoolVar(&c.Push, "push", true, "send Web Push notifications to users' browsers while no tab of theirs is open")
	fs.StringVar(&c.PushSubject, "push-subject", "", "contact for push services (mailto:you@example.org or an https URL); empty: the first https --public-url, else mailto:admin@<host name>")
	fs.BoolVar(&c.Search, "search", true, "keep a full-text index of messages in <data>/search for search; off, searches answer 503 unavailable")
	fs.BoolVar(&c.PushLoopback, "push-allow-loopback", false, "accept http:// push endpoints on loopback addresses and push to them (tests and local push services only)")

	// Environment first, so that flags given on the command line win. A
	// list flag given on the command line replaces the environment's list.
	envLists := map[string][]string{}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "HEARTH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" {
			return
		}
		if _, ok := f.Value.(*listFlag); ok {
			envLists[f.Name] = splitList(v)
			return
		}
		if err := f.Value.Set(v); err != nil && envErr == nil {
			envErr = fmt.Errorf("%s: %w", env, err)
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	onCLI := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCLI[f.Name] = true })
	for name, vals := range envLists {
		if !onCLI[name] {
			*(fs.Lookup(name).Value.(*listFlag)) = vals
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.P2P, c.Peers, c.Origins, c.PublicURLs = p2pAddrs, peers, origins, publicURLs
	for name, v := range map[string]int{"unauth-sockets-per-addr": c.UnauthPerAddr, "unauth-sockets": c.UnauthTotal,
		"user-rooms": c.UserRooms, "user-joined-rooms": c.UserJoined, "user-sessions": c.UserSessions} {
		if v < 1 {
			return fmt.Errorf("--%s must be at least 1", name)
		}
	}
	if c.MaxConns < 0 {
		return errors.New("--max-conns must be 0 (no cap) or more")
	}
	switch c.Registration {
	case node.RegistrationOpen, node.RegistrationToken, node.RegistrationClosed:
	default:
		return fmt.Errorf("--registration must be open, token or closed, not %q", c.Registration)
	}
	switch c.Federation {
	case "", node.FederationOpen, node.FederationAllowlist:
	default:
		return fmt.Errorf("--federation must be open or allowlist, not %q", c.Federation)
	}
	if c.PushSubject == "" {
		c.PushSubject = defaultPushSubject(c.PublicURLs, host)
	}
	if len(c.P2P) == 0 {
		c.P2P = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}
	}
	for _, p := range c.Peers {
		if _, err := p2p.ParsePeer(p); err != nil {
			return err
		}
	}
	return nil
}

// defaultPushSubject is the VAPID contact when none is given: the node's
// first https public URL, else a mailto: address at the host name.
func defaultPushSubject(publicURLs []string, host string) string {
	for _, u := range publicURLs {
		if strings.HasPrefix(u, "https://") {
			return u
		}
	}
	if host == "" {
		host = "localhost"
	}
	return "mailto:admin@" + host
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (m *Main) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.Config.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if m.Config.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(m.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(m.stderr, opts))
}

// Run opens the data directory and starts serving. It returns once the
// node is ready; Close stops it.
//
// Long (over 80 lines) because it is the wiring of every package in
// start order; each step is a few lines.
func (m *Main) Run(ctx context.Context) error {
	m.log = m.logger()
	// libp2p logs through a process-wide slog handler; route it into ours.
	gologshim.SetDefaultHandler(m.log.With("component", "libp2p").Handler())
	c := m.Config
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := m.lockData(); err != nil {
		return err
	}
	key, err := loadOrCreateKey(filepath.Join(c.Data, "node.key"))
	if err != nil {
		return err
	}
	secret, err := loadOrCreateSecret(filepath.Join(c.Data, "token.key"))
	if err != nil {
		return err
	}
	// Metrics are counted whether or not they are served: the observers
	// cost an atomic add, and the wiring stays one path.
	met := metrics.New()
	m.db, err = store.Open(filepath.Join(c.Data, "db"), store.Options{Logger: m.log.With("component", "store"), ObserveSync: met.ObserveSync})
	if err != nil {
		return err
	}
	m.files, err = media.Open(filepath.Join(c.Data, "media"), media.Config{Logger: m.log.With("component", "media")})
	if err != nil {
		return err
	}
	// The search index lives beside the database and is built from it
	// when missing (docs/search.md).
	var index node.SearchIndex // nil, not a nil *search.Index, when off
	if c.Search {
		m.search, err = search.Open(filepath.Join(c.Data, "search"), m.log.With("component", "search"))
		if err != nil {
			return err
		}
		index = m.search
	}
	m.hub = webui.NewHub(m.log.With("component", "hub"))
	var pushCfg node.PushConfig
	if c.Push {
		sender, err := push.Open(push.Config{
			KeyFile: filepath.Join(c.Data, "vapid.key"), Subject: c.PushSubject, AllowLoopback: c.PushLoopback,
			Logger: m.log.With("component", "push"),
		})
		if err != nil {
			return err
		}
		pushCfg = node.PushConfig{Sender: sender, AllowLoopbackHTTP: c.PushLoopback}
	}
	m.node, err = node.New(ctx, node.Config{
		Store: m.db, Key: key, Name: c.Name, Version: version,
		Logger: m.log.With("component", "node"), Notifier: m.hub,
		Media: m.files, MaxUpload: c.MaxUpload, UserQuota: c.UserQuota, MediaGrace: c.MediaGrace,
		RoomsPerUser: c.UserRooms, JoinedRoomsPerUser: c.UserJoined, SessionsPerUser: c.UserSessions,
		Admin:  node.AdminConfig{Registration: c.Registration, Federation: c.Federation},
		Push:   pushCfg,
		Search: index,
	})
	if err != nil {
		return err
	}
	m.hub.OnDelivered(m.node.Delivered)
	// The only place that knows *node.Node is what satisfies p2p.Domain
	// and webui.Domain (and node.Federation is what *p2p.Host offers
	// back).
	m.host, err = p2p.New(ctx, p2p.Config{
		Key: key, Listen: c.P2P, Peers: c.Peers, MDNS: c.MDNS, Domain: m.node, Media: m.node, Policy: m.node,
		Logger: m.log.With("component", "p2p"), Observer: met,
	})
	if err != nil {
		return err
	}
	m.node.SetFederation(m.host)
	m.node.SetMediaFetcher(m.host)
	pctx, cancel := context.WithCancel(context.Background())
	m.stopP, m.p2pD = cancel, make(chan struct{})
	go func() {
		defer close(m.p2pD)
		if err := m.host.Run(pctx); err != nil {
			m.log.Error("p2p stopped", "err", err)
		}
	}()
	tokens, err := token.NewIssuer(secret, string(m.node.ID()), token.MaxTTL, nil)
	if err != nil {
		return err
	}
	mediaKey, err := mediaCookieKey(secret)
	if err != nil {
		return err
	}
	mediaTokens, err := token.NewIssuer(mediaKey, string(m.node.ID())+"/media", token.MaxTTL, nil)
	if err != nil {
		return err
	}
	m.web, err = webui.New(webui.Config{
		Node: m.node, Hub: m.hub, Tokens: tokens, MediaTokens: mediaTokens, Logger: m.log.With("component", "http"),
		AllowedOrigins: c.Origins, PublicURLs: c.PublicURLs, UserRate: c.UserRate,
		UserSockets: c.UserSockets, UnauthPerAddr: c.UnauthPerAddr, UnauthTotal: c.UnauthTotal,
		Peers: m.host.PeerCount, Addrs: m.host.Addrs, Observer: met,
		Ready: func() bool { return m.db.Ready() && !m.closing.Load() },
	})
	if err != nil {
		return err
	}
	m.ln, err = net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTP, err)
	}
	if c.MaxConns > 0 {
		m.ln = newLimitListener(m.ln, c.MaxConns)
	}
	m.http = &http.Server{
		Handler:           m.web,
		ReadHeaderTimeout: cmp.Or(c.HeaderTimeout, 10*time.Second),
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.With("component", "http").Handler(), slog.LevelDebug),
	}
	go func() {
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http server stopped", "err", err)
		}
	}()
	if len(c.PublicURLs) == 0 {
		if h, _, err := net.SplitHostPort(m.ln.Addr().String()); err == nil && !net.ParseIP(h).IsLoopback() {
			m.log.Warn("serving loopback names and IP literals only: a browser or proxy reaching this node by a DNS name gets 421 until it is named with --public-url")
		}
	}
	m.serveAdmin()
	m.serveDebug()
	if err := m.serveMetrics(met); err != nil {
		return err
	}
	m.log.Info("hearth ready", "http", m.ln.Addr().String(), "url", "http://"+m.ln.Addr().String(), "node", m.node.ID(), "name", c.Name, "p2p", strings.Join(m.host.Addrs(), ","))
	return nil
}

// HTTPAddr is the address the HTTP server listens on.
func (m *Main) HTTPAddr() string { return m.ln.Addr().String() }

// Close shuts down in order: stop taking requests, close WebSockets with
// 1001 and let in-flight sends finish, stop federation, close the node and
// the database.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	m.closing.Store(true) // readyz: 503 from now on
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		cancel()
	}
	if m.debug != nil {
		_ = m.debug.Close()
	}
	if m.metrics != nil {
		_ = m.metrics.Close()
	}
	if m.admin != nil {
		_ = m.admin.Close()
		_ = os.Remove(adminSocket(m.Config.Data))
	}
	if m.hub != nil {
		m.hub.Shutdown()
	}
	if m.web != nil {
		m.web.Close()
	}
	if m.stopP != nil {
		m.stopP()
		<-m.p2pD
	}
	if m.host != nil {
		if err := m.host.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.node != nil {
		errs = append(errs, m.node.Close())
	}
	if m.search != nil {
		errs = append(errs, m.search.Close())
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	if m.lock != nil {
		m.lock.Close()
	}
	if m.log != nil {
		m.log.Info("hearth stopped")
	}
	return errors.Join(errs...)
}

// lockData takes an exclusive lock on the data directory, so a second
// process on the same --data fails at once with a clear message.
func (m *Main) lockData() error {
	path := filepath.Join(m.Config.Data, "hearth.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("data directory %s is in use by another hearth process", m.Config.Data)
	}
	_ = f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	m.lock = f
	return nil
}

func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("node key %s is corrupt (%d bytes)", path, len(b))
		}
		return ed25519.NewKeyFromSeed(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	if err := writeSecretFile(path, priv.Seed()); err != nil {
		return nil, err
	}
	return priv, nil
}

func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("token secret %s is corrupt", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read token secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, writeSecretFile(path, b)
}

// writeSecretFile writes a key durably: temp file, fsync, rename.
func writeSecretFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
