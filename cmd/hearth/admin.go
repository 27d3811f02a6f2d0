package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// adminUsage lists `hearth admin`'s commands (docs/operations.md).
const adminUsage = `usage: hearth admin [--data DIR] [--json] <command> [args]

Talks to the running node through DIR/admin.sock (owner-only); --json
prints the node's JSON answer for scripts. Exit status 1 on failure.

  users list [--q TEXT] [--after NAME] [--limit N]
  users lock USER [--reason TEXT]        end their sessions, refuse logins
  users unlock USER
  users reset-password USER [--password-stdin]   prints a new password
  users make-admin USER | users unmake-admin USER
  users delete USER --yes                erase the account and its messages
  invites list
  invites create [--uses N] [--expires 7d] [--note TEXT]   prints the token
  invites revoke ID
  rooms list
  rooms close ROOM [--reason TEXT]       remove local members, stop serving it
  rooms reopen ROOM
  nodes list                             the federation mode and rules
  nodes block NODE [--note TEXT] | nodes allow NODE [--note TEXT]
  nodes clear NODE                       drop the node's rule
  nodes mode open|allowlist
  reports list [--all]                   users' reports, open ones unless --all
  reports resolve ID [--note TEXT]
  audit [--limit N] [--before ID]
`

// adminClient calls the node's admin API over its admin socket.
type adminClient struct {
	data   string
	json   bool
	stdin  io.Reader
	stdout io.Writer
	http   *http.Client
}

// adminCommand is `hearth admin`.
func adminCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &adminClient{data: envOr("HEARTH_DATA", "./hearth-data"), stdin: os.Stdin, stdout: stdout}
	// --data and --json may come anywhere, before or after the command.
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" || a == "-json":
			c.json = true
		case a == "--data" || a == "-data":
			if i+1 == len(args) {
				return errors.New("--data needs a directory")
			}
			i++
			c.data = args[i]
		case strings.HasPrefix(a, "--data=") || strings.HasPrefix(a, "-data="):
			c.data = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		fmt.Fprint(stdout, adminUsage)
		if len(rest) == 0 {
			return errors.New("a command is needed")
		}
		return nil
	}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", adminSocket(c.data))
		},
	}}
	key := rest[0]
	if len(rest) > 1 && rest[0] != "audit" {
		key += " " + rest[1]
		rest = rest[2:]
	} else {
		rest = rest[1:]
	}
	cmd, ok := adminCommands[key]
	if !ok {
		return fmt.Errorf("unknown command %q (hearth admin help lists them)", key)
	}
	return cmd(ctx, c, rest)
}

type adminCmd func(ctx context.Context, c *adminClient, args []string) error

var adminCommands = map[string]adminCmd{
	"users list":           usersList,
	"users lock":           usersLock(true),
	"users unlock":         usersLock(false),
	"users reset-password": usersReset,
	"users make-admin":     usersAdmin(true),
	"users unmake-admin":   usersAdmin(false),
	"users delete":         usersDelete,
	"invites list":         invitesList,
	"invites create":       invitesCreate,
	"invites revoke":       invitesRevoke,
	"rooms list":           roomsList,
	"rooms close":          roomsClose,
	"rooms reopen":         roomsReopen,
	"nodes list":           nodesList,
	"nodes block":          nodesRule("block"),
	"nodes allow":          nodesRule("allow"),
	"nodes clear":          nodesClear,
	"nodes mode":           nodesMode,
	"reports list":         reportsList,
	"reports resolve":      reportsResolve,
	"audit":                auditList,
}

// parse parses a command's flags, which may come before or after its
// positional arguments, and checks how many of those there are.
func parse(name string, args []string, positional int, fs *flag.FlagSet) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		return nil, fmt.Errorf("%s takes %d argument(s), got %d (hearth admin help)", name, positional, len(pos))
	}
	return pos, nil
}

// apiError is the node's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call does one request and decodes the answer into out (when not nil);
// with --json it prints the answer as it came. A 4xx/5xx is returned as
// the node's own sentence.
func (c *adminClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hearth/api/v1/admin"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("no running node answers on %s (is hearth serve running with --data %s?): %w", adminSocket(c.data), c.data, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the node's answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e apiError
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("the node answered %s", resp.Status)
	}
	if c.json {
		if len(bytes.TrimSpace(raw)) == 0 {
			raw = []byte("{}")
		}
		_, err := c.stdout.Write(append(bytes.TrimSpace(raw), '\n'))
		return err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode the node's answer: %w", err)
		}
	}
	return nil
}

// done prints a confirmation line, unless --json printed the answer.
func (c *adminClient) done(format string, a ...any) {
	if !c.json {
		fmt.Fprintf(c.stdout, format+"\n", a...)
	}
}

func (c *adminClient) table(header string, rows [][]string) {
	if c.json {
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func esc(s string) string { return url.PathEscape(s) }

func when(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func usersList(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	q := fs.String("q", "", "")
	after := fs.String("after", "", "")
	limit := fs.Int("limit", 100, "")
	if _, err := parse("users list", args, 0, fs); err != nil {
		return err
	}
	var out struct {
		Users []struct {
			ID          string    `json:"id"`
			Username    string    `json:"username"`
			DisplayName string    `json:"displayName"`
			Admin       bool      `json:"admin"`
			Locked      bool      `json:"locked"`
			Deleted     bool      `json:"deleted"`
			CreatedAt   time.Time `json:"createdAt"`
		} `json:"users"`
		More bool `json:"more"`
	}
	v := url.Values{"q": {*q}, "after": {*after}, "limit": {strconv.Itoa(*limit)}}
	if err := c.call(ctx, "GET", "/users?"+v.Encode(), nil, &out); err != nil {
		return err
	}
	var rows [][]string
	for _, u := range out.Users {
		state := "active"
		switch {
		case u.Deleted:
			state = "deleted"
		case u.Locked:
			state = "locked"
		}
		rows = append(rows, []string{u.Username, u.DisplayName, yes(u.Admin), state, u.CreatedAt.UTC().Format("2006-01-02")})
	}
	c.table("USERNAME\tDISPLAY NAME\tADMIN\tSTATE\tCREATED", rows)
	if out.More && !c.json {
		fmt.Fprintf(c.stdout, "(more: --after %s)\n", out.Users[len(out.Users)-1].Username)
	}
	return nil
}

func usersLock(locked bool) adminCmd {
	name := "users unlock"
	if locked {
		name = "users lock"
	}
	return func(ctx context.Context, c *adminClient, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		reason := fs.String("reason", "", "")
		pos, err := parse(name, args, 1, fs)
		if err != nil {
			return err
		}
		path := "/users/" + esc(pos[0]) + "/unlock"
		if locked {
			path = "/users/" + esc(pos[0]) + "/lock"
		}
		if err := c.call(ctx, "POST", path, map[string]string{"reason": *reason}, nil); err != nil {
			return err
		}
		if locked {
			c.done("locked %s: sessions ended, logins refused", pos[0])
		} else {
			c.done("unlocked %s", pos[0])
		}
		return nil
	}
}

func usersReset(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("users reset-password", flag.ContinueOnError)
	fromStdin := fs.Bool("password-stdin", false, "")
	pos, err := parse("users reset-password", args, 1, fs)
	if err != nil {
		return err
	}
	body := map[string]string{}
	if *fromStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the password: %w", err)
		}
		body["password"] = strings.TrimRight(line, "\r\n")
	}
	var out struct {
		Password string `json:"password"`
	}
	if err := c.call(ctx, "POST", "/users/"+esc(pos[0])+"/password", body, &out); err != nil {
		return err
	}
	if out.Password != "" {
		c.done("new password for %s: %s\n(their sessions have ended; hand it over safely)", pos[0], out.Password)
	} else {
		c.done("password of %s set; their sessions have ended", pos[0])
	}
	return nil
}

func usersAdmin(admin bool) adminCmd {
	name := "users unmake-admin"
	if admin {
		name = "users make-admin"
	}
	return func(ctx context.Context, c *adminClient, args []string) error {
		pos, err := parse(name, args, 1, flag.NewFlagSet(name, flag.ContinueOnError))
		if err != nil {
			return err
		}
		method := "DELETE"
		if admin {
			method = "PUT"
		}
		if err := c.call(ctx, method, "/users/"+esc(pos[0])+"/admin", nil, nil); err != nil {
			return err
		}
		if admin {
			c.done("%s is a node admin", pos[0])
		} else {
			c.done("%s is no longer a node admin", pos[0])
		}
		return nil
	}
}

func usersDelete(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("users delete", flag.ContinueOnError)
	sure := fs.Bool("yes", false, "")
	pos, err := parse("users delete", args, 1, fs)
	if err != nil {
		return err
	}
	if !*sure {
		return fmt.Errorf("deleting %s erases their account and messages for good; add --yes to go ahead", pos[0])
	}
	var out struct {
		Messages int `json:"messages"`
		Rooms    int `json:"rooms"`
		Devices  int `json:"devices"`
	}
	if err := c.call(ctx, "DELETE", "/users/"+esc(pos[0]), nil, &out); err != nil {
		return err
	}
	c.done("deleted %s: %d messages deleted, %d rooms left, %d devices removed", pos[0], out.Messages, out.Rooms, out.Devices)
	return nil
}

type inviteView struct {
	ID          string `json:"id"`
	CreatedAt   int64  `json:"createdAt"`
	CreatedBy   string `json:"createdBy"`
	ExpiresAt   int64  `json:"expiresAt"`
	UsesAllowed int    `json:"usesAllowed"`
	Uses        int    `json:"uses"`
	Usable      bool   `json:"usable"`
	Note        string `json:"note"`
}

func invitesList(ctx context.Context, c *adminClient, args []string) error {
	if _, err := parse("invites list", args, 0, flag.NewFlagSet("invites list", flag.ContinueOnError)); err != nil {
		return err
	}
	var out struct {
		Invites []inviteView `json:"invites"`
	}
	if err := c.call(ctx, "GET", "/invites", nil, &out); err != nil {
		return err
	}
	var rows [][]string
	for _, t := range out.Invites {
		uses := fmt.Sprintf("%d/%d", t.Uses, t.UsesAllowed)
		if t.UsesAllowed == 0 {
			uses = fmt.Sprintf("%d/any", t.Uses)
		}
		state := "usable"
		if !t.Usable {
			state = "spent"
		}
		rows = append(rows, []string{t.ID, uses, when(t.ExpiresAt), state, when(t.CreatedAt), t.Note})
	}
	c.table("ID\tUSES\tEXPIRES\tSTATE\tCREATED\tNOTE", rows)
	return nil
}

// parseExpiry reads a duration with a days unit too ("7d", "12h").
func parseExpiry(s string) (time.Duration, error) {
	if s == "" || s == "never" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("--expires %q: a number of days such as 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("--expires %q: a duration such as 7d, 12h or 30m", s)
	}
	return v, nil
}

func invitesCreate(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("invites create", flag.ContinueOnError)
	uses := fs.Int("uses", 1, "")
	expires := fs.String("expires", "", "")
	note := fs.String("note", "", "")
	if _, err := parse("invites create", args, 0, fs); err != nil {
		return err
	}
	d, err := parseExpiry(*expires)
	if err != nil {
		return err
	}
	var out struct {
		Token  string     `json:"token"`
		Invite inviteView `json:"invite"`
	}
	body := map[string]any{"uses": *uses, "expiresIn": int64(d / time.Second), "note": *note}
	if err := c.call(ctx, "POST", "/invites", body, &out); err != nil {
		return err
	}
	c.done("%s\n(invite token %s: shown once; sign-up takes it in the \"token\" field)", out.Token, out.Invite.ID)
	return nil
}

func invitesRevoke(ctx context.Context, c *adminClient, args []string) error {
	pos, err := parse("invites revoke", args, 1, flag.NewFlagSet("invites revoke", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if err := c.call(ctx, "DELETE", "/invites/"+esc(pos[0]), nil, nil); err != nil {
		return err
	}
	c.done("revoked invite token %s", pos[0])
	return nil
}

func roomsList(ctx context.Context, c *adminClient, args []string) error {
	if _, err := parse("rooms list", args, 0, flag.NewFlagSet("rooms list", flag.ContinueOnError)); err != nil {
		return err
	}
	var out struct {
		Rooms []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			Kind         string `json:"kind"`
			Visibility   string `json:"visibility"`
			MemberCount  int    `json:"memberCount"`
			LocalMembers int    `json:"localMembers"`
			Encrypted    bool   `json:"encrypted"`
			Closed       bool   `json:"closed"`
		} `json:"rooms"`
	}
	if err := c.call(ctx, "GET", "/rooms", nil, &out); err != nil {
		return err
	}
	var rows [][]string
	for _, r := range out.Rooms {
		rows = append(rows, []string{r.ID, r.Name, r.Kind, r.Visibility, strconv.Itoa(r.MemberCount), strconv.Itoa(r.LocalMembers), yes(r.Encrypted), yes(r.Closed)})
	}
	c.table("ID\tNAME\tKIND\tVISIBILITY\tMEMBERS\tLOCAL\tENCRYPTED\tCLOSED", rows)
	return nil
}

func roomsClose(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("rooms close", flag.ContinueOnError)
	reason := fs.String("reason", "", "")
	pos, err := parse("rooms close", args, 1, fs)
	if err != nil {
		return err
	}
	var out struct {
		Removed int `json:"removed"`
	}
	if err := c.call(ctx, "POST", "/rooms/"+esc(pos[0])+"/close", map[string]string{"reason": *reason}, &out); err != nil {
		return err
	}
	c.done("closed %s on this node: %d local members removed", pos[0], out.Removed)
	return nil
}

func roomsReopen(ctx context.Context, c *adminClient, args []string) error {
	pos, err := parse("rooms reopen", args, 1, flag.NewFlagSet("rooms reopen", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/rooms/"+esc(pos[0])+"/reopen", nil, nil); err != nil {
		return err
	}
	c.done("reopened %s", pos[0])
	return nil
}

func nodesList(ctx context.Context, c *adminClient, args []string) error {
	if _, err := parse("nodes list", args, 0, flag.NewFlagSet("nodes list", flag.ContinueOnError)); err != nil {
		return err
	}
	var out struct {
		Mode  string `json:"mode"`
		Rules []struct {
			Node   string    `json:"node"`
			Action string    `json:"action"`
			Note   string    `json:"note"`
			At     time.Time `json:"at"`
			By     string    `json:"by"`
		} `json:"rules"`
	}
	if err := c.call(ctx, "GET", "/federation", nil, &out); err != nil {
		return err
	}
	c.done("federation mode: %s", out.Mode)
	var rows [][]string
	for _, r := range out.Rules {
		rows = append(rows, []string{r.Node, r.Action, r.At.UTC().Format("2006-01-02 15:04"), r.By, r.Note})
	}
	c.table("NODE\tRULE\tSINCE\tBY\tNOTE", rows)
	return nil
}

func nodesRule(action string) adminCmd {
	name := "nodes " + action
	return func(ctx context.Context, c *adminClient, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		note := fs.String("note", "", "")
		pos, err := parse(name, args, 1, fs)
		if err != nil {
			return err
		}
		if err := c.call(ctx, "PUT", "/federation/nodes/"+esc(pos[0]), map[string]string{"action": action, "note": *note}, nil); err != nil {
			return err
		}
		if action == "block" {
			c.done("blocked %s: its connections are closed and its events refused", pos[0])
		} else {
			c.done("allowed %s", pos[0])
		}
		return nil
	}
}

func nodesClear(ctx context.Context, c *adminClient, args []string) error {
	pos, err := parse("nodes clear", args, 1, flag.NewFlagSet("nodes clear", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if err := c.call(ctx, "DELETE", "/federation/nodes/"+esc(pos[0]), nil, nil); err != nil {
		return err
	}
	c.done("cleared the rule of %s", pos[0])
	return nil
}

func nodesMode(ctx context.Context, c *adminClient, args []string) error {
	pos, err := parse("nodes mode", args, 1, flag.NewFlagSet("nodes mode", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if err := c.call(ctx, "PUT", "/federation", map[string]string{"mode": pos[0]}, nil); err != nil {
		return err
	}
	c.done("federation mode: %s", pos[0])
	return nil
}

func auditList(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	limit := fs.Int("limit", 50, "")
	before := fs.Int64("before", 0, "")
	if _, err := parse("audit", args, 0, fs); err != nil {
		return err
	}
	var out struct {
		Entries []struct {
			ID     int64  `json:"id"`
			TS     int64  `json:"ts"`
			Actor  string `json:"actor"`
			Action string `json:"action"`
			Target string `json:"target"`
			Detail string `json:"detail"`
		} `json:"entries"`
		More bool `json:"more"`
	}
	v := url.Values{"limit": {strconv.Itoa(*limit)}, "before": {strconv.FormatInt(*before, 10)}}
	if err := c.call(ctx, "GET", "/audit?"+v.Encode(), nil, &out); err != nil {
		return err
	}
	var rows [][]string
	for _, e := range out.Entries {
		rows = append(rows, []string{time.UnixMilli(e.TS).UTC().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Target, e.Detail})
	}
	c.table("TIME (UTC)\tACTOR\tACTION\tTARGET\tDETAIL", rows)
	if out.More && !c.json {
		fmt.Fprintf(c.stdout, "(older: --before %d)\n", out.Entries[len(out.Entries)-1].ID)
	}
	return nil
}

func reportsList(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("reports list", flag.ContinueOnError)
	all := fs.Bool("all", false, "")
	if _, err := parse("reports list", args, 0, fs); err != nil {
		return err
	}
	var out struct {
		Reports []struct {
			ID         string `json:"id"`
			TS         int64  `json:"ts"`
			Reporter   string `json:"reporter"`
			Room       string `json:"room"`
			Message    string `json:"message"`
			User       string `json:"user"`
			Reason     string `json:"reason"`
			Body       string `json:"body"`
			Resolved   bool   `json:"resolved"`
			ResolvedBy string `json:"resolvedBy"`
		} `json:"reports"`
	}
	path := "/reports"
	if *all {
		path += "?state=all"
	}
	if err := c.call(ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	var rows [][]string
	for _, r := range out.Reports {
		state := "open"
		if r.Resolved {
			state = "resolved by " + r.ResolvedBy
		}
		what := r.User
		if r.Message != "" {
			what = "message " + r.Message + " by " + r.User
		} else if what == "" {
			what = "room " + r.Room
		}
		rows = append(rows, []string{r.ID, when(r.TS), r.Reporter, what, r.Reason, state})
	}
	c.table("ID\tTIME (UTC)\tREPORTER\tREPORTED\tREASON\tSTATE", rows)
	if len(out.Reports) == 0 {
		c.done("no open reports")
	}
	return nil
}

func reportsResolve(ctx context.Context, c *adminClient, args []string) error {
	fs := flag.NewFlagSet("reports resolve", flag.ContinueOnError)
	note := fs.String("note", "", "")
	pos, err := parse("reports resolve", args, 1, fs)
	if err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/reports/"+esc(pos[0])+"/resolve", map[string]string{"note": *note}, nil); err != nil {
		return err
	}
	c.done("resolved report %s", pos[0])
	return nil
}
