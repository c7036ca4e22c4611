package ua

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

const (
	aliceAOR = "sip:alice@example.test"
	bobAOR   = "sip:bob@example.test"
)

// embedded is the project's own registrar and presence server on loopback.
type embedded struct {
	t     *testing.T
	store *store.Bolt
	srv   *server.Server
	opts  server.Options
	udp   string
	tcp   string
	done  chan error
}

// startEmbedded starts sip/server with users alice/alicepw and bob/bobpw.
// Expiries may be as short as one second, so refreshes happen in tests.
func startEmbedded(t *testing.T, policy server.Policy) *embedded {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range []struct{ user, pw string }{{"alice", "alicepw"}, {"bob", "bobpw"}, {"carol", "carolpw"}} {
		if err := st.SetPassword(u.user, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	e := &embedded{t: t, store: st, opts: server.Options{Domain: "example.test", Store: st, Policy: policy, MinExpires: time.Second}}
	e.start("127.0.0.1:0", "127.0.0.1:0")
	return e
}

// start serves on the given addresses (the same ones again after stop: a
// restart).
func (e *embedded) start(udpAddr, tcpAddr string) {
	e.t.Helper()
	srv, err := server.New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", udpAddr)
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		pc.Close()
		e.t.Fatal(err)
	}
	e.srv, e.udp, e.tcp = srv, pc.LocalAddr().String(), ln.Addr().String()
	done := make(chan error, 1)
	e.done = done
	go func() { done <- srv.Serve(context.Background(), pc, ln) }()
	e.t.Cleanup(e.stop)
}

func (e *embedded) stop() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	<-e.done
	e.srv = nil
}

func (e *embedded) options(aor, password string) Options {
	return Options{AOR: aor, Password: password, Proxy: "sip:" + e.tcp + ";transport=tcp",
		RegisterExpires: 2 * time.Second, PublishExpires: 2 * time.Second, SubscribeExpires: 2 * time.Second,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond, FlowCheckInterval: 50 * time.Millisecond}
}

const iconURL = "http://127.0.0.1:8080/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"
const iconSHA1 = "0123456789abcdef0123456789abcdef01234567"

// Two UAs through the embedded server: alice's away + note + icon reach bob
// (content, not timing), her watchers list shows bob, and when she closes
// bob sees her closed.
func TestEmbeddedPresence(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	alice.waitFor(t, "alice registered", isRegistered)
	bob.waitFor(t, "bob registered", isRegistered)

	alice.WatchWatchers(true)
	alice.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: "gone fishing", IconURL: iconURL, IconSHA1: iconSHA1})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "away + note + icon", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && slices.Contains(p.State.Activities, "away") &&
			p.State.Note == "gone fishing" && p.State.IconURL == iconURL && p.State.IconHash == iconSHA1
	}))
	alice.waitFor(t, "bob watching", func(ev Event) bool {
		w, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(w.Info.Watchers, func(w winfo.Watcher) bool { return w.URI == bobAOR && w.Status == winfo.StatusActive })
	})

	if err := alice.Close(t.Context()); err != nil {
		t.Fatalf("alice Close: %v", err)
	}
	ev := bob.waitFor(t, "alice closed", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic != pidf.BasicOpen
	})).(PresenceEvent)
	if got := ev.State.Availability(); got != pidf.Offline && got != pidf.Unknown {
		t.Errorf("after alice closed bob shows %v, want offline", got)
	}
}

// With 2 s expiries, registration, publication and subscription are
// refreshed several times and still carry state afterwards.
func TestEmbeddedRefresh(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	alice.SetPresence(Presence{Open: true, Note: "first"})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "first", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "first" }))

	// Each expiry period (2 s) passes twice over: wait for the refreshes
	// themselves on the wire rather than for a time.
	waitSent := func(tu *testUA, what string, n int) {
		deadline := time.Now().Add(waitTimeout)
		for tu.rec.count(what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s sent fewer than %d %q", tu.name, n, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitSent(alice, ">>> PUBLISH", 3)
	waitSent(alice, ">>> REGISTER", 3)
	waitSent(bob, ">>> SUBSCRIBE sip:127.0.0.1", 2) // in-dialog refreshes go to the server's Contact

	alice.SetPresence(Presence{Open: true, Note: "second"})
	bob.waitFor(t, "second", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "second" }))
	for _, tu := range []*testUA{alice, bob} {
		tu.rec.mu.Lock()
		for _, l := range tu.rec.lines {
			if strings.Contains(l, "<<< SIP/2.0 412") || strings.Contains(l, "<<< SIP/2.0 481") {
				t.Errorf("%s: a refresh failed: %s", tu.name, l)
			}
		}
		tu.rec.mu.Unlock()
	}
}

// The server restarts on the same addresses (its memory gone): the UAs
// notice, register again, publish afresh and re-subscribe, and bob sees
// alice's state from the new server.
func TestEmbeddedRestart(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	alice.SetPresence(Presence{Open: true, Activities: []string{"busy"}, Note: "survivor", IconURL: iconURL})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "before", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "survivor" }))

	udp, tcp := e.udp, e.tcp
	e.stop()
	e.start(udp, tcp)

	// A new dialog (the old one is unknown to the new server), then
	// alice's state again, which only her fresh publication can give.
	bob.waitFor(t, "re-subscribing", subscriptionEvent(aliceAOR, Pending, "subscribing"))
	bob.waitFor(t, "after", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Note == "survivor" && slices.Contains(p.State.Activities, "busy")
	}))
}

// pres-rules drive the subscription state: pending while unauthorized,
// active once allowed, terminated with reason rejected when blocked.
func TestEmbeddedAuthorization(t *testing.T) {
	e := startEmbedded(t, server.Confirm)
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	alice.SetPresence(Presence{Open: true, Note: "private"})
	alice.waitFor(t, "published", isPublished)
	alice.WatchWatchers(true)
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "pending", subscriptionEvent(aliceAOR, Pending, "authorization"))
	alice.waitFor(t, "bob pending in winfo", func(ev Event) bool {
		w, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(w.Info.Watchers, func(w winfo.Watcher) bool { return w.URI == bobAOR && w.Pending() })
	})

	setRule := func(handling string) {
		doc := `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
 <cr:rule id="bob"><cr:conditions><cr:identity><cr:one id="sip:bob@example.test"/></cr:identity></cr:conditions>
  <cr:actions><sub-handling>` + handling + `</sub-handling></cr:actions></cr:rule>
</cr:ruleset>`
		if _, _, err := e.store.Put(store.Key{AUID: "pres-rules", User: aliceAOR, Path: "index"}, []byte(doc), store.Condition{}); err != nil {
			t.Fatal(err)
		}
		e.srv.RulesChanged("alice")
	}
	setRule("allow")
	bob.waitFor(t, "active", subscriptionEvent(aliceAOR, Active, ""))
	bob.waitFor(t, "private note", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "private" }))

	setRule("block")
	bob.waitFor(t, "rejected", subscriptionEvent(aliceAOR, Terminated, "rejected"))
}

// Unsubscribe ends the dialog with Expires: 0 and reports it.
func TestEmbeddedUnsubscribe(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "active", subscriptionEvent(aliceAOR, Active, ""))
	bob.Unsubscribe(aliceAOR)
	bob.waitFor(t, "unsubscribed", subscriptionEvent(aliceAOR, Terminated, "unsubscribed"))
	if n := bob.rec.count(">>> SIP/2.0 481"); n != 0 {
		t.Errorf("answered %d NOTIFYs with 481 during the unsubscribe; the final NOTIFY must get 200", n)
	}
}
