package ua

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

// runSipp runs one scenario from testdata as a single call against the
// server over TCP and returns the messages sipp exchanged.
func runSipp(t *testing.T, e *embedded, scenario string, args ...string) string {
	t.Helper()
	return testtool.Sipp(t, "tcp", filepath.Join("testdata", scenario), e.tcp, args...)
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// sipp, an independent SIP stack, publishes (with digest); our UA, watching
// that user through the embedded server, sees the note, the activity and
// the icon.
func TestSippPublishSeenByUA(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	bob.Subscribe(carol)
	bob.waitFor(t, "active", subscriptionEvent(carol, Active, ""))

	const icon = "http://127.0.0.1:8080/xcap-root/org.openmobilealliance.pres-content/users/sip:carol@example.test/oma_status-icon/index"
	runSipp(t, e, "sipp_publish.xml", "-key", "user", "carol", "-key", "domain", "example.test",
		"-key", "note", "published-by-sipp", "-key", "icon_url", icon, "-au", "carol", "-ap", "carolpw")
	bob.waitFor(t, "sipp's publication", presenceOf(carol, func(p PresenceEvent) bool {
		return p.State.Note == "published-by-sipp" && p.State.IconURL == icon && len(p.State.Activities) == 1 && p.State.Activities[0] == "busy"
	}))
}

// Our UA publishes; a sipp SUBSCRIBE receives a NOTIFY with the icon URL.
func TestUAPublishSeenBySipp(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	alice.SetPresence(Presence{Open: true, Note: "for sipp", IconURL: iconURL, IconSHA1: iconSHA1})
	alice.waitFor(t, "published", isPublished)

	trace := runSipp(t, e, "sipp_subscribe.xml", "-key", "user", "carol", "-key", "domain", "example.test",
		"-key", "target", "alice", "-au", "carol", "-ap", "carolpw")
	if !strings.Contains(trace, iconURL+"#"+iconSHA1) || !strings.Contains(trace, "for sipp") {
		t.Errorf("sipp's NOTIFY lacks alice's icon URL or note:\n%s", lastLines(trace, 60))
	}
}
