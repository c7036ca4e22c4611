package account

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

// server is the embedded SIP + XCAP stack on loopback with users
// "tester" and buddy0..buddyN-1 (password "pw"), until the test ends.
type server struct {
	*stack.Stack
	domain string
}

func startServer(t *testing.T, buddies int, noRLS, noXcapDiff bool) *server {
	t.Helper()
	users := []stack.User{{Name: "tester", Password: "pw"}}
	for i := range buddies {
		users = append(users, stack.User{Name: fmt.Sprintf("buddy%d", i), Password: "pw"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Domain: "example.test", Store: filepath.Join(t.TempDir(), "xcap.db"),
		XCAPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", Users: users,
		NoListServer: noRLS, NoXcapDiff: noXcapDiff,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apptest.StopTimeout)
		defer cancel()
		if err := st.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	return &server{Stack: st, domain: "example.test"}
}

func buddyURI(i int) string { return fmt.Sprintf("sip:buddy%d@example.test", i) }

// putBuddies stores tester's buddy list as another client would write it:
// buddy0..n-1 in the list "buddies", without the RLS list.
func (s *server) putBuddies(t *testing.T, n int) {
	t.Helper()
	doc := resourcelists.New()
	for i := range n {
		if err := doc.Add(resourcelists.BuddiesList, buddyURI(i), fmt.Sprintf("Buddy %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := s.xcapOf(t, "tester").Put(ctx, resourcelists.AUID, resourcelists.DocumentPath, body, resourcelists.ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
}

func (s *server) xcapOf(t *testing.T, user string) *xcap.Client {
	t.Helper()
	c, err := xcap.NewClient(xcap.ClientOptions{Root: s.XCAPRoot(), XUI: "sip:" + user + "@" + s.domain, Username: user, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wire counts the SIP messages an account sends and receives.
type wire struct {
	mu  sync.Mutex
	out []string
	in  []string
}

func (w *wire) trace(in bool, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if in {
		w.in = append(w.in, msg)
	} else {
		w.out = append(w.out, msg)
	}
}

var callIDLine = regexp.MustCompile(`(?mi)^(?:Call-ID|i):\s*(\S+)`)

// testerAOR is the account loginTester logs in as.
const testerAOR = "sip:tester@example.test"

// presenceDialogs are the Call-IDs of the presence SUBSCRIBEs that the
// account self sent to buddies or its list (a challenge makes the same
// dialog send it twice) and the number sent. Its subscription to its own
// presence, for its other devices (devices.go), is not counted.
func (w *wire) presenceDialogs(self string) (callIDs map[string]bool, sent int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	callIDs = map[string]bool{}
	for _, m := range w.out {
		if !strings.HasPrefix(m, "SUBSCRIBE ") || !regexp.MustCompile(`(?mi)^Event:\s*presence\s*$`).MatchString(m) {
			continue
		}
		if strings.HasPrefix(m, "SUBSCRIBE "+self+" ") {
			continue
		}
		sent++
		if id := callIDLine.FindStringSubmatch(m); id != nil {
			callIDs[id[1]] = true
		}
	}
	return callIDs, sent
}

// received returns the incoming messages that contain every one of parts.
func (w *wire) received(parts ...string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
next:
	for _, m := range w.in {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// loginTester starts an account of tester on s with a wire trace.
func loginTester(t *testing.T, s *server, o func(*Options)) (*Account, *recorder, *wire) {
	t.Helper()
	return loginUser(t, s, "tester", o)
}

// loginUser starts an account of user (one of s's users) with a wire
// trace and a cache directory of its own.
func loginUser(t *testing.T, s *server, user string, o func(*Options)) (*Account, *recorder, *wire) {
	t.Helper()
	w := &wire{}
	opts := Options{
		Options: ua.Options{
			AOR: "sip:" + user + "@" + s.domain, Password: "pw", Proxy: s.Proxy(),
			RetryMin: 100 * time.Millisecond, RetryMax: time.Second, Trace: w.trace,
		},
		XCAPRoot: s.XCAPRoot(), CacheDir: t.TempDir(), NoTrace: true,
	}
	if o != nil {
		o(&opts)
	}
	b, r := startRecorded(t, opts)
	return b, r, w
}

// publisher is a buddy's own user agent, publishing its presence.
func (s *server) publisher(t *testing.T, i int, note string) *ua.UA {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	u := apptest.StartUA(t, ctx, ua.Options{AOR: buddyURI(i), Password: "pw", Proxy: s.Proxy()})
	u.SetPresence(ua.Presence{Open: true, Note: note})
	return u
}

// presentBuddies are the buddies of which a PresenceEvent arrived.
func (r *recorder) presentBuddies() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for _, ev := range r.evs {
		if p, ok := ev.(PresenceEvent); ok {
			out[p.URI] = true
		}
	}
	return out
}

func waitNote(t *testing.T, r *recorder, uri, note string) {
	t.Helper()
	r.wait(t, uri+"'s note "+note, func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == uri && p.State.Note == note
	})
}

// TestOneRLSSubscriptionForAThousandBuddies: an account whose list has
// 1,000 buddies sends one presence SUBSCRIBE (to its RLS service, which it
// set up itself), gets every buddy's state through it, and a member's
// PUBLISH arrives as a partial RLMI NOTIFY and reaches the account's events.
func TestOneRLSSubscriptionForAThousandBuddies(t *testing.T) {
	const n = 1000
	s := startServer(t, n, false, false)
	s.putBuddies(t, n)
	s.publisher(t, 7, "at the desk")
	began := time.Now()
	_, r, w := loginTester(t, s, nil)

	r.wait(t, "the list served by RLS with every buddy", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModeRLS && e.Members == n && e.Service == "sip:tester+presence@example.test"
	})
	for i := range n {
		r.wait(t, "presence of "+buddyURI(i), func(ev Event) bool {
			p, ok := ev.(PresenceEvent)
			return ok && p.URI == buddyURI(i)
		})
		r.wait(t, "active list instance of "+buddyURI(i), func(ev Event) bool {
			e, ok := ev.(SubscriptionEvent)
			return ok && e.URI == buddyURI(i) && e.State == ua.Active
		})
	}
	waitNote(t, r, buddyURI(7), "at the desk")
	t.Logf("%d buddies' states through one list subscription %s after Start", n, time.Since(began).Round(time.Millisecond))
	if got := len(r.presentBuddies()); got != n {
		t.Errorf("presence of %d buddies, want %d", got, n)
	}

	// A member changes: one partial-state NOTIFY carries it.
	s.publisher(t, 500, "in a meeting")
	waitNote(t, r, buddyURI(500), "in a meeting")
	if got := w.received(`fullState="false"`, "in a meeting", "Require: eventlist"); len(got) == 0 {
		t.Errorf("buddy500's change did not come as a partial RLMI NOTIFY")
	}
	dialogs, sent := w.presenceDialogs(testerAOR)
	if len(dialogs) != 1 {
		t.Errorf("%d presence subscriptions (%d SUBSCRIBEs) on the wire, want one", len(dialogs), sent)
	}
	t.Logf("1 presence dialog, %d SUBSCRIBE requests (a digest challenge resends the first)", sent)

	// The account wrote the documents the service needs, as Blink would.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	doc, err := s.xcapOf(t, "tester").Get(ctx, "rls-services", "index", "")
	if err != nil || !strings.Contains(string(doc.Body), "sip:tester+presence@example.test") || !strings.Contains(string(doc.Body), resourcelists.PresenceRLSList) {
		t.Errorf("rls-services document: %v\n%s", err, docBody(doc))
	}
}

func docBody(d *xcap.Document) string {
	if d == nil {
		return ""
	}
	return string(d.Body)
}

// TestNoRLSFallsBackToOneSubscriptionPerBuddy: the same account against a
// server without a list server watches each buddy and says so.
func TestNoRLSFallsBackToOneSubscriptionPerBuddy(t *testing.T) {
	const n = 40
	s := startServer(t, n, true, false)
	s.putBuddies(t, n)
	s.publisher(t, 3, "reading")
	_, r, w := loginTester(t, s, nil)

	ev := r.wait(t, "the fallback to one subscription per buddy", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModePerBuddy
	}).(ListEvent)
	if ev.Reason == "" || !strings.Contains(ev.String(), "one subscription per buddy") {
		t.Errorf("fallback without a reason in words: %q", ev.String())
	}
	for i := range n {
		r.wait(t, "active subscription to "+buddyURI(i), func(ev Event) bool {
			e, ok := ev.(SubscriptionEvent)
			return ok && e.URI == buddyURI(i) && e.State == ua.Active
		})
	}
	waitNote(t, r, buddyURI(3), "reading")
	s.publisher(t, 30, "lunch")
	waitNote(t, r, buddyURI(30), "lunch")
	if dialogs, _ := w.presenceDialogs(testerAOR); len(dialogs) != n+1 {
		t.Errorf("%d presence subscriptions, want %d (the refused list and one per buddy)", len(dialogs), n+1)
	}
}

// TestNoRLSOption: with NoRLS the account never asks for a list.
func TestNoRLSOption(t *testing.T) {
	s := startServer(t, 3, false, false)
	s.putBuddies(t, 3)
	_, r, w := loginTester(t, s, func(o *Options) { o.NoRLS = true })
	r.wait(t, "one subscription per buddy", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModePerBuddy && strings.Contains(e.Reason, "turned off")
	})
	for i := range 3 {
		r.wait(t, "active subscription to "+buddyURI(i), func(ev Event) bool {
			e, ok := ev.(SubscriptionEvent)
			return ok && e.URI == buddyURI(i) && e.State == ua.Active
		})
	}
	if got := w.received("Require: eventlist"); len(got) != 0 {
		t.Errorf("a list NOTIFY arrived with RLS off")
	}
}

// followCases are the two ways a client follows its account's edits: the
// server's xcap-diff notifications, or polling where it sends none.
var followCases = []struct {
	name       string
	noXcapDiff bool
	follow     FollowMode
}{
	{"xcap-diff", false, FollowXcapDiff},
	{"polling", true, FollowPolling},
}

// twoClients logs two clients of tester in to s and waits until both follow
// edits by follow (and, with viaRLS, watch the list through RLS).
func twoClients(t *testing.T, s *server, follow FollowMode, viaRLS bool) (a *Account, ra *recorder, b *Account, rb *recorder) {
	t.Helper()
	a, ra, _ = loginTester(t, s, nil)
	b, rb, _ = loginTester(t, s, nil)
	for _, r := range []*recorder{ra, rb} {
		r.wait(t, "following edits by "+follow.String(), func(ev Event) bool {
			e, ok := ev.(ListEvent)
			return ok && e.Follow == follow && (!viaRLS || e.Mode == ListModeRLS)
		})
	}
	return a, ra, b, rb
}

// TestTwoClientsOnOneAccountFollowEachOther: a buddy added by one client
// of the account shows in the other one, through xcap-diff where the
// server notifies and through polling where it does not.
func TestTwoClientsOnOneAccountFollowEachOther(t *testing.T) {
	for _, tc := range followCases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, 3, false, tc.noXcapDiff)
			s.putBuddies(t, 1)
			a, ra, _, rb := twoClients(t, s, tc.follow, true)
			s.publisher(t, 2, "new here")
			start := time.Now()
			if _, err := ra.answer(t, a.AddBuddy(buddyURI(2), "Newcomer")); err != nil {
				t.Fatal(err)
			}
			rb.wait(t, "the buddy added by the other client", func(ev Event) bool {
				e, ok := ev.(BuddiesEvent)
				return ok && len(e.Buddies) == 2 && e.Buddies[1].URI == buddyURI(2) && e.Buddies[1].DisplayName == "Newcomer"
			})
			t.Logf("%s: the other client showed the new buddy %s after the add", tc.name, time.Since(start).Round(time.Millisecond))
			// Its presence follows through the other client's list
			// subscription (the RLS list was kept in step).
			waitNote(t, rb, buddyURI(2), "new here")
			waitNote(t, ra, buddyURI(2), "new here")

			// An edit by a plain XCAP client (curl, Blink) shows too.
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if _, err := resourcelists.Update(ctx, s.xcapOf(t, "tester"), func(d *resourcelists.Document) error {
				if !d.Remove(buddyURI(0)) {
					return fmt.Errorf("%s not in the list", buddyURI(0))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*recorder{ra, rb} {
				r.wait(t, "the buddy removed elsewhere gone", func(ev Event) bool {
					e, ok := ev.(BuddiesEvent)
					return ok && len(e.Buddies) == 1 && e.Buddies[0].URI == buddyURI(2)
				})
			}
		})
	}
}

// TestMyIconFollowsOtherClients: an icon set by one client of the account
// becomes the other client's icon too (xcap-diff on the icon document), and
// is published by it.
func TestMyIconFollowsOtherClients(t *testing.T) {
	s := startServer(t, 1, false, false)
	a, ra, _ := loginTester(t, s, nil)
	_, rb, _ := loginTester(t, s, nil)
	rb.wait(t, "edits followed by xcap-diff", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Follow == FollowXcapDiff
	})
	path := filepath.Join(t.TempDir(), "me.png")
	if err := os.WriteFile(path, assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.answer(t, a.SetIcon(path)); err != nil {
		t.Fatal(err)
	}
	mine := ra.wait(t, "my new icon", func(ev Event) bool {
		e, ok := ev.(SelfEvent)
		return ok && e.IconHash != ""
	}).(SelfEvent)
	rb.wait(t, "the other client's icon as mine", func(ev Event) bool {
		e, ok := ev.(IconEvent)
		return ok && e.URI == "sip:tester@example.test" && e.Hash == mine.IconHash && e.Thumb != nil
	})
	rb.wait(t, "the other client publishing it", func(ev Event) bool {
		e, ok := ev.(SelfEvent)
		return ok && e.IconHash == mine.IconHash && e.IconURL == mine.IconURL
	})

	// A second icon replaces the first one there too.
	if err := os.WriteFile(path, assets.Buddies()[0].Icons[1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.answer(t, a.SetIcon(path)); err != nil {
		t.Fatal(err)
	}
	second := ra.wait(t, "my second icon", func(ev Event) bool {
		e, ok := ev.(SelfEvent)
		return ok && e.IconHash != "" && e.IconHash != mine.IconHash
	}).(SelfEvent)
	rb.wait(t, "the other client publishing the second icon", func(ev Event) bool {
		e, ok := ev.(SelfEvent)
		return ok && e.IconHash == second.IconHash
	})

	// Deleted with another tool (xcap-icon DELETE): neither publishes it.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	fromA, fromB := ra.mark(), rb.mark()
	if _, err := s.xcapOf(t, "tester").DeleteIcon(ctx, "index"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		r    *recorder
		from int
	}{{ra, fromA}, {rb, fromB}} {
		w.r.waitSince(t, w.from, "no icon any more", func(ev Event) bool {
			e, ok := ev.(SelfEvent)
			return ok && e.IconHash == "" && e.IconURL == ""
		})
	}
}

// TestBlinksRLSServiceIsKept: a service another client wrote for the same
// list (under its own XCAP root URL, with another service beside it) is
// used as it is, not rewritten.
func TestBlinksRLSServiceIsKept(t *testing.T) {
	s := startServer(t, 2, false, false)
	s.putBuddies(t, 2)
	const theirs = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:tester+presence@example.test"><resource-list>https://xcap.example.test/xcap-root/resource-lists/users/sip:tester@example.test/index/~~/resource-lists/list%5b@name=%22sipsimple_presence_rls%22%5d</resource-list><packages><package>presence</package></packages></service><service uri="sip:tester+dialog@example.test"><resource-list>https://xcap.example.test/xcap-root/resource-lists/users/sip:tester@example.test/index/~~/resource-lists/list%5b@name=%22sipsimple_dialog_rls%22%5d</resource-list><packages><package>dialog</package></packages></service></rls-services>`
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c := s.xcapOf(t, "tester")
	put, err := c.Put(ctx, "rls-services", "index", []byte(theirs), "application/rls-services+xml", xcap.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	_, r, _ := loginTester(t, s, nil)
	r.wait(t, "the list through RLS", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModeRLS && e.Members == 2
	})
	doc, err := c.Get(ctx, "rls-services", "index", "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.ETag != put.ETag || string(doc.Body) != theirs {
		t.Errorf("the other client's rls-services was rewritten:\n%s", doc.Body)
	}
}

// TestListServerThatMissesEdits: a list server that never hears of list
// edits (its XCAP server does not tell it, like a server whose RLS does
// not watch the documents) still shows a buddy added here: after
// ListChangeGrace without a NOTIFY the account subscribes to the list
// anew and the new subscription's full state carries the buddy.
func TestListServerThatMissesEdits(t *testing.T) {
	root, st := xcaptest.Start(t, map[string]string{"tester": "pw", "buddy0": "pw", "buddy1": "pw"})
	srv, err := sipserver.New(sipserver.Options{Domain: xcaptest.Domain, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetXCAPRoot(root)
	udp, tcp, err := sipserver.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), udp, tcp) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	proxy := "sip:" + tcp.Addr().String() + ";transport=tcp"
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for i := range 2 {
		u := apptest.StartUA(t, ctx, ua.Options{AOR: buddyURI(i), Password: "pw", Proxy: proxy})
		u.SetPresence(ua.Presence{Open: true, Note: fmt.Sprintf("buddy %d here", i)})
	}
	w := &wire{}
	b, r := startRecorded(t, Options{
		Options:  ua.Options{AOR: "sip:tester@example.test", Password: "pw", Proxy: proxy, Trace: w.trace, RetryMin: 100 * time.Millisecond, RetryMax: time.Second},
		XCAPRoot: root, CacheDir: t.TempDir(), NoTrace: true,
	})
	if _, err := r.answer(t, b.AddBuddy(buddyURI(0), "")); err != nil {
		t.Fatal(err)
	}
	waitNote(t, r, buddyURI(0), "buddy 0 here")
	if _, err := r.answer(t, b.AddBuddy(buddyURI(1), "")); err != nil {
		t.Fatal(err)
	}
	waitNote(t, r, buddyURI(1), "buddy 1 here")
	dialogs, _ := w.presenceDialogs(testerAOR)
	t.Logf("%d list subscriptions", len(dialogs))
	if ev, ok := lastList(r); !ok || ev.Mode != ListModeRLS {
		t.Errorf("the list is not watched through RLS: %v", ev)
	}
}

// lastList is the newest ListEvent r received.
func lastList(r *recorder) (ListEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.evs) - 1; i >= 0; i-- {
		if e, ok := r.evs[i].(ListEvent); ok {
			return e, true
		}
	}
	return ListEvent{}, false
}

// TestBlinkDocumentThroughRLS: a buddy list as Blink (python-sipsimple)
// writes it, addressbook and all, is watched through its own
// sipsimple_presence_rls list: the contacts Blink subscribes to arrive
// through one list subscription, and the document is not rewritten.
func TestBlinkDocumentThroughRLS(t *testing.T) {
	blink, err := os.ReadFile("../xcap/resourcelists/testdata/blink-index.xml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Domain: "example.test", Store: filepath.Join(t.TempDir(), "xcap.db"), XCAPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0",
		Users: []stack.User{{Name: "alice", Password: "pw"}, {Name: "bob", Password: "pw"}, {Name: "carol", Password: "pw"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apptest.StopTimeout)
		defer cancel()
		_ = st.Shutdown(ctx)
	})
	s := &server{Stack: st, domain: "example.test"}
	put, err := s.xcapOf(t, "alice").Put(ctx, resourcelists.AUID, resourcelists.DocumentPath, blink, resourcelists.ContentType, xcap.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		pub := apptest.StartUA(t, ctx, ua.Options{AOR: "sip:" + u + "@example.test", Password: "pw", Proxy: s.Proxy()})
		pub.SetPresence(ua.Presence{Open: true, Note: u + " on Blink"})
	}
	w := &wire{}
	_, r := startRecorded(t, Options{
		Options:  ua.Options{AOR: "sip:alice@example.test", Password: "pw", Proxy: s.Proxy(), Trace: w.trace},
		XCAPRoot: s.XCAPRoot(), CacheDir: t.TempDir(), NoTrace: true,
	})

	r.wait(t, "Blink's RLS list served", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModeRLS && e.Members == 3 // bob, carol and carol's tel: URI
	})
	waitNote(t, r, "sip:bob@example.test", "bob on Blink")
	waitNote(t, r, "sip:carol@example.test", "carol on Blink")
	r.wait(t, "Blink's contacts as buddies", func(ev Event) bool {
		e, ok := ev.(BuddiesEvent)
		return ok && len(e.Buddies) == 3
	})
	if dialogs, _ := w.presenceDialogs("sip:alice@example.test"); len(dialogs) != 1 {
		t.Errorf("%d presence subscriptions, want the one list subscription", len(dialogs))
	}
	doc, err := s.xcapOf(t, "alice").Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.ETag != put.ETag {
		t.Errorf("Blink's resource-lists document was rewritten:\n%s", doc.Body)
	}
}
