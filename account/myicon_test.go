package account

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// servers is the embedded SIP and XCAP servers over one bbolt file, which
// can be killed and started again on the same ports (a restart of
// `sipbuddy serve`).
type servers struct {
	t        *testing.T
	store    string
	sip      string // host:port, UDP and TCP
	xcapAddr string
	s        *stack.Stack
}

func startServers(t *testing.T) *servers {
	t.Helper()
	sv := &servers{t: t, store: filepath.Join(t.TempDir(), "store.db"), sip: "127.0.0.1:0", xcapAddr: "127.0.0.1:0"}
	sv.start()
	sv.sip, sv.xcapAddr = sv.s.SIPAddr().String(), sv.s.XCAPAddr().String()
	t.Cleanup(sv.stop)
	return sv
}

func (sv *servers) start() {
	sv.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := stack.Start(ctx, stack.Options{
		Domain: "example.test", Store: sv.store, SIPAddr: sv.sip, XCAPAddr: sv.xcapAddr,
		Users: []stack.User{{Name: "alice", Password: "alicepw"}},
	})
	if err != nil {
		sv.t.Fatal(err)
	}
	sv.s = s
}

func (sv *servers) stop() {
	if sv.s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_ = sv.s.Shutdown(ctx)
	sv.s = nil
}

func (sv *servers) proxy() string    { return "sip:" + sv.sip + ";transport=tcp" }
func (sv *servers) xcapRoot() string { return "http://" + sv.xcapAddr + "/xcap-root" }

// publishLog keeps the PUBLISH requests a UA sends, as they went out.
type publishLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *publishLog) trace(in bool, msg string) {
	if in || !strings.HasPrefix(msg, "PUBLISH ") {
		return
	}
	l.mu.Lock()
	l.msgs = append(l.msgs, msg)
	l.mu.Unlock()
}

func (l *publishLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// waitFor waits for a PUBLISH after the first from that contains want.
func (l *publishLog) waitFor(t *testing.T, what string, from int, want string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, m := range l.msgs[min(from, len(l.msgs)):] {
			if strings.Contains(m, want) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no PUBLISH %s carrying %s (%d sent since)", what, want, l.count()-from)
}

func startAlice(t *testing.T, sv *servers, pubs *publishLog) (*Account, *recorder) {
	t.Helper()
	b, err := New(Options{
		Options: ua.Options{
			AOR: "sip:alice@example.test", Password: "alicepw", Proxy: sv.proxy(), Trace: pubs.trace,
			RetryMin: 100 * time.Millisecond, RetryMax: time.Second,
			RegisterExpires: 30 * time.Second, FlowCheckInterval: 100 * time.Millisecond,
		},
		XCAPRoot: sv.xcapRoot(), CacheDir: t.TempDir(),
	})
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

func putIcon(t *testing.T, sv *servers, name string) string {
	t.Helper()
	c, err := xcap.NewClient(xcap.ClientOptions{Root: sv.xcapRoot(), XUI: "sip:alice@example.test", Password: "alicepw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	url, _, err := c.PutIcon(ctx, assets.DemoUserIcon(), name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func waitMyIcon(t *testing.T, r *recorder, url string) {
	t.Helper()
	r.wait(t, "my icon "+url, func(ev Event) bool {
		i, ok := ev.(IconEvent)
		return ok && i.URI == "sip:alice@example.test" && i.URL == url && i.Thumb != nil
	})
}

// My icon comes back with the servers: started while they were down, the
// account finds its stored icon once they answer and publishes it; killed
// and started again on the same ports, it publishes the icon it knows
// again, with no request from the person.
func TestMyIconRepublishedWhenTheServerIsBack(t *testing.T) {
	sv := startServers(t)
	url := putIcon(t, sv, "")
	sv.stop()

	var pubs publishLog
	_, r := startAlice(t, sv, &pubs)
	time.Sleep(time.Second) // the start-up attempts fail
	sv.start()
	waitMyIcon(t, r, url)
	pubs.waitFor(t, "after the servers came up", 0, url)

	from := pubs.count()
	sv.stop()
	r.wait(t, "registration lost", func(ev Event) bool {
		a, ok := ev.(AccountEvent)
		return ok && a.State != ua.Registered && a.State != ua.Registering
	})
	sv.start()
	pubs.waitFor(t, "after the restart", from, url)
	r.wait(t, "published again", func(ev Event) bool {
		p, ok := ev.(PublicationEvent)
		return ok && p.State == ua.Published
	})
}

// At start my icon is my pres-content icon (Blink's document) if there is
// one, else the newest legacy oma_status-icon document (the SDK's
// xcap-icon PUT stores every upload there under a new name).
func TestMyIconAtStartIsThePresContentOneElseTheNewestLegacy(t *testing.T) {
	sv := startServers(t)
	older := putIcon(t, sv, "")
	time.Sleep(1100 * time.Millisecond) // the directory says when, to the second
	newer := putIcon(t, sv, "")
	check := func(what, want string) {
		t.Helper()
		var pubs publishLog
		b, r := startAlice(t, sv, &pubs)
		waitMyIcon(t, r, want)
		pubs.waitFor(t, what, 0, want)
		closeBackend(t, b, r)
	}
	check("with two legacy icons", newer)

	c, err := xcap.NewClient(xcap.ClientOptions{Root: sv.xcapRoot(), XUI: "sip:alice@example.test", Password: "alicepw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	img, _, err := icon.Decode(assets.DemoUserIcon(), icon.UploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	data, err := icon.Encode(icon.Fit(img, 64), icon.PNG)
	if err != nil {
		t.Fatal(err)
	}
	doc := (&icon.Content{MIMEType: "image/png", Encoding: "base64", Data: data}).Marshal()
	resp, err := c.Put(ctx, xcap.AUIDPresContent, xcap.IconFolder+"/"+xcap.BlinkIconName, doc, icon.ContentMIMEType, xcap.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	check("with a pres-content icon", resp.URL)
	if older == newer {
		t.Fatal("two uploads had one URL")
	}
}

// The newest legacy icon is chosen by modification time, then by URI;
// pres-content documents are not legacy ones.
func TestNewestLegacyIcon(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 3, 18, 0, s, 0, time.UTC) }
	legacy := "http://127.0.0.1:1/xcap-root/oma_status-icon/users/sip:alice@example.test/"
	pres := "http://127.0.0.1:1/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/"
	if got := newestLegacyIcon([]xcap.DirEntry{{URI: pres + "index", LastModified: at(9)}}); got != nil {
		t.Errorf("a pres-content document taken for a legacy one: %+v", got)
	}
	entries := []xcap.DirEntry{
		{URI: legacy + "b.png", LastModified: at(5)},
		{URI: pres + "index", LastModified: at(9)},
		{URI: legacy + "a.png", LastModified: at(5)},
		{URI: legacy + "old.png", LastModified: at(1)},
	}
	if got := newestLegacyIcon(entries); got == nil || got.URI != legacy+"b.png" {
		t.Errorf("newest %+v, want b.png (newest, last by URI of the tie)", got)
	}
}

// Only a server that could not be asked makes the account ask again after
// the next registration; a document that is there but unusable settles it.
func TestUnanswered(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&xcap.TransportError{Method: "GET", URL: "http://127.0.0.1:1/", Err: context.DeadlineExceeded}, true},
		{context.DeadlineExceeded, true},
		{&xcap.Error{StatusCode: 503}, true},
		{&xcap.Error{StatusCode: 401}, true},
		{&xcap.Error{StatusCode: 409}, false},
		{icon.ErrNotImage, false},
	} {
		if got := unanswered(c.err); got != c.want {
			t.Errorf("unanswered(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
