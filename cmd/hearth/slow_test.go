package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestSlowClientsAreCutOff holds connections open with half-sent headers
// (slowloris): the server drops them after its header timeout and keeps
// answering everyone else meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", filepath.Join(t.TempDir(), "d"), "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	m.Config.HeaderTimeout = 500 * time.Millisecond
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var slow []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", m.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET /api/v1/node HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	// Others are served while the slow ones dangle.
	resp, err := http.Get("http://" + m.HTTPAddr() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz while slow clients hang: %v %v", resp, err)
	}
	resp.Body.Close()
	// Each slow connection is closed by the server soon after the timeout.
	for i, c := range slow {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue // a 408 or 400 response before the close is fine
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("slow connection %d still open 5 s after a 500 ms header timeout", i)
			}
			break
		}
	}
}

// TestMaxConns: past --max-conns a connection waits to be accepted rather
// than taking a goroutine and buffers, and is served once one closes.
func TestMaxConns(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", filepath.Join(t.TempDir(), "d"), "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--mdns=false", "--max-conns", "2"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", m.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get("http://" + m.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a third connection was served while two were open")
	}
	held[0].Close()
	client.Timeout = 10 * time.Second
	resp, err := client.Get("http://" + m.HTTPAddr() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after one closed: %v %v", resp, err)
	}
	resp.Body.Close()
}
