package server

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// runSipp runs one scenario from testdata as a single call against the
// server over UDP and returns the messages sipp exchanged.
func runSipp(t *testing.T, e *testEnv, scenario string, args ...string) string {
	t.Helper()
	return testtool.Sipp(t, "udp", filepath.Join("testdata", scenario), e.udpAddr, args...)
}

// sipp, an independent SIP stack, registers, publishes a PIDF with an icon
// URL and subscribes, all with digest; the NOTIFY it receives carries the
// icon URL.
func TestSippRegisterPublishSubscribe(t *testing.T) {
	e := newEnv(t, envOptions{})
	const icon = "http://127.0.0.1:8080/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"

	trace := runSipp(t, e, "sipp_register.xml", "-key", "user", "alice", "-key", "domain", testDomain, "-au", "alice", "-ap", "alicepw")
	if !strings.Contains(trace, "SIP/2.0 401") || !strings.Contains(trace, ";expires=120") {
		t.Fatalf("REGISTER exchange (Expires 300 capped to 120):\n%s", trace)
	}
	if len(e.srv.Bindings("alice")) != 1 {
		t.Fatal("sipp's REGISTER left no binding")
	}

	trace = runSipp(t, e, "sipp_publish.xml", "-key", "user", "alice", "-key", "domain", testDomain,
		"-key", "icon_url", icon, "-key", "note", "published-by-sipp", "-au", "alice", "-ap", "alicepw")
	if !strings.Contains(trace, "SIP/2.0 407") || !strings.Contains(trace, "SIP-ETag: ") {
		t.Fatalf("PUBLISH exchange:\n%s", trace)
	}

	trace = runSipp(t, e, "sipp_subscribe.xml", "-key", "user", "bob", "-key", "domain", testDomain,
		"-key", "target", "alice", "-key", "event", "presence", "-key", "accept", "application/pidf+xml",
		"-au", "bob", "-ap", "bobpw")
	i := strings.Index(trace, "NOTIFY sip:bob@")
	if i < 0 {
		t.Fatalf("sipp received no NOTIFY:\n%s", trace)
	}
	notify := trace[i:]
	if end := strings.Index(notify, "</presence>"); end >= 0 {
		notify = notify[:end]
	}
	if !strings.Contains(notify, icon) || !strings.Contains(notify, "published-by-sipp") {
		t.Fatalf("the first NOTIFY lacks the icon URL %s:\n%s", icon, notify)
	}
	if !strings.Contains(trace, "Subscription-State: terminated") {
		t.Fatalf("no terminated NOTIFY after sipp's unsubscribe:\n%s", trace)
	}
}
