package gobench

import (
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/output.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []Benchmark{
		{Pkg: "github.com/hearth-chat/hearth/node", Name: "BenchmarkSealEvent", Procs: 2, N: 25234, Metrics: []Metric{{44343, "ns/op"}, {1312, "B/op"}, {6, "allocs/op"}}},
		{Pkg: "github.com/hearth-chat/hearth/node", Name: "BenchmarkDecodeEvent", Procs: 2, N: 10000, Metrics: []Metric{{106894, "ns/op"}, {3.48, "MB/s"}, {2016, "B/op"}, {23, "allocs/op"}}},
		{Pkg: "github.com/hearth-chat/hearth/node", Name: "BenchmarkSend/senders=1", Procs: 2, N: 1227, Metrics: []Metric{{1223748, "ns/op"}, {817.2, "acked/s"}, {7296, "B/op"}, {134, "allocs/op"}}},
		{Pkg: "github.com/hearth-chat/hearth/store", Name: "BenchmarkHistoryPage", Procs: 2, N: 20000, Metrics: []Metric{{470439, "ns/op"}, {377, "p50-µs"}, {1423, "p99-µs"}, {98948, "B/op"}, {1083, "allocs/op"}}},
		{Pkg: "github.com/hearth-chat/hearth/webui", Name: "BenchmarkFanout/receivers=100", Procs: 2, N: 300, Metrics: []Metric{{1343898, "ns/op"}, {74410, "deliveries/s"}, {72842, "B/op"}, {356, "allocs/op"}}},
		{Pkg: "github.com/hearth-chat/hearth/p2p", Name: "BenchmarkCatchUp/missed=1000", Procs: 1, N: 3, Metrics: []Metric{{612345678, "ns/op"}, {540.2, "catchup-ms"}, {801, "max-ms"}, {1234, "B/op"}, {12, "allocs/op"}}},
	}
	if !reflect.DeepEqual(out.Benchmarks, want) {
		t.Errorf("benchmarks:\n got %+v\nwant %+v", out.Benchmarks, want)
	}
	wantFail := []string{"--- FAIL: BenchmarkCatchUp/missed=10000", "FAIL", "FAIL\tgithub.com/hearth-chat/hearth/p2p\t140.1s"}
	if !reflect.DeepEqual(out.Failures, wantFail) {
		t.Errorf("failures: got %q, want %q", out.Failures, wantFail)
	}
	if v, ok := out.Benchmarks[3].Value("p99-µs"); !ok || v != 1423 {
		t.Errorf("Value(p99-µs) = %v, %v", v, ok)
	}
	if _, ok := out.Benchmarks[3].Value("acked/s"); ok {
		t.Error("Value(acked/s) found a unit the benchmark lacks")
	}
}

func TestParseSkipsMalformedLines(t *testing.T) {
	for _, in := range []string{
		"BenchmarkX-2 notanumber 12 ns/op",
		"BenchmarkX-2 10 12",
		"BenchmarkX-2 10 twelve ns/op",
		"    10 12 ns/op", // values with no benchmark before them
	} {
		out, err := Parse(strings.NewReader(in + "\n"))
		if err != nil || len(out.Benchmarks) != 0 {
			t.Errorf("Parse(%q) = %+v, %v; want nothing", in, out.Benchmarks, err)
		}
	}
}

func TestSplitProcs(t *testing.T) {
	for _, tt := range []struct {
		in    string
		name  string
		procs int
	}{
		{"BenchmarkX-8", "BenchmarkX", 8},
		{"BenchmarkX/a=1-2", "BenchmarkX/a=1", 2},
		{"BenchmarkX/missed=1000", "BenchmarkX/missed=1000", 1},
		{"BenchmarkX/a-b", "BenchmarkX/a-b", 1},
	} {
		if name, procs := splitProcs(tt.in); name != tt.name || procs != tt.procs {
			t.Errorf("splitProcs(%q) = %q, %d; want %q, %d", tt.in, name, procs, tt.name, tt.procs)
		}
	}
}

func TestCommandString(t *testing.T) {
	c := Command{Bench: "CatchUp", Benchtime: "3x", Short: true, Timeout: "20m", Pkgs: []string{"./p2p/"}}
	want := `go test -run '^$' -bench CatchUp -benchmem -benchtime 3x -short -timeout 20m ./p2p/`
	if got := c.String(); got != want {
		t.Errorf("String() = %s\nwant %s", got, want)
	}
	if got := Quote([]string{"a b", "it's", ""}); got != `'a b' 'it'\''s' ''` {
		t.Errorf("Quote = %s", got)
	}
}

// TestExec runs a real benchmark of this package through the go command.
func TestExec(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	run := Exec(context.Background(), "go", ".", Command{Bench: "^BenchmarkParse$", Benchtime: "10x", Pkgs: []string{"."}}, io.Discard)
	if run.Error != "" {
		t.Fatalf("%s: %s %q", run.Command, run.Error, run.Failures)
	}
	if len(run.Benchmarks) != 1 || run.Benchmarks[0].Name != "BenchmarkParse" || run.Benchmarks[0].N != 10 {
		t.Fatalf("got %+v", run.Benchmarks)
	}
	if _, ok := run.Benchmarks[0].Value("allocs/op"); !ok {
		t.Error("no allocs/op: -benchmem missing")
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/output.txt")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(strings.NewReader(string(data))); err != nil {
			b.Fatal(err)
		}
	}
}
