package ua

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	return startEmbeddedWith(t, server.Options{Policy: policy})
}

// startEmbeddedWith is startEmbedded with more server options (Domain,
// Store and MinExpires are set here).
func startEmbeddedWith(t *testing.T, o server.Options) *embedded {
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
	o.Domain, o.Store, o.MinExpires = "example.test", st, time.Second
	e := &embedded{t: t, store: st, opts: o}
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
// active once allowed; blocked, bob's subscription is terminated
// (reason probation, retry-after the server's BlockedRetryAfter), and when
// alice unblocks him his own client subscribes again and is active, without
// bob doing anything.
func TestEmbeddedAuthorization(t *testing.T) {
	e := startEmbeddedWith(t, server.Options{Policy: server.Confirm, BlockedRetryAfter: time.Second})
	alice := startUA(t, "alice", e.options(aliceAOR, "alicepw"))
	bobOpts, notifies := withNotifies(e.options(bobAOR, "bobpw"))
	bob := startUA(t, "bob", bobOpts)
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
	ev := bob.waitFor(t, "blocked", subscriptionEvent(aliceAOR, Retrying, "probation")).(SubscriptionEvent)
	if ev.RetryIn <= 0 || ev.RetryIn > 2*time.Second {
		t.Errorf("blocked: retry in %v, want the server's retry-after (1 s)", ev.RetryIn)
	}
	if n := notifies(); !strings.Contains(n, "Subscription-State: terminated;reason=probation;retry-after=1\r\n") || strings.Contains(n, "private") {
		t.Errorf("the blocking NOTIFY on the wire:\n%s", n)
	}
	// Still blocked when bob's client asks again: the same answer.
	bob.waitFor(t, "still blocked", subscriptionEvent(aliceAOR, Retrying, "probation"))

	setRule("allow")
	bob.waitFor(t, "active again", subscriptionEvent(aliceAOR, Active, ""))
	bob.waitFor(t, "private note again", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "private" }))
}

// The offline note (RFC 4827 pidf-manipulation, stored through XCAP) is
// what bob sees once every device of alice is offline, and not while one
// publishes.
func TestEmbeddedOfflineNote(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	bobOpts, lastNotify := withNotifies(e.options(bobAOR, "bobpw"))
	bob := startUA(t, "bob", bobOpts)
	laptop := startUA(t, "alice-laptop", e.options(aliceAOR, "alicepw"))
	laptop.SetPresence(Presence{Open: true, Note: "at my desk"})
	laptop.waitFor(t, "published", isPublished)
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "at my desk", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "at my desk" }))

	offline, err := pidf.Encode(pidf.Publication{Entity: aliceAOR, TupleID: "offline", Note: "on holiday until Monday"})
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{AUID: "pidf-manipulation", User: aliceAOR, Path: "index"}
	if _, _, err := e.store.Put(k, offline, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.srv.StoreChanged(k)
	if strings.Contains(lastNotify(), "on holiday") {
		t.Fatal("the offline note was sent while a device publishes")
	}

	if err := laptop.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(t, "the offline note", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic != pidf.BasicOpen && p.State.Note == "on holiday until Monday"
	}))
	if n := lastNotify(); !strings.Contains(n, "on holiday until Monday") || !strings.Contains(n, "<basic>closed</basic>") {
		t.Fatalf("last NOTIFY on the wire:\n%s", n)
	}

	phone := startUA(t, "alice-phone", e.options(aliceAOR, "alicepw"))
	phone.SetPresence(Presence{Open: true, Note: "back on the phone"})
	bob.waitFor(t, "the phone's note", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "back on the phone" }))
	if n := lastNotify(); strings.Contains(n, "on holiday") {
		t.Fatalf("the offline note is still sent while a device publishes:\n%s", n)
	}

	// Removed, it is not shown any more when the last device leaves.
	if err := e.store.Delete(k, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.srv.StoreChanged(k)
	if err := phone.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(t, "offline without a note", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic != pidf.BasicOpen && p.State.Note == ""
	}))
	if n := lastNotify(); strings.Contains(n, "on holiday") {
		t.Fatalf("a removed offline note is still sent:\n%s", n)
	}
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

// withNotifies adds a trace to o that keeps the NOTIFYs received; last
// returns the newest one, as it was on the wire.
func withNotifies(o Options) (_ Options, last func() string) {
	var mu sync.Mutex
	var newest string
	o.Trace = func(in bool, msg string) {
		if in && strings.HasPrefix(msg, "NOTIFY ") {
			mu.Lock()
			newest = msg
			mu.Unlock()
		}
	}
	return o, func() string {
		mu.Lock()
		defer mu.Unlock()
		return newest
	}
}
