package main

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

var sipLine = regexp.MustCompile(`^SIP: (127\.0\.0\.1:\d+) \(UDP and TCP\), proxy (sip:\S+)$`)

// startServeSIP starts `sipbuddy serve` with its SIP server and returns the
// process, the XCAP root and the SIP address it printed.
func startServeSIP(t *testing.T, bin, data, xcapAddr, sipAddr string, extra ...string) (*exec.Cmd, string, string) {
	t.Helper()
	args := append([]string{"--xcap", xcapAddr, "--sip", sipAddr}, extra...)
	cmd, root, sc := startServe(t, bin, data, args...)
	if !sc.Scan() {
		t.Fatalf("no SIP line from sipbuddy serve: %v", sc.Err())
	}
	m := sipLine.FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("second line %q, want the SIP address", sc.Text())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd, root, m[1]
}

func newTestUA(t *testing.T, aor, password, proxyAddr string) *ua.UA {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return apptest.StartUA(t, ctx, ua.Options{
		AOR: aor, Password: password, Proxy: "sip:" + proxyAddr + ";transport=tcp",
		RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		FlowCheckInterval: 100 * time.Millisecond,
	})
}

// waitPresence reads u's events until a PresenceEvent for uri satisfies ok.
func waitPresence(t *testing.T, u *ua.UA, uri string, d time.Duration, ok func(ua.PresenceEvent) bool) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case <-timeout:
			t.Fatalf("no matching presence of %s within %v", uri, d)
		case ev := <-u.Events():
			if pe, isPE := ev.(ua.PresenceEvent); isPE && pe.URI == uri && ok(pe) {
				return
			}
		}
	}
}

// TestServeRestartRecovery kills `sipbuddy serve` under two user agents and
// starts it again on the same ports: with nobody acting, the agents
// re-register, re-publish and re-subscribe, and bob sees alice again.
func TestServeRestartRecovery(t *testing.T) {
	bin := buildSipbuddy(t)
	data := t.TempDir()
	cmd, _, sipAddr := startServeSIP(t, bin, data, "127.0.0.1:0", "127.0.0.1:0",
		"--user", "alice:alicepw", "--user", "bob:bobpw")
	xcapAddr := freeTCPAddr(t)
	// Restart once on a fixed XCAP port too, so both addresses stay put.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v", err)
	}
	cmd, _, sipAddr = startServeSIP(t, bin, data, xcapAddr, sipAddr)

	alice := newTestUA(t, "sip:alice@example.test", "alicepw", sipAddr)
	bob := newTestUA(t, "sip:bob@example.test", "bobpw", sipAddr)
	const note = "Back after lunch"
	const iconURL = "http://" + "127.0.0.1:1/xcap-root/oma_status-icon/users/sip:alice@example.test/index"
	alice.SetPresence(ua.Presence{Open: true, Activities: []string{"away"}, Note: note, IconURL: iconURL, IconSHA1: strings.Repeat("ab", 20)})
	bob.Subscribe("sip:alice@example.test")
	isAlice := func(pe ua.PresenceEvent) bool {
		return pe.State.Note == note && pe.State.IconURL == iconURL && len(pe.State.Activities) == 1 && pe.State.Activities[0] == "away"
	}
	waitPresence(t, bob, "sip:alice@example.test", 15*time.Second, isAlice)

	// A crash: no goodbye, all state in memory lost.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(300 * time.Millisecond)
	for drained := false; !drained; {
		select {
		case <-bob.Events():
		default:
			drained = true
		}
	}
	startServeSIP(t, bin, data, xcapAddr, sipAddr)
	waitPresence(t, bob, "sip:alice@example.test", 30*time.Second, isAlice)
}

// freeTCPAddr returns a loopback address whose port was free a moment ago.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
