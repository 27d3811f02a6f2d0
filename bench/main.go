package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// urlList is a repeatable string flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }
func (u *urlList) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// Main is `hearth bench`: it parses args (the flags after the subcommand),
// runs, and prints the result to stdout as a table, or as JSON with
// --json. Progress goes to stderr.
//
// Long (over 80 lines) because most of it is the list of flags.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	var (
		cfg     Config
		urls    urlList
		asJSON  bool
		quiet   bool
		jsonOut string
		cpuProf string
		work    string
		accts   string
		prepare int
		sizes   string
		joins   int
		cUsers  int
		cRooms  int
		cDur    time.Duration
	)
	def, defJ, defC := DefaultConfig(), DefaultJoins(), DefaultCommunity()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: hearth bench [flags]

Workload F: --receivers connections in one room, one sender sending
--messages messages of --size bytes at --rate per second; reports latency
(due time to receipt), deliveries per second, lost and duplicated
messages, and with --pid the server's CPU time and peak RSS.
With --idle N: open N idle authenticated connections and report the
server's RSS growth per connection (needs --pid).
--workload joins (J): users join one room while others talk; bytes of
state frames each existing member receives per join, at several sizes.
--workload community (C): users in rooms of mixed sizes posting a few
messages a minute; latency, server CPU per delivery, RSS.
--prepare-accounts N --accounts FILE signs up N users (Hearth) and saves
their refresh tokens; --accounts FILE then signs them in by refreshing.

flags:
`)
		fs.PrintDefaults()
	}
	fs.Var(&urls, "url", "server base URL; repeat for several federated nodes (default "+def.URLs[0]+")")
	fs.StringVar(&cfg.Target, "target", def.Target, "protocol: hearth, socketio or centrifugo")
	fs.IntVar(&cfg.Receivers, "receivers", def.Receivers, "N: receiving connections")
	fs.Float64Var(&cfg.Rate, "rate", def.Rate, "R: messages per second")
	fs.IntVar(&cfg.Messages, "messages", def.Messages, "messages to send")
	fs.IntVar(&cfg.Size, "size", def.Size, "message body size in bytes")
	fs.IntVar(&cfg.PID, "pid", 0, "server process ID, to sample /proc/PID for CPU and memory (local server only)")
	fs.IntVar(&cfg.Idle, "idle", 0, "open this many idle authenticated connections and report server memory per connection")
	fs.StringVar(&cfg.UsersPrefix, "users-prefix", def.UsersPrefix, "Hearth usernames are PREFIX0, PREFIX1, … and PREFIX-sender; reused across runs")
	fs.StringVar(&cfg.Password, "password", def.Password, "password of the Hearth users")
	fs.IntVar(&cfg.ConnsPerUser, "conns-per-user", def.ConnsPerUser, "receiving connections per Hearth user (1: one user per connection)")
	fs.StringVar(&cfg.Channel, "channel", def.Channel, "room or channel name for socketio and centrifugo")
	fs.DurationVar(&cfg.Warmup, "warmup", def.Warmup, "pause between connecting and sending")
	fs.DurationVar(&cfg.Drain, "drain", def.Drain, "how long after the last message is due to wait for deliveries")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", def.DialConcurrency, "connections opened at once")
	fs.DurationVar(&cfg.RateLimitWait, "rate-limit-wait", def.RateLimitWait, "total time to wait out HTTP 429s before failing")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON instead of a table")
	fs.StringVar(&jsonOut, "json-out", "", "also write the result as JSON to this file")
	fs.BoolVar(&quiet, "quiet", false, "no progress messages on stderr")
	fs.StringVar(&cpuProf, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	fs.StringVar(&work, "workload", "fanout", "fanout (F), joins (J) or community (C)")
	fs.StringVar(&accts, "accounts", "", "Hearth accounts file (refresh tokens) to sign in with; written by --prepare-accounts")
	fs.IntVar(&prepare, "prepare-accounts", 0, "sign up this many Hearth users and write --accounts, then exit")
	fs.StringVar(&sizes, "sizes", joinInts(defJ.Sizes), "workload J: room sizes")
	fs.IntVar(&joins, "joins", defJ.Joins, "workload J: joins measured per size")
	fs.IntVar(&cUsers, "users", defC.Users, "workload C: users")
	fs.IntVar(&cRooms, "rooms", defC.Rooms, "workload C: rooms")
	fs.DurationVar(&cDur, "duration", defC.Duration, "workload C: how long users post")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.URLs = urls
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if cpuProf != "" {
		f, err := os.Create(cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if prepare > 0 {
		if accts == "" || len(urls) != 1 {
			return errors.New("--prepare-accounts needs --accounts FILE and one --url")
		}
		a, err := PrepareAccounts(ctx, urls[0], cfg.UsersPrefix, cfg.Password, prepare, cfg.Logger)
		if err != nil {
			return err
		}
		return SaveAccounts(accts, a)
	}
	if accts != "" {
		a, err := LoadAccounts(accts)
		if err != nil {
			return err
		}
		cfg.Accounts, cfg.UsersPrefix, cfg.Password = a, a.Prefix, a.Password
	}
	var out any
	switch work {
	case "joins", "J":
		ns, err := parseInts(sizes)
		if err != nil {
			return err
		}
		out, err = RunJoins(ctx, JoinsConfig{URL: first(urls), PID: cfg.PID, Sizes: ns, Joins: joins,
			UsersPrefix: cfg.UsersPrefix, Password: cfg.Password, Accounts: cfg.Accounts, Logger: cfg.Logger})
		if err != nil {
			return err
		}
	case "community", "C":
		var err error
		out, err = RunCommunity(ctx, CommunityConfig{URL: first(urls), PID: cfg.PID, Users: cUsers, Rooms: cRooms, Duration: cDur,
			UsersPrefix: cfg.UsersPrefix, Password: cfg.Password, Accounts: cfg.Accounts, Logger: cfg.Logger})
		if err != nil {
			return err
		}
	case "fanout", "F":
	default:
		return fmt.Errorf("unknown workload %q", work)
	}
	if out != nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return WriteTable(stdout, res)
}

// WriteTable prints res for people.
func WriteTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, f string, a ...any) { fmt.Fprintf(tw, "%s\t"+f+"\n", append([]any{k}, a...)...) }
	row("target", "%s  %s", r.Target, strings.Join(r.URLs, " "))
	if r.Idle != nil {
		i := r.Idle
		row("idle connections", "%d (%d users), opened in %.1f s", i.Conns, i.Users, i.DialSeconds)
		row("server RSS", "%s -> %s (half open) -> %s", mib(i.RSSBefore), mib(i.RSSHalf), mib(i.RSSAfter))
		row("per connection", "%.1f KiB server (second half; %.1f KiB over all), %.1f KiB load tool",
			i.MarginalBytesPerConn/1024, i.BytesPerConn/1024, i.ToolBytesPerConn/1024)
		return tw.Flush()
	}
	users := ""
	if r.ConnsPerUser > 0 {
		users = fmt.Sprintf(" (%d per user)", r.ConnsPerUser)
	}
	row("receivers", "%d%s", r.Receivers, users)
	row("load", "%d messages of %d B at %g/s", r.Messages, r.Size, r.Rate)
	row("sent", "%d in %.2f s (acks %d, refused %d, max sender lag %.1f ms)", r.Sent, r.SendSeconds, r.Acks, r.SendErrors, r.SenderLagMax)
	if r.FirstError != "" {
		row("first refusal", "%.200s", r.FirstError)
	}
	row("deliveries", "%d of %d: lost %d, duplicated %d, disconnected receivers %d", r.Received, r.Expected, r.Lost, r.Duplicates, r.Disconnected)
	row("throughput", "%.0f deliveries/s over %.2f s", r.DeliveriesPerSec, r.Seconds)
	l := r.Latency
	row("latency", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (worst receiver p99 %s)", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), ms(r.WorstReceiverP99))
	if len(r.Timeline) > 1 {
		var b strings.Builder
		for i, t := range r.Timeline {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.0f", t.MaxMs)
		}
		row("max by second", "%s (ms, by the second each message was due)", b.String())
	}
	if a := r.AckLatency; a != nil {
		row("ack latency", "p50 %s  p99 %s  max %s", ms(a.P50), ms(a.P99), ms(a.Max))
	}
	for _, n := range r.Nodes {
		row("  node", "%s: %d receivers, lost %d, p50 %s p99 %s", n.URL, n.Receivers, n.Lost, ms(n.Latency.P50), ms(n.Latency.P99))
	}
	if s := r.Server; s != nil {
		row("server", "pid %d: %.2f CPU s (%.0f deliveries per CPU s), peak RSS %s (lifetime %s)", s.PID, s.CPUSeconds, s.DeliveriesPerCPUSecond, mib(s.PeakRSS), mib(s.HWM))
	}
	row("load tool", "%.2f CPU s; machine load average %.2f at start", r.ToolCPUSeconds, r.LoadAvg)
	return tw.Flush()
}

func first(urls []string) string {
	if len(urls) == 0 {
		return DefaultConfig().URLs[0]
	}
	return urls[0]
}

// joinInts writes ns as parseInts reads them.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
