package account

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/demo/demotest"
	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

func TestMain(m *testing.M) { testmain.Run(m) }

// waitTimeout bounds every wait for an event; it is generous because the
// race detector and other engineers' builds share two cores.
const waitTimeout = 30 * time.Second

// recorder keeps every event a backend reports.
type recorder struct {
	mu   sync.Mutex
	evs  []Event
	done chan struct{}
}

func record(b *Account) *recorder {
	r := &recorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			evs, err := b.Next(context.Background(), 0)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.evs = append(r.evs, evs...)
			r.mu.Unlock()
		}
	}()
	return r
}

// wait returns the first event (from index from on) that matches, or fails.
func (r *recorder) wait(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, ev := range r.evs {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var last []string
	for _, ev := range r.evs[max(0, len(r.evs)-15):] {
		last = append(last, fmt.Sprintf("%T%+v", ev, ev))
	}
	t.Fatalf("no %s after %s; last events:\n%s", what, waitTimeout, strings.Join(last, "\n"))
	return nil
}

// answer waits for the DoneEvent or ErrorEvent of request id.
// mark is the number of events received so far, for waitSince.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

// waitSince is wait among the events received after mark returned from.
func (r *recorder) waitSince(t *testing.T, from int, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, ev := range r.evs[from:] {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s after %s", what, waitTimeout)
	return nil
}

func (r *recorder) answer(t *testing.T, id RequestID) (DoneEvent, error) {
	t.Helper()
	ev := r.wait(t, fmt.Sprintf("answer to request %d", id), func(ev Event) bool {
		switch ev := ev.(type) {
		case DoneEvent:
			return ev.ID == id
		case ErrorEvent:
			return ev.ID == id
		}
		return false
	})
	if e, ok := ev.(ErrorEvent); ok {
		return DoneEvent{}, e.Err
	}
	return ev.(DoneEvent), nil
}

func startWorld(t *testing.T, buddies int) *demo.World {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// Buddies change rarely: the test looks at their first publication.
	return demotest.Start(t, ctx, demo.Options{Seed: 11, Buddies: buddies, MinChange: time.Hour, MaxChange: 2 * time.Hour})
}

func login(t *testing.T, w *demo.World, user, cacheDir string, opts ...func(*Options)) (*Account, *recorder) {
	t.Helper()
	return loginAs(t, addUser(t, w, user), cacheDir, opts...)
}

// addUser adds user to the demo world, its display name the name
// capitalised ("tester" is "Tester").
func addUser(t *testing.T, w *demo.World, user string) demo.Account {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	acc, err := w.AddUser(ctx, user, strings.ToUpper(user[:1])+user[1:])
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func loginAs(t *testing.T, acc demo.Account, cacheDir string, opts ...func(*Options)) (*Account, *recorder) {
	t.Helper()
	o := Options{
		Options: ua.Options{
			AOR: acc.AOR, DisplayName: acc.DisplayName, Password: acc.Password, Proxy: acc.Proxy,
			RetryMin: 100 * time.Millisecond, RetryMax: time.Second,
		},
		XCAPRoot: acc.XCAPRoot, CacheDir: cacheDir,
		IconRetryMin: 100 * time.Millisecond, IconRetryMax: time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	return startRecorded(t, o)
}

// startRecorded starts an account with o, recording its events, and
// closes it when the test ends.
func startRecorded(t *testing.T, o Options) (*Account, *recorder) {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r := record(b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBackend(t, b, r) })
	return b, r
}

func closeBackend(t *testing.T, b *Account, r *recorder) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	<-r.done // Next reports ErrClosed once everything was read
}

// TestBuddyListPresenceAndIcons logs in to the demo world (real XCAP and
// SIP servers, simulated buddies that are real user agents) and checks
// what a user would see: registered, the buddy list, every buddy's
// presence and icon, the icons cached on disk by their sha1.
func TestBuddyListPresenceAndIcons(t *testing.T) {
	w := startWorld(t, 3)
	cache := t.TempDir()
	_, r := login(t, w, "tester", cache)

	r.wait(t, "registration", func(ev Event) bool {
		a, ok := ev.(AccountEvent)
		return ok && a.State == ua.Registered && a.AOR == "sip:tester@example.test"
	})
	list := r.wait(t, "buddy list", func(ev Event) bool {
		b, ok := ev.(BuddiesEvent)
		return ok && len(b.Buddies) == len(w.Buddies())
	}).(BuddiesEvent)
	for _, uri := range w.Buddies() {
		found := false
		for _, b := range list.Buddies {
			found = found || b.URI == uri
		}
		if !found {
			t.Errorf("buddy %s missing from %v", uri, list.Buddies)
		}
		p := r.wait(t, "presence of "+uri, func(ev Event) bool {
			p, ok := ev.(PresenceEvent)
			return ok && p.URI == uri && p.State.IconURL != ""
		}).(PresenceEvent)
		ic := r.wait(t, "icon of "+uri, func(ev Event) bool {
			i, ok := ev.(IconEvent)
			return ok && i.URI == uri
		}).(IconEvent)
		if ic.Thumb == nil || ic.Thumb.Bounds().Dx() == 0 || ic.Thumb.Bounds().Dx() > ThumbSide || ic.Thumb.Bounds().Dy() > ThumbSide {
			t.Errorf("%s: icon thumbnail %v, want a non-empty image of at most %d pixels a side", uri, ic.Thumb, ThumbSide)
		}
		// The demo icons are stored at 256x256: the large picture keeps
		// them at that size, which is what the detail pane draws from.
		if ic.Large == nil || ic.Large.Bounds().Dx() != min(ic.Width, LargeThumbSide) || ic.Large.Bounds().Dx() <= ThumbSide {
			t.Errorf("%s: large picture %v of a %dx%d icon, want more than %d and at most %d pixels a side", uri, ic.Large, ic.Width, ic.Height, ThumbSide, LargeThumbSide)
		}
		if ic.Format == "" || ic.Bytes == 0 {
			t.Errorf("%s: icon described as format %q, %d bytes", uri, ic.Format, ic.Bytes)
		}
		if p.State.IconHash != "" && ic.Hash != p.State.IconHash {
			t.Errorf("%s: icon hash %s, published %s", uri, ic.Hash, p.State.IconHash)
		}
		data, err := os.ReadFile(filepath.Join(cache, ic.Hash))
		if err != nil {
			t.Errorf("%s: icon not in the disk cache: %v", uri, err)
		} else if icon.ContentHash(data) != ic.Hash {
			t.Errorf("%s: cached file does not hash to its name", uri)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, cacheIndexFile)); err != nil {
		t.Errorf("revalidation index not written: %v", err)
	}
}

// TestIconsComeFromTheCache: a second session with the same cache gets
// every icon without downloading it (its published sha1 is on disk) —
// even with the XCAP server's icons made unreadable.
func TestIconsComeFromTheCache(t *testing.T) {
	w := startWorld(t, 2)
	cache := t.TempDir()
	b1, r1 := login(t, w, "tester", cache)
	for _, uri := range w.Buddies() {
		r1.wait(t, "icon of "+uri, func(ev Event) bool {
			i, ok := ev.(IconEvent)
			return ok && i.URI == uri
		})
	}
	closeBackend(t, b1, r1)

	// Delete the icons from the server: only the cache can provide them.
	ctx := context.Background()
	for _, uri := range w.Buddies() {
		ents, err := w.Store().List(uri)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.Contains(e.Key.AUID, "icon") || strings.Contains(e.Key.AUID, "pres-content") {
				if err := w.Store().Delete(e.Key, store.Condition{}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	_ = ctx
	_, r2 := login(t, w, "tester2", cache)
	for _, uri := range w.Buddies() {
		ev := r2.wait(t, "icon of "+uri, func(ev Event) bool {
			switch ev := ev.(type) {
			case IconEvent:
				return ev.URI == uri
			case IconFailedEvent:
				return ev.URI == uri
			}
			return false
		})
		if f, ok := ev.(IconFailedEvent); ok {
			t.Errorf("%s: icon fetched instead of read from the cache: %v", uri, f.Err)
		}
	}
}

// TestRequests drives every request against the real servers and checks
// the outcome where a user (or another client) would see it.
func TestRequests(t *testing.T) {
	w := startWorld(t, 1)
	b, r := login(t, w, "tester", t.TempDir())
	r.wait(t, "registration", func(ev Event) bool {
		a, ok := ev.(AccountEvent)
		return ok && a.State == ua.Registered
	})
	r.wait(t, "buddy list", func(ev Event) bool { _, ok := ev.(BuddiesEvent); return ok })

	t.Run("SetStatus", func(t *testing.T) {
		id := b.SetStatus(true, "on-the-phone", "call me later")
		done, err := r.answer(t, id)
		if err != nil {
			t.Fatal(err)
		}
		if done.Kind != SetStatusRequest || !strings.Contains(done.Detail, "on the phone") {
			t.Errorf("done %+v", done)
		}
		// Watchers see it: a second account subscribed to tester.
		other, ro := login(t, w, "watcher", t.TempDir())
		if _, err := ro.answer(t, other.AddBuddy("sip:tester@example.test", "Tester")); err != nil {
			t.Fatal(err)
		}
		p := ro.wait(t, "tester's presence", func(ev Event) bool {
			p, ok := ev.(PresenceEvent)
			return ok && p.URI == "sip:tester@example.test" && p.State.Note == "call me later"
		}).(PresenceEvent)
		if got := p.State.Availability().String(); got != "on the phone" {
			t.Errorf("watcher sees %q", got)
		}
	})

	t.Run("SetStatusRejectsBadInput", func(t *testing.T) {
		if _, err := r.answer(t, b.SetStatus(true, "dancing", "")); err == nil {
			t.Error("unknown activity accepted")
		}
		if _, err := r.answer(t, b.SetStatus(true, "", strings.Repeat("x", MaxNoteBytes+1))); !errors.Is(err, ErrInvalidNote) {
			t.Errorf("long note: %v", err)
		}
	})

	t.Run("SetIcon", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "me.png")
		if err := os.WriteFile(path, assets.DemoUserIcon(), 0o600); err != nil {
			t.Fatal(err)
		}
		id := b.SetIcon(path)
		if _, err := r.answer(t, id); err != nil {
			t.Fatal(err)
		}
		self := r.wait(t, "my icon", func(ev Event) bool {
			s, ok := ev.(SelfEvent)
			return ok && s.IconURL != ""
		}).(SelfEvent)
		r.wait(t, "my icon image", func(ev Event) bool {
			i, ok := ev.(IconEvent)
			return ok && i.URI == b.AOR() && i.Hash == self.IconHash
		})
		// The published URL serves the image whose sha1 was published.
		data, _, err := xcap.FetchIcon(context.Background(), nil, self.IconURL, "")
		if err != nil {
			t.Fatal(err)
		}
		if icon.ContentHash(data) != self.IconHash {
			t.Errorf("server icon sha1 %s, published %s", icon.ContentHash(data), self.IconHash)
		}

		// A file that is not an image: clear error, nothing changes.
		bad := filepath.Join(t.TempDir(), "notes.png")
		if err := os.WriteFile(bad, []byte("these are not pixels"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = r.answer(t, b.SetIcon(bad))
		if !errors.Is(err, icon.ErrNotImage) {
			t.Errorf("bad file: %v", err)
		}
		after, _, err := xcap.FetchIcon(context.Background(), nil, self.IconURL, "")
		if err != nil || icon.ContentHash(after) != self.IconHash {
			t.Errorf("the stored icon changed after a bad file: %v", err)
		}
		if _, err := r.answer(t, b.SetIcon(filepath.Join(t.TempDir(), "missing.png"))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
	})

	t.Run("AddAndRemoveBuddy", func(t *testing.T) {
		if _, err := r.answer(t, b.AddBuddy("carol@example.test", "Carol")); err != nil {
			t.Fatal(err)
		}
		doc, err := w.Store().Get(store.Key{AUID: xcap.AUIDResourceLists, User: "sip:tester@example.test", Path: "index"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := resourcelists.Parse(doc.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !hasEntry(d.Entries(), "sip:carol@example.test", resourcelists.BuddiesList) {
			t.Fatalf("carol not stored in the list %q: %+v", resourcelists.BuddiesList, d.Entries())
		}
		r.wait(t, "subscription to carol", func(ev Event) bool {
			s, ok := ev.(SubscriptionEvent)
			return ok && s.URI == "sip:carol@example.test"
		})
		if _, err := r.answer(t, b.AddBuddy("not a uri", "")); err == nil {
			t.Error("invalid URI accepted")
		}
		if _, err := r.answer(t, b.RemoveBuddy("sip:carol@example.test")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.answer(t, b.RemoveBuddy("sip:carol@example.test")); !errors.Is(err, ErrNotInList) {
			t.Errorf("removing twice: %v", err)
		}
		doc, _ = w.Store().Get(store.Key{AUID: xcap.AUIDResourceLists, User: "sip:tester@example.test", Path: "index"})
		d, _ = resourcelists.Parse(doc.Body)
		if hasEntry(d.Entries(), "sip:carol@example.test", "") {
			t.Error("carol still stored")
		}
		if len(d.Entries()) != len(w.Buddies()) {
			t.Errorf("the other buddies were touched: %+v", d.Entries())
		}
	})

	t.Run("AcceptAndBlockWatchers", func(t *testing.T) {
		// The embedded server advertises the OMA AUID: the decisions are
		// in Blink's layout, rules and lists decided together as the
		// server does.
		decide := func(uri string) presrules.Handling {
			doc, err := w.Store().Get(store.Key{AUID: presrules.OMAAUID, User: "sip:tester@example.test", Path: presrules.DocumentPath})
			if err != nil {
				t.Fatal(err)
			}
			lists, err := w.Store().Get(store.Key{AUID: resourcelists.AUID, User: "sip:tester@example.test", Path: resourcelists.DocumentPath})
			if err != nil {
				t.Fatal(err)
			}
			d, err := presrules.NewDecider(doc.Body, lists.Body)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := d(uri)
			return h
		}
		if _, err := r.answer(t, b.AcceptWatcher("sip:dora@example.test")); err != nil {
			t.Fatal(err)
		}
		if h := decide("sip:dora@example.test"); h != presrules.Allow {
			t.Errorf("dora: %v, want allow", h)
		}
		if _, err := r.answer(t, b.BlockWatcher("sip:mallory@example.test")); err != nil {
			t.Fatal(err)
		}
		if h := decide("sip:mallory@example.test"); h != presrules.Block {
			t.Errorf("mallory: %v, want a block", h)
		}
		if h := decide("sip:dora@example.test"); h != presrules.Allow {
			t.Errorf("dora after blocking mallory: %v, want allow", h)
		}
		// Blocked for real: mallory's subscription to tester is refused.
		mallory, rm := login(t, w, "mallory", t.TempDir())
		if _, err := rm.answer(t, mallory.AddBuddy("sip:tester@example.test", "")); err != nil {
			t.Fatal(err)
		}
		// The server refuses the subscription or (polite-block) shows a
		// neutral closed state; either way mallory never sees the truth.
		rm.wait(t, "mallory refused or shown nothing", func(ev Event) bool {
			switch ev := ev.(type) {
			case SubscriptionEvent:
				return ev.URI == "sip:tester@example.test" && (ev.State == ua.Terminated || ev.State == ua.Retrying)
			case PresenceEvent:
				return ev.URI == "sip:tester@example.test"
			}
			return false
		})
		rm.mu.Lock()
		defer rm.mu.Unlock()
		for _, e := range rm.evs {
			if p, ok := e.(PresenceEvent); ok && p.URI == "sip:tester@example.test" && (p.State.Basic == "open" || p.State.Note != "") {
				t.Errorf("blocked watcher saw tester's presence: %+v", p.State)
			}
		}
	})
}

func hasEntry(es []resourcelists.Entry, uri, list string) bool {
	for _, e := range es {
		if e.URI == uri && (list == "" || e.List == list) {
			return true
		}
	}
	return false
}

func TestRequestsBeforeStartAndAfterClose(t *testing.T) {
	b, err := New(Options{Options: ua.Options{AOR: "sip:a@example.test", Password: "x", Proxy: "sip:127.0.0.1:9;transport=tcp"}, XCAPRoot: "http://127.0.0.1:9/xcap-root", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := record(b)
	if _, err := r.answer(t, b.SetStatus(true, "", "")); !errors.Is(err, ErrNotStarted) {
		t.Errorf("before start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	<-r.done
	if err := b.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("start after close: %v", err)
	}
}

func TestNormalizeURI(t *testing.T) {
	good := map[string]string{
		"bob@example.test":           "sip:bob@example.test",
		"  sip:bob@Example.TEST ":    "sip:bob@example.test",
		"SIP:bob@example.test":       "sip:bob@example.test",
		"SIP:Ada@Example.Test":       "sip:ada@example.test", // one buddy however cased
		"sips:bob@example.test:5061": "sip:bob@example.test", // sips: and the port name the same AOR
		"Bob <sip:bob@example.test>": "sip:bob@example.test",
		"sip:%62ob@example.test":     "sip:bob@example.test",
		"sip:bob.smith@10.0.0.1":     "sip:bob.smith@10.0.0.1",
		"sip:a@[::1]:5060":           "sip:a@[::1]",
	}
	for in, want := range good {
		got, err := NormalizeURI(in)
		if err != nil || got != want {
			t.Errorf("NormalizeURI(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "bob", "bob@", "@example.test", "tel:+123", "sip:bob smith@x.test", "sip:bob@exa mple.test", "sip:bob@x.test:port", "sip:bob@x.test:", strings.Repeat("a", MaxURIBytes) + "@x.test", "sip:b<ob@x.test", "sip:a@[::1", "sip:a@x[1]", "sip:a@[zz]"} {
		if got, err := NormalizeURI(in); !errors.Is(err, ErrInvalidURI) {
			t.Errorf("NormalizeURI(%q) = %q, %v; want ErrInvalidURI", in, got, err)
		}
	}
}

func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"bob@example.test", "sip:bob@x.test:5060", "sips:a@[::1]", "tel:1", "\x00@\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := NormalizeURI(s)
		if err != nil {
			return
		}
		// A normalized URI is stable and valid.
		again, err := NormalizeURI(u)
		if err != nil || again != u {
			t.Fatalf("NormalizeURI(%q) = %q, then %q, %v", s, u, again, err)
		}
		if strings.ContainsAny(u, " \t\r\n<>\"") {
			t.Fatalf("normalized %q contains a forbidden character", u)
		}
	})
}
