package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hearth-chat/hearth/metrics"
)

// serveMetrics registers the gauges read at scrape time and, with
// --metrics, serves /metrics on a listener of its own, so that the series
// are never exposed with the API by accident (docs/operations.md).
func (m *Main) serveMetrics(met *metrics.Metrics) error {
	if m.Config.Metrics == "" {
		return nil
	}
	met.Info(map[string]string{"node": string(m.node.ID()), "name": m.Config.Name, "version": version})
	met.Gauge("hearth_websocket_connections", "Open WebSocket connections.", func() float64 { return float64(m.hub.Conns()) })
	met.Gauge("hearth_fanout_queue", "Fan-outs waiting in the hub's lanes for delivery to connections.", func() float64 { return float64(m.hub.FanoutQueue()) })
	met.Gauge("hearth_p2p_peers", "Connected libp2p peers.", func() float64 { return float64(m.host.PeerCount()) })
	met.Gauge("hearth_gossip_mesh_peers", "GossipSub mesh links, summed over topics.", func() float64 { return float64(m.host.MeshPeers()) })
	met.Gauge("hearth_gossip_topics", "Gossip topics joined.", func() float64 { return float64(m.host.TopicCount()) })
	met.Gauge("hearth_e2ee_outbox_messages", "To-device messages waiting in the outboxes towards other nodes.", func() float64 {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		msgs, _ := m.node.OutboxDepth(c)
		return float64(msgs)
	})
	if m.Config.Push {
		met.Gauge("hearth_push_queue", "Web Push messages waiting in the outbox (new, or retrying with backoff).", func() float64 {
			queued, _ := m.node.PushStats()
			return float64(queued)
		})
		met.CounterFunc("hearth_pushes_sent_total", "Web Push messages that push services accepted since the node started.", func() float64 {
			_, sent := m.node.PushStats()
			return float64(sent)
		})
	}
	ln, err := net.Listen("tcp", m.Config.Metrics)
	if err != nil {
		return fmt.Errorf("metrics listener on %s: %w", m.Config.Metrics, err)
	}
	m.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", met.Handler())
	m.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := m.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("metrics listener stopped", "err", err)
		}
	}()
	m.log.Info("metrics enabled", "addr", ln.Addr().String())
	return nil
}

// MetricsAddr is the address of the metrics listener ("" when off).
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}
