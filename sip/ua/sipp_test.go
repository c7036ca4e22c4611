package ua

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

// runSipp runs one sipp scenario from testdata against the embedded server
// over TCP and returns the messages it exchanged (-trace_msg).
func runSipp(t *testing.T, e *embedded, scenario string, args ...string) string {
	t.Helper()
	sipp := testtool.Path(t, "sipp", "sip-tester")
	scen, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msgs := filepath.Join(dir, "messages.log")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for sipp
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	all := append([]string{"-sf", scen, "-t", "t1", "-i", "127.0.0.1", "-p", port, "-m", "1", "-nostdin",
		"-timeout", "20s", "-timeout_error", "-trace_msg", "-message_file", msgs,
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	all = append(all, e.tcp)
	cmd := exec.CommandContext(ctx, sipp, all...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	trace, _ := os.ReadFile(msgs)
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
		t.Fatalf("sipp %s: %v\n%s\n--- errors ---\n%s\n--- messages ---\n%s", scenario, err, lastLines(string(out), 20), errs, trace)
	}
	return string(trace)
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
