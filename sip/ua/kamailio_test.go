package ua

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
)

// KamailioEnv names the environment variable that points the Kamailio
// interoperability test at a running peer (/work/shared/peers/kamailio):
// "127.0.0.1:5070". Users alice/alicepw and bob/bobpw in example.test.
const KamailioEnv = "SIPBUDDY_KAMAILIO_PROXY"

func kamailioProxy(t *testing.T) string {
	addr := os.Getenv(KamailioEnv)
	if addr == "" {
		msg := KamailioEnv + " not set: start peers/kamailio/start.sh and set it to its SIP address"
		if os.Getenv(testtool.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return addr
}

func TestKamailioPresence(t *testing.T) {
	proxy := kamailioProxy(t)
	const icon = "http://127.0.0.1:8070/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"
	alice := startUA(t, "alice", Options{AOR: "sip:alice@example.test", DisplayName: "Alice", Password: "alicepw",
		Proxy: "sip:" + proxy + ";transport=tcp", RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9})
	bob := startUA(t, "bob", Options{AOR: "sip:bob@example.test", Password: "bobpw",
		Proxy: "sip:" + proxy + ";transport=tcp", RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9})
	alice.waitFor(t, "alice registered", isRegistered)
	bob.waitFor(t, "bob registered", isRegistered)

	alice.WatchWatchers(true)
	alice.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: "gone fishing", IconURL: icon})
	alice.waitFor(t, "alice published", isPublished)

	bob.Subscribe("sip:alice@example.test")
	bob.waitFor(t, "alice away with note and icon", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && slices.Contains(p.State.Activities, "away") &&
			p.State.Note == "gone fishing" && p.State.IconURL == icon
	}))
	alice.waitFor(t, "bob in alice's watchers", func(ev Event) bool {
		w, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(w.Info.Watchers, func(w winfo.Watcher) bool { return w.URI == "sip:bob@example.test" && w.Status == "active" })
	})

	alice.SetPresence(Presence{Open: true, Activities: []string{"busy"}, Note: "in a meeting", IconURL: icon})
	bob.waitFor(t, "alice busy", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return slices.Contains(p.State.Activities, "busy") && p.State.Note == "in a meeting"
	}))
}

// alice's Close removes her publication: bob sees her closed (Kamailio
// synthesizes a closed document when the last publication goes).
func TestKamailioCloseShowsClosed(t *testing.T) {
	proxy := kamailioProxy(t)
	alice, bob := aliceSeenByBob(t, func(aor, pw string) Options {
		return Options{AOR: aor, Password: pw, Proxy: "sip:" + proxy + ";transport=tcp", RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9}
	}, "here")
	if err := alice.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(t, "alice closed", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return p.State.Basic != pidf.BasicOpen && p.State.Note == ""
	}))
}

// KamailioStateEnv, with KamailioEnv, lets the restart test stop and start
// that Kamailio (its KAMAILIO_STATE dir; SIP_PORT/HTTP_PORT as started).
const KamailioStateEnv = "SIPBUDDY_KAMAILIO_STATE"

// KamailioHarnessEnv names the directory of the harness's start.sh and
// stop.sh (shared/peers/kamailio).
const KamailioHarnessEnv = "SIPBUDDY_KAMAILIO_HARNESS"

// harnessEnv reads the variables start.sh wrote for a running instance
// (HTTP_PORT, PRES_AUTH, ...), so that a restart brings back the same one.
func harnessEnv(t *testing.T, state string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "env.sh"))
	if err != nil {
		t.Fatalf("the Kamailio instance in %s: %v", state, err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && (k == "HTTP_PORT" || k == "SIP_PORT" || k == "PRES_AUTH" || k == "SIP_DOMAIN") {
			env = append(env, k+"="+strings.Trim(v, `"`))
		}
	}
	return env
}

// aliceSeenByBob starts alice and bob with opts (given each one's AOR and
// password), has alice publish note and bob subscribe to her, and returns
// once bob sees the note.
func aliceSeenByBob(t *testing.T, opts func(aor, pw string) Options, note string) (alice, bob *testUA) {
	t.Helper()
	alice = startUA(t, "alice", opts("sip:alice@example.test", "alicepw"))
	bob = startUA(t, "bob", opts("sip:bob@example.test", "bobpw"))
	alice.SetPresence(Presence{Open: true, Note: note})
	alice.waitFor(t, "published", isPublished)
	bob.Subscribe("sip:alice@example.test")
	bob.waitFor(t, "alice: "+note, presenceOf("sip:alice@example.test", func(p PresenceEvent) bool { return p.State.Note == note }))
	return alice, bob
}

// Kamailio is restarted under the UAs; they recover by themselves.
func TestKamailioRestart(t *testing.T) {
	proxy := kamailioProxy(t)
	state, harness := os.Getenv(KamailioStateEnv), os.Getenv(KamailioHarnessEnv)
	if state == "" || harness == "" {
		t.Skip(KamailioStateEnv + " and " + KamailioHarnessEnv + " not set: the restart test needs to stop and start Kamailio")
	}
	env := append(os.Environ(), "KAMAILIO_STATE="+state, "KAMAILIO_NO_APT=1")
	env = append(env, harnessEnv(t, state)...)
	run := func(script string) {
		cmd := exec.Command(filepath.Join(harness, script))
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	alice, bob := aliceSeenByBob(t, func(aor, pw string) Options {
		return Options{AOR: aor, Password: pw, Proxy: "sip:" + proxy + ";transport=tcp",
			RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9, FlowCheckInterval: 100e6}
	}, "before")

	run("stop.sh")
	run("start.sh")
	// The lost connection is noticed while Kamailio is down: one failed
	// REGISTER at least, then the registration comes back by itself.
	alice.waitFor(t, "registration failed", func(ev Event) bool { r, ok := ev.(RegistrationEvent); return ok && r.State == Failed })
	alice.waitFor(t, "re-registered", isRegistered)
	alice.SetPresence(Presence{Open: true, Note: "after"})
	bob.waitFor(t, "after", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool { return p.State.Note == "after" }))
}
