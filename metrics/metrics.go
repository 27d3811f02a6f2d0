// Package metrics counts what a node does in Prometheus's terms, for the
// `--metrics` listener (docs/operations.md lists every series).
//
// The packages that do the work do not import Prometheus: each declares
// the small observer it needs (webui.Observer, p2p.Observer, the store's
// ObserveSync), and *Metrics implements them all; cmd/hearth wires it in.
// A Metrics owns its registry, so two nodes in one process (tests) keep
// their series apart: nothing registers with Prometheus's global one.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds a node's series and their registry. Its methods are safe
// for concurrent use and do not block.
type Metrics struct {
	reg *prometheus.Registry

	messagesIn   prometheus.Counter
	messagesOut  prometheus.Counter
	slowClients  prometheus.Counter
	rateLimited  *prometheus.CounterVec
	registered   prometheus.Counter
	logins       *prometheus.CounterVec
	dbSync       prometheus.Histogram
	eventsIn     *prometheus.CounterVec
	eventLag     *prometheus.HistogramVec
	eventsOut    prometheus.Counter
	syncRounds   *prometheus.CounterVec
	loginOK      prometheus.Counter
	loginFailed  prometheus.Counter
	gossipEvents prometheus.Counter
	pushEvents   prometheus.Counter
	syncEvents   prometheus.Counter
}

// New returns Metrics with a registry of its own, holding the Go runtime's
// and the process's collectors too.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg}
	m := &Metrics{
		reg:         reg,
		messagesIn:  f.counter("hearth_messages_in_total", "Messages that local clients sent and the node stored (WebSocket send frames and POST .../messages)."),
		messagesOut: f.counter("hearth_messages_out_total", "Message frames handed to WebSocket connections (one per connection reached)."),
		slowClients: f.counter("hearth_slow_clients_total", "WebSocket connections cut off because their outgoing queue was full."),
		rateLimited: f.counterVec("hearth_rate_limited_total", "Requests (scope http) and frames (scope ws) refused by a rate limit.", "scope"),
		registered:  f.counter("hearth_registrations_total", "Accounts created."),
		logins:      f.counterVec("hearth_logins_total", "Login attempts, by result (ok or failed).", "result"),
		dbSync: f.histogram("hearth_db_sync_seconds", "Time of each group commit's fsync of the database's logs; every acknowledgement waits on one.",
			[]float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2.5}),
		eventsIn: f.counterVec("hearth_federation_events_in_total", "Events from other nodes stored, by path (gossip, push, sync).", "path"),
		eventLag: f.histogramVec("hearth_federation_event_lag_seconds", "Age of events from other nodes when stored, by path; for path sync it is how far behind this node was.",
			[]float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}, "path"),
		eventsOut:  f.counter("hearth_federation_events_out_total", "Local events handed to federation."),
		syncRounds: f.counterVec("hearth_sync_rounds_total", "Anti-entropy rounds with a peer, by result (ok or failed).", "result"),
	}
	m.loginOK, m.loginFailed = m.logins.WithLabelValues("ok"), m.logins.WithLabelValues("failed")
	m.gossipEvents = m.eventsIn.WithLabelValues("gossip")
	m.pushEvents = m.eventsIn.WithLabelValues("push")
	m.syncEvents = m.eventsIn.WithLabelValues("sync")
	for _, p := range []string{"gossip", "push", "sync"} {
		m.eventLag.WithLabelValues(p) // served from the start, before the first event
	}
	for _, s := range []string{"http", "ws"} {
		m.rateLimited.WithLabelValues(s)
	}
	for _, r := range []string{"ok", "failed"} {
		m.syncRounds.WithLabelValues(r)
	}
	return m
}

// Registry is the registry the series are in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the series in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// Gauge registers a gauge read from fn at each scrape (connections, queue
// depths, peers). fn must be cheap and safe for concurrent use.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// CounterFunc registers a counter read from fn at each scrape: a total
// that another package keeps (pushes sent), which must only grow.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Info registers a gauge of value 1 whose labels describe the node.
func (m *Metrics) Info(labels map[string]string) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hearth_node_info", Help: "The node's ID, name and version, as labels of a constant 1.", ConstLabels: labels,
	}, func() float64 { return 1 }))
}

// MessageIn implements webui.Observer.
func (m *Metrics) MessageIn() { m.messagesIn.Inc() }

// MessagesOut implements webui.Observer.
func (m *Metrics) MessagesOut(n int) { m.messagesOut.Add(float64(n)) }

// SlowClient implements webui.Observer.
func (m *Metrics) SlowClient() { m.slowClients.Inc() }

// RateLimited implements webui.Observer.
func (m *Metrics) RateLimited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }

// Registered implements webui.Observer.
func (m *Metrics) Registered() { m.registered.Inc() }

// Login implements webui.Observer.
func (m *Metrics) Login(ok bool) {
	if ok {
		m.loginOK.Inc()
	} else {
		m.loginFailed.Inc()
	}
}

// ObserveSync is the store's sync observer (store.Options.ObserveSync).
func (m *Metrics) ObserveSync(d time.Duration) { m.dbSync.Observe(d.Seconds()) }

// EventIn implements p2p.Observer.
func (m *Metrics) EventIn(path string, lag time.Duration) {
	switch path {
	case "gossip":
		m.gossipEvents.Inc()
	case "push":
		m.pushEvents.Inc()
	case "sync":
		m.syncEvents.Inc()
	default:
		m.eventsIn.WithLabelValues(path).Inc()
	}
	m.eventLag.WithLabelValues(path).Observe(max(lag.Seconds(), 0))
}

// EventOut implements p2p.Observer.
func (m *Metrics) EventOut() { m.eventsOut.Inc() }

// SyncRound implements p2p.Observer.
func (m *Metrics) SyncRound(ok bool) {
	if ok {
		m.syncRounds.WithLabelValues("ok").Inc()
	} else {
		m.syncRounds.WithLabelValues("failed").Inc()
	}
}

// factory makes series registered with one registry.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
