package main

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestLimitListenerKeepsTheDescriptor: the WebSocket writer's direct path
// (webui/batchconn.go) needs the accepted socket's descriptor, which
// x/net's LimitListener hid, so that no delivery ever took it.
func TestLimitListenerKeepsTheDescriptor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(ln, 4)
	defer l.Close()
	d, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T hides its descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// A write on the descriptor itself, as batchConn.TryWrite does.
	var n int
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), []byte("direct"))
		return true
	}); err != nil || werr != nil || n != 6 {
		t.Fatalf("direct write: %d, %v, %v", n, err, werr)
	}
	buf := make([]byte, 6)
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.Read(buf); err != nil || string(buf) != "direct" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// TestLimitListenerCaps: past the cap Accept waits for a connection to
// close (a second Close gives back nothing more), and closing the listener
// ends a waiting Accept.
func TestLimitListenerCaps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(ln, 1)
	accept := func() <-chan net.Conn {
		ch := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				close(ch)
				return
			}
			ch <- c
		}()
		return ch
	}
	for range 3 {
		d, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
	}
	first := <-accept()
	if first == nil {
		t.Fatal("first accept failed")
	}
	// Nothing to poll for: the Accept must still be waiting a moment later.
	stillWaiting := func(ch <-chan net.Conn, why string) {
		t.Helper()
		select {
		case c := <-ch:
			t.Fatalf("accepted %v %s", c, why)
		case <-time.After(200 * time.Millisecond):
		}
	}
	second := accept()
	stillWaiting(second, "past the cap of 1")
	first.Close()
	first.Close() // must not give back a second slot
	var c net.Conn
	select {
	case c = <-second:
		if c == nil {
			t.Fatal("accept after a close failed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no accept after a connection closed")
	}
	third := accept()
	stillWaiting(third, "past the cap after a double Close")
	l.Close()
	select {
	case c, ok := <-third:
		if ok {
			t.Fatalf("accepted %v after Close", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a waiting Accept")
	}
	c.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}
