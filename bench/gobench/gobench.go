// Package gobench runs `go test -bench` and reads what it prints: the
// benchmark lines of Go's benchmark data format, with the standard units
// (ns/op, B/op, allocs/op, MB/s) and any custom ones a benchmark reports
// with b.ReportMetric (acked/s, p99-µs, ...).
//
// golang.org/x/perf/benchfmt reads the same format, but this package needs
// only a benchmark's name, iteration count and value/unit pairs, and the
// reader below is short enough not to add a module to go.mod for.
package gobench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Benchmark is one result line.
type Benchmark struct {
	// Pkg is the import path from the preceding "pkg:" line.
	Pkg string `json:"pkg"`
	// Name is the full name without the GOMAXPROCS suffix, for example
	// "BenchmarkSend/senders=64".
	Name string `json:"name"`
	// Procs is the GOMAXPROCS suffix (1 when there is none).
	Procs int `json:"procs"`
	// N is the number of iterations.
	N       int64    `json:"n"`
	Metrics []Metric `json:"metrics"`
}

// Metric is one value and its unit, as printed.
type Metric struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Value returns the benchmark's value in unit, if it has one.
func (b Benchmark) Value(unit string) (float64, bool) {
	for _, m := range b.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// Output is what one `go test -bench` run printed, parsed.
type Output struct {
	Benchmarks []Benchmark `json:"benchmarks"`
	// Failures are the "--- FAIL" and "FAIL" lines, and the lines of a
	// panic, as printed.
	Failures []string `json:"failures,omitempty"`
}

// Parse reads `go test -bench` output. Lines that are not benchmark
// results (logs, "goos:", "PASS", "ok") are skipped, except failures,
// which are kept in Output.Failures. A benchmark that writes to standard
// output splits its line in two (the name, then the values on a later
// line); Parse joins them.
func Parse(r io.Reader) (Output, error) {
	var out Output
	var pkg, pending string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
			continue
		case strings.HasPrefix(line, "--- FAIL") || fields[0] == "FAIL" || strings.HasPrefix(line, "panic: "):
			out.Failures = append(out.Failures, strings.TrimSpace(line))
			continue
		}
		name := pending
		if strings.HasPrefix(fields[0], "Benchmark") {
			name, fields = fields[0], fields[1:]
		}
		if name == "" {
			continue
		}
		b, ok := parseValues(fields)
		if !ok {
			// A name followed by the benchmark's own output: the values
			// come on a later line.
			if strings.HasPrefix(line, name) {
				pending = name
			}
			continue
		}
		pending = ""
		b.Pkg = pkg
		b.Name, b.Procs = splitProcs(name)
		out.Benchmarks = append(out.Benchmarks, b)
	}
	return out, sc.Err()
}

// parseValues reads "N value unit value unit ...".
func parseValues(fields []string) (Benchmark, bool) {
	var b Benchmark
	if len(fields) < 3 || len(fields)%2 == 0 {
		return b, false
	}
	n, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return b, false
	}
	b.N = n
	for i := 1; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return b, false
		}
		b.Metrics = append(b.Metrics, Metric{Value: v, Unit: fields[i+1]})
	}
	return b, true
}

// splitProcs splits "BenchmarkX/sub-8" into "BenchmarkX/sub" and 8. Go
// leaves the suffix out when GOMAXPROCS is 1.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 1
	}
	p, err := strconv.Atoi(name[i+1:])
	if err != nil || p <= 0 {
		return name, 1
	}
	return name[:i], p
}

// Command is one `go test -bench` invocation.
type Command struct {
	// Bench is the -bench pattern ("." when empty).
	Bench string `json:"bench"`
	// Benchtime is the -benchtime value (Go's default when empty).
	Benchtime string `json:"benchtime,omitempty"`
	// Short adds -short.
	Short bool `json:"short,omitempty"`
	// Timeout is the -timeout value (Go's default when empty).
	Timeout string   `json:"timeout,omitempty"`
	Pkgs    []string `json:"pkgs"`
}

// Args are the arguments to the go command, -benchmem always included.
func (c Command) Args() []string {
	bench := c.Bench
	if bench == "" {
		bench = "."
	}
	args := []string{"test", "-run", "^$", "-bench", bench, "-benchmem"}
	if c.Benchtime != "" {
		args = append(args, "-benchtime", c.Benchtime)
	}
	if c.Short {
		args = append(args, "-short")
	}
	if c.Timeout != "" {
		args = append(args, "-timeout", c.Timeout)
	}
	return append(args, c.Pkgs...)
}

// String is the command as one would type it into a shell.
func (c Command) String() string {
	return Quote(append([]string{"go"}, c.Args()...))
}

// Quote joins args into a shell command line, quoting the arguments that
// need it.
func Quote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@%+") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// Run is one command's run: what it was, how long it took and what it
// printed, parsed.
type Run struct {
	Command string  `json:"command"`
	Short   bool    `json:"short,omitempty"`
	Seconds float64 `json:"seconds"`
	Output
	// Error is set when the command failed; the benchmarks it printed
	// before failing are kept.
	Error string `json:"error,omitempty"`
}

// Exec runs c with the go binary goBin in dir, copying everything it
// prints to raw as it goes, and parses its standard output (where go test
// prints results and failures; standard error carries only what the
// code under test logs there, and build errors, which Error covers).
func Exec(ctx context.Context, goBin, dir string, c Command, raw io.Writer) Run {
	run := Run{Command: c.String(), Short: c.Short}
	var buf bytes.Buffer
	fmt.Fprintf(raw, "$ %s\n", run.Command)
	cmd := exec.CommandContext(ctx, goBin, c.Args()...)
	cmd.Dir = dir
	// exec copies each stream in its own goroutine.
	lw := &lockedWriter{w: raw}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, lw), lw
	start := time.Now()
	err := cmd.Run()
	run.Seconds = time.Since(start).Seconds()
	out, perr := Parse(&buf)
	run.Output = out
	switch {
	case err != nil:
		run.Error = err.Error()
	case perr != nil:
		run.Error = perr.Error()
	}
	return run
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
