package main

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// limitListener caps the open connections it has accepted: past the cap,
// Accept waits for one to close, and new connections wait in the kernel's
// accept queue rather than each taking a goroutine and buffers here.
//
// It is x/net's netutil.LimitListener with one difference that matters:
// its connections still expose their descriptor (syscall.Conn). The
// WebSocket writer's fast path writes a frame with one non-blocking system
// call from the fan-out's goroutine (webui/batchconn.go) and needs it;
// netutil's connections hide it, so every delivery woke the connection's
// writer goroutine instead (found in the node's CPU profile under
// workload F: no direct write at all).
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

// Close closes the listener and ends an Accept waiting for a slot.
func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitedConn gives its slot back when it is first closed.
type limitedConn struct {
	net.Conn
	release     func()
	releaseOnce sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(c.release)
	return err
}

// SyscallConn is the accepted connection's own: a plain TCP socket under
// this wrapper, never a TLS one (that would let writes bypass it).
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
