package kamailiotest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/locate"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// waitTimeout bounds every wait for something Kamailio should make happen;
// on loopback it happens within milliseconds, so this only bounds a failure.
const waitTimeout = 20 * time.Second

// instance is one running Kamailio.
type instance struct {
	SIP  string // "127.0.0.1:5370"
	XCAP string // "http://127.0.0.1:8370/xcap-root"
	// Resolver, when set, replaces SIP: the client finds its servers in
	// DNS (RFC 3263) and fails over among them.
	Resolver *locate.Resolver
}

// Proxy is the outbound proxy URI a sipbuddy account uses. TCP: the
// transport where Kamailio needs ";transport=tcp" in our Contact.
func (in instance) Proxy() string {
	if in.Resolver != nil {
		return ""
	}
	return "sip:" + in.SIP + ";transport=tcp"
}

// kamailio returns the instance named by the two variables, skipping the
// test (failing in CI) when they are not set.
func kamailio(t *testing.T, sipVar, xcapVar string) instance {
	t.Helper()
	in := instance{SIP: os.Getenv(sipVar), XCAP: os.Getenv(xcapVar)}
	if in.SIP == "" || in.XCAP == "" {
		msg := fmt.Sprintf("%s and %s are not set: start ../shared/peers/kamailio/start.sh and point them at it (see go doc ./internal/kamailiotest)", sipVar, xcapVar)
		if os.Getenv(testtool.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return in
}

func openInstance(t *testing.T) instance  { return kamailio(t, EnvOpenSIP, EnvOpenXCAP) }
func rulesInstance(t *testing.T) instance { return kamailio(t, EnvRulesSIP, EnvRulesXCAP) }

func aor(user string) string { return "sip:" + user + "@" + Domain }

// xcapClient is a plain XCAP client of user on in (what another device of
// that user would be).
func xcapClient(t *testing.T, in instance, user string) *xcap.Client {
	t.Helper()
	c, err := xcap.NewClient(xcap.ClientOptions{Root: in.XCAP, XUI: aor(user), Password: user + "pw"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setBuddies replaces user's resource-lists document on the server with one
// "buddies" list holding uris, as another client of that user would have
// written it.
func setBuddies(t *testing.T, in instance, user string, uris ...string) {
	t.Helper()
	doc := resourcelists.New()
	for _, u := range uris {
		if err := doc.Add(resourcelists.BuddiesList, u, ""); err != nil {
			t.Fatal(err)
		}
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := xcapClient(t, in, user).Put(ctx, xcap.AUIDResourceLists, "index", body, "application/resource-lists+xml", xcap.Condition{}); err != nil {
		t.Fatalf("PUT %s's resource-lists: %v", user, err)
	}
}

// session is one sipbuddy account logged in to Kamailio through the real
// backend, with every event it reported kept for the test to look at.
type session struct {
	t    *testing.T
	user string
	b    *account.Account

	mu      sync.Mutex
	events  []account.Event
	changed chan struct{} // closed and replaced on every event
}

// login starts user's backend against in and waits for its registration.
func login(t *testing.T, in instance, user string, expires time.Duration) *session {
	t.Helper()
	b, err := account.New(account.Options{
		Options: ua.Options{
			AOR:              aor(user),
			Password:         user + "pw",
			Proxy:            in.Proxy(),
			Resolver:         in.Resolver,
			RegisterExpires:  expires,
			PublishExpires:   expires,
			SubscribeExpires: expires,
		},
		XCAPRoot: in.XCAP,
		CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &session{t: t, user: user, b: b, changed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			evs, err := b.Next(context.Background(), 0)
			if err != nil {
				return
			}
			a.mu.Lock()
			a.events = append(a.events, evs...)
			close(a.changed)
			a.changed = make(chan struct{})
			a.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's events:\n%s", user, a.summary())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Logf("%s: close: %v", user, err)
		}
		<-done
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("%s: start: %v", user, err)
	}
	a.waitFor(user+" registered", func(ev account.Event) bool {
		e, ok := ev.(account.AccountEvent)
		return ok && e.State == ua.Registered
	})
	return a
}

// find returns the first event so far for which match is true.
func (a *session) find(match func(account.Event) bool) (account.Event, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ev := range a.events {
		if match(ev) {
			return ev, true
		}
	}
	return nil, false
}

// waitFor returns the first event (already received or still to come) for
// which match is true, failing the test after waitTimeout.
func (a *session) waitFor(what string, match func(account.Event) bool) account.Event {
	a.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	seen := 0
	for {
		a.mu.Lock()
		evs, changed := a.events[seen:], a.changed
		seen = len(a.events)
		a.mu.Unlock()
		for _, ev := range evs {
			if e, ok := ev.(account.ErrorEvent); ok {
				a.t.Fatalf("%s: request %d (%s) failed: %v", a.user, e.ID, e.Kind, e.Err)
			}
			if match(ev) {
				return ev
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			a.t.Fatalf("%s: no %s within %s", a.user, what, waitTimeout)
		}
	}
}

// done waits for the DoneEvent answering request id.
func (a *session) done(id account.RequestID) account.DoneEvent {
	a.t.Helper()
	return a.waitFor(fmt.Sprintf("answer to request %d", id), func(ev account.Event) bool {
		e, ok := ev.(account.DoneEvent)
		return ok && e.ID == id
	}).(account.DoneEvent)
}

// sipLog returns the SIP messages sent (out) or received (!out) so far.
func (a *session) sipLog(out bool) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var msgs []string
	for _, ev := range a.events {
		if l, ok := ev.(account.LogEvent); ok && (l.Kind == account.LogSIPOut) == out && (l.Kind == account.LogSIPOut || l.Kind == account.LogSIPIn) {
			msgs = append(msgs, l.Text)
		}
	}
	return msgs
}

// summary lists the events received (log lines shortened) for a failure.
func (a *session) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, ev := range a.events {
		s := fmt.Sprintf("%T %+v", ev, ev)
		if l, ok := ev.(account.LogEvent); ok {
			first, _, _ := strings.Cut(l.Text, "\n")
			s = fmt.Sprintf("log[%d] %s", l.Kind, strings.TrimSpace(first))
		}
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		b.WriteString("  " + s + "\n")
	}
	return b.String()
}

// presenceOf matches a PresenceEvent about uri for which ok is true.
func presenceOf(uri string, ok func(account.PresenceEvent) bool) func(account.Event) bool {
	return func(ev account.Event) bool {
		p, is := ev.(account.PresenceEvent)
		return is && p.URI == uri && ok(p)
	}
}

// listOf matches a ListEvent for which ok holds.
func listOf(ok func(account.ListEvent) bool) func(account.Event) bool {
	return func(ev account.Event) bool {
		e, is := ev.(account.ListEvent)
		return is && ok(e)
	}
}

// subscriptionOf matches a SubscriptionEvent about uri in state st.
func subscriptionOf(uri string, st ua.SubscriptionState) func(account.Event) bool {
	return func(ev account.Event) bool {
		s, is := ev.(account.SubscriptionEvent)
		return is && s.URI == uri && s.State == st
	}
}

// watcher matches a WatchersEvent listing uri with the given status.
func watcher(uri, status string) func(account.Event) bool {
	return func(ev account.Event) bool {
		w, is := ev.(account.WatchersEvent)
		if !is {
			return false
		}
		for _, x := range w.Watchers {
			if x.URI == uri && x.Status == status {
				return true
			}
		}
		return false
	}
}

// photo writes a 320x200 JPEG "photograph" (a colour gradient with a dark
// square in the middle) to dir and returns its path.
func photo(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			c := color.RGBA{uint8(40 + x*200/320), uint8(30 + y), 160, 255}
			if x > 130 && x < 190 && y > 70 && y < 130 {
				c = color.RGBA{10, 10, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
