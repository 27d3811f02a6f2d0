package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-chat/hearth/node"
	"github.com/hearth-chat/hearth/push"
	"github.com/hearth-chat/hearth/push/pushtest"
)

func mustSender(t *testing.T, dir string, loopback bool) *push.Sender {
	t.Helper()
	s, err := push.Open(push.Config{KeyFile: filepath.Join(dir, "vapid.key"), Subject: "mailto:ops@example.org", AllowLoopback: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func subOf(s *pushtest.Subscription) *node.PushSubscription {
	return &node.PushSubscription{ID: s.ID, Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}
}

// TestPushDecrypts: a push arrives at the push service signed with the
// sender's VAPID key and decrypts (RFC 8291, in pushtest) with the
// subscription's private key and auth secret to the payload sent, with
// TTL and Urgency headers.
func TestPushDecrypts(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	s := mustSender(t, t.TempDir(), true)
	svc.ExpectVAPID(s.PublicKey())
	sub := svc.Subscribe()
	payload := []byte(`{"room":"r1","body":"héllo ✓"}`)
	if err := s.Push(context.Background(), subOf(sub), payload, node.PushOptions{TTL: time.Hour, Urgency: node.UrgencyHigh}); err != nil {
		t.Fatal(err)
	}
	got := svc.Received()
	if len(got) != 1 || got[0].Err != nil {
		t.Fatalf("received %+v", got)
	}
	p := got[0]
	if string(p.Payload) != string(payload) || p.TTL != "3600" || p.Urgency != "high" || p.Subject != "mailto:ops@example.org" {
		t.Fatalf("received payload %q TTL %q urgency %q subject %q", p.Payload, p.TTL, p.Urgency, p.Subject)
	}

	t.Run("another node's key is refused", func(t *testing.T) {
		other := mustSender(t, t.TempDir(), true)
		err := other.Push(context.Background(), subOf(sub), payload, node.PushOptions{TTL: time.Minute})
		if !errors.Is(err, node.ErrInvalid) {
			t.Fatalf("push with another VAPID key: %v, want ErrInvalid (403)", err)
		}
	})
}

// TestPushAnswers: what a push service answers, in the domain's terms.
func TestPushAnswers(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	s := mustSender(t, t.TempDir(), true)
	sub := subOf(svc.Subscribe())
	for _, c := range []struct {
		name   string
		status int
		is     error // nil: a retryable error
	}{
		{"410 gone", http.StatusGone, node.ErrGone},
		{"404 not found", http.StatusNotFound, node.ErrGone},
		{"400 refused", http.StatusBadRequest, node.ErrInvalid},
		{"413 too large", http.StatusRequestEntityTooLarge, node.ErrTooLarge},
		{"429 retried", http.StatusTooManyRequests, nil},
		{"503 retried", http.StatusServiceUnavailable, nil},
		{"500 retried", http.StatusInternalServerError, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc.Script(c.status)
			err := s.Push(context.Background(), sub, []byte(`{}`), node.PushOptions{TTL: time.Minute})
			if c.is != nil {
				if !errors.Is(err, c.is) {
					t.Fatalf("err = %v, want %v", err, c.is)
				}
				return
			}
			var ra interface{ RetryAfter() time.Duration }
			if err == nil || errors.Is(err, node.ErrGone) || errors.Is(err, node.ErrInvalid) || !errors.As(err, &ra) {
				t.Fatalf("err = %v, want a retryable error", err)
			}
		})
	}
	t.Run("an unknown endpoint is gone", func(t *testing.T) {
		gone := *sub
		gone.Endpoint = svc.URL + "/push/nobody"
		if err := s.Push(context.Background(), &gone, []byte(`{}`), node.PushOptions{TTL: time.Minute}); !errors.Is(err, node.ErrGone) {
			t.Fatalf("err = %v, want ErrGone", err)
		}
	})
}

// TestPushRefusesLoopbackByDefault: without AllowLoopback the sender
// does not post into the node's own network.
func TestPushRefusesLoopbackByDefault(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	s := mustSender(t, t.TempDir(), false)
	err := s.Push(context.Background(), subOf(svc.Subscribe()), []byte(`{}`), node.PushOptions{TTL: time.Minute})
	if !errors.Is(err, node.ErrInvalid) {
		t.Fatalf("push to 127.0.0.1: %v, want ErrInvalid", err)
	}
	if n := len(svc.Received()); n != 0 {
		t.Fatalf("service got %d pushes", n)
	}
}

// TestVAPIDKeyKept: the key is made once, owner-only, and read back on
// the next start; a damaged key file or a bad subject is an error.
func TestVAPIDKeyKept(t *testing.T) {
	dir := t.TempDir()
	a := mustSender(t, dir, false)
	b := mustSender(t, dir, false)
	if a.PublicKey() != b.PublicKey() || len(a.PublicKey()) != 87 {
		t.Fatalf("keys %q and %q", a.PublicKey(), b.PublicKey())
	}
	st, err := os.Stat(filepath.Join(dir, "vapid.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := push.Open(push.Config{KeyFile: filepath.Join(dir, "bad.key"), Subject: "mailto:a@b"}); err == nil {
		t.Fatal("a damaged key file opened")
	}
	for _, subj := range []string{"", "ops@example.org", "http://example.org", "mailto:nobody"} {
		if _, err := push.Open(push.Config{KeyFile: filepath.Join(dir, "vapid.key"), Subject: subj}); err == nil {
			t.Errorf("subject %q accepted", subj)
		}
	}
	if _, err := push.Open(push.Config{KeyFile: filepath.Join(dir, "vapid.key"), Subject: "https://chat.example.org"}); err != nil {
		t.Errorf("https subject: %v", err)
	}
}

// payloadOf decodes a received payload.
func payloadOf(t testing.TB, p pushtest.Push) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p.Payload, &m); err != nil {
		t.Fatalf("payload %q: %v", p.Payload, err)
	}
	return m
}
