package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug serves Go's profiler on --debug-addr, a separate listener so
// that it is never exposed with the API by accident.
func (m *Main) serveDebug() {
	if m.Config.Debug == "" {
		return
	}
	ln, err := net.Listen("tcp", m.Config.Debug)
	if err != nil {
		m.log.Warn("debug listener unavailable", "addr", m.Config.Debug, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := m.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("debug listener stopped", "err", err)
		}
	}()
	m.log.Info("profiling enabled", "addr", ln.Addr().String())
}
