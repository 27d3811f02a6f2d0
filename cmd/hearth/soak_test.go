package main

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSoakCrash is the long crash soak (`make soak`): many rounds of
// concurrent senders against a real node that is SIGKILLed after a random
// delay, each round checking that every message acknowledged so far is in
// history exactly once. HEARTH_SOAK_ROUNDS sets the rounds (default 30).
func TestSoakCrash(t *testing.T) {
	if os.Getenv("HEARTH_SOAK") != "1" {
		t.Skip("long soak: run with make soak")
	}
	rounds := 30
	if v, err := strconv.Atoi(os.Getenv("HEARTH_SOAK_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	const senders = 6
	var tokens []string
	var room string
	acked := map[string]string{}
	for round := range rounds {
		p := startProc(t, bin, data)
		c := &apiClient{base: "http://" + p.http}
		if round == 0 {
			tokens, room = c.sharedRoom(t, "soak", senders)
		} else {
			// Tokens outlive restarts (15 minutes); refresh them if a
			// long soak runs past that.
			for i := range tokens {
				tokens[i] = c.loginToken(t, fmt.Sprintf("soak%d", i))
			}
		}
		delay := time.Duration(100+rand.IntN(1500)) * time.Millisecond
		maps.Copy(acked, sendUntilKilled(t, p, tokens, room, round, 0, delay, syscall.SIGKILL))

		check := startProc(t, bin, data)
		ids := (&apiClient{base: "http://" + check.http}).history(t, tokens[0], room)
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for id, cid := range acked {
			if seen[id] != 1 {
				t.Errorf("round %d: acked %s (%s) is in history %d times", round, id, cid, seen[id])
			}
		}
		t.Logf("round %d: %d acked in total, %d in history", round, len(acked), len(ids))
		check.kill(t)
		if t.Failed() {
			return
		}
	}
}

func (c *apiClient) loginToken(t *testing.T, name string) string {
	t.Helper()
	var s session
	c.mustDo(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": testPassword}, 200, &s)
	return s.AccessToken
}
