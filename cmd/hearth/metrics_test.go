package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hearth-chat/hearth/internal/poll"
)

// scrape reads /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the sum of a family's counters, gauges or histogram counts
// over the series whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetrics runs a node with --metrics, scrapes it, and checks that the
// series move as users sign up, log in, connect and send messages, and
// that /readyz turns 503 once the node begins to shut down.
func TestMetrics(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0",
		"--mdns=false", "--metrics", "127.0.0.1:0"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	if m.MetricsAddr() == "" || m.MetricsAddr() == m.HTTPAddr() {
		t.Fatalf("metrics address %q (http %q)", m.MetricsAddr(), m.HTTPAddr())
	}
	// The API listener does not serve the metrics.
	if resp, err := http.Get("http://" + m.HTTPAddr() + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) > 0 && resp.StatusCode == 200 && string(body[:min(len(body), 6)]) == "# HELP" {
			t.Fatal("the API listener serves /metrics")
		}
	}
	before := scrape(t, m.MetricsAddr())
	for _, name := range []string{
		"hearth_messages_in_total", "hearth_messages_out_total", "hearth_db_sync_seconds", "hearth_websocket_connections",
		"hearth_fanout_queue", "hearth_slow_clients_total", "hearth_rate_limited_total", "hearth_p2p_peers",
		"hearth_gossip_mesh_peers", "hearth_sync_rounds_total", "hearth_e2ee_outbox_messages", "hearth_registrations_total",
		"hearth_logins_total", "hearth_node_info", "go_goroutines", "process_resident_memory_bytes",
		"hearth_push_queue", "hearth_pushes_sent_total",
	} {
		if before[name] == nil {
			t.Errorf("no series %s", name)
		}
	}

	// Every hearth_ series the Grafana dashboard and the operations guide
	// name is one the node serves.
	for _, doc := range []string{"../../docs/grafana-dashboard.json", "../../docs/operations.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`hearth_[a-z0-9_]+`).FindAllString(string(b), -1) {
			name = strings.TrimSuffix(name, "_bucket")
			if before[name] == nil && !strings.HasPrefix(name, "hearth_media") {
				t.Errorf("%s names %s, which /metrics does not serve", doc, name)
			}
		}
	}

	c := &apiClient{base: "http://" + m.HTTPAddr()}
	tokens, room := c.sharedRoom(t, "metric", 2)
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "metric0", "password": "wrong password"}, 401, nil)
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "metric0", "password": testPassword}, 200, nil)
	reader := dialAuthed(t, m.HTTPAddr(), tokens[1])
	sender := dialAuthed(t, m.HTTPAddr(), tokens[0])
	const sent = 5
	for i := range sent {
		if err := sender.WriteJSON(map[string]string{"type": "send", "id": fmt.Sprint("c", i), "room": room, "body": "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	c.mustDo(t, "POST", "/api/v1/rooms/"+room+"/messages", tokens[1], map[string]string{"body": "by POST"}, 201, nil)
	_ = reader

	var after map[string]*dto.MetricFamily
	poll.Until(t, 10*time.Second, func() error {
		after = scrape(t, m.MetricsAddr())
		if got := value(after, "hearth_messages_in_total") - value(before, "hearth_messages_in_total"); got != sent+1 {
			return fmt.Errorf("messages in moved by %v, want %d", got, sent+1)
		}
		// Each message reaches both users' connections.
		if got := value(after, "hearth_messages_out_total") - value(before, "hearth_messages_out_total"); got < 2*(sent+1) {
			return fmt.Errorf("messages out moved by %v, want at least %d", got, 2*(sent+1))
		}
		return nil
	})
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hearth_registrations_total", nil, 2},
		{"hearth_logins_total", []string{"result", "ok"}, 1},
		{"hearth_logins_total", []string{"result", "failed"}, 1},
		{"hearth_websocket_connections", nil, 2},
	}
	for _, c := range checks {
		if got := value(after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(after, "hearth_db_sync_seconds") - value(before, "hearth_db_sync_seconds"); got < 1 {
		t.Errorf("fsync histogram moved by %v", got)
	}

	// /readyz: 200 while serving, 503 once shutting down.
	c.mustDo(t, "GET", "/readyz", "", nil, 200, nil)
	m.closing.Store(true)
	c.mustDo(t, "GET", "/readyz", "", nil, 503, nil)
	c.mustDo(t, "GET", "/healthz", "", nil, 200, nil)
}
