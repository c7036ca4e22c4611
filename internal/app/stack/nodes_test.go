package stack

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// crossNodeWait bounds how long a change takes to reach another node.
const crossNodeWait = 10 * time.Second

func pngOf(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 32 * 32 {
		img.Set(i%32, i/32, c)
	}
	return testtool.EncodePNG(t, img)
}

func getBody(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("ETag"), b
}

// TestStatelessNodesAnswerIdentically runs two XCAP-only nodes (127.0.0.1
// and 127.0.0.2) on one PostgreSQL database: an icon PUT through one is
// served, byte for byte and with the same ETag, by the other; replacing it
// through the first makes the second forget its decoded copy at once
// (LISTEN/NOTIFY) and serve the new one.
func TestStatelessNodesAnswerIdentically(t *testing.T) {
	dsn := testtool.Postgres(t)
	n1 := startStack(t, Options{Store: dsn, Users: []User{{"alice", "secret-a"}}})
	n2 := startStack(t, Options{Store: dsn, XCAPAddr: "127.0.0.2:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	xc, err := xcap.NewClient(xcap.ClientOptions{Root: n1.XCAPRoot(), XUI: "sip:alice@example.test", Password: "secret-a"})
	if err != nil {
		t.Fatal(err)
	}
	url1, _, err := xc.PutIcon(ctx, pngOf(t, color.RGBA{200, 0, 0, 255}), xcap.BlinkIconName)
	if err != nil {
		t.Fatal(err)
	}
	url2 := n2.XCAPRoot() + url1[len(n1.XCAPRoot()):]
	c1, e1, b1 := getBody(t, url1)
	c2, e2, b2 := getBody(t, url2)
	if c1 != 200 || c2 != 200 || e1 != e2 || !bytes.Equal(b1, b2) {
		t.Fatalf("node 1: %d %s %d bytes; node 2: %d %s %d bytes", c1, e1, len(b1), c2, e2, len(b2))
	}
	if s1, s2 := n1.NonceSecret(), n2.NonceSecret(); len(s1) == 0 || !bytes.Equal(s1, s2) {
		t.Fatalf("nodes on one database have nonce secrets %x and %x, want one shared", s1, s2)
	}
	if n := n2.XCAP().Handler().CachedIcons(); n != 1 {
		t.Fatalf("node 2 caches %d icons after serving one", n)
	}

	// The same user's credentials work on the other node too (the users
	// are in the database).
	xc2, err := xcap.NewClient(xcap.ClientOptions{Root: n2.XCAPRoot(), XUI: "sip:alice@example.test", Password: "secret-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := xc2.PutIcon(ctx, pngOf(t, color.RGBA{0, 0, 200, 255}), xcap.BlinkIconName); err != nil {
		t.Fatalf("PUT through node 2: %v", err)
	}
	// Node 2 wrote it itself; node 1 learns of it by notification.
	if n := n2.XCAP().Handler().CachedIcons(); n != 0 {
		t.Fatalf("node 2 still caches %d icons after its own write", n)
	}
	getBody(t, url1) // node 1 caches the blue icon
	if _, _, err := xc.PutIcon(ctx, pngOf(t, color.RGBA{0, 200, 0, 255}), xcap.BlinkIconName); err != nil {
		t.Fatal(err)
	}
	if n := n1.XCAP().Handler().CachedIcons(); n != 0 {
		t.Fatalf("node 1 caches %d icons after its own write", n)
	}
	getBody(t, url2) // node 2 caches the green icon...
	if _, _, err := xc.PutIcon(ctx, pngOf(t, color.RGBA{9, 9, 9, 255}), xcap.BlinkIconName); err != nil {
		t.Fatal(err)
	}
	// ...and forgets it when node 1 replaces it.
	deadline := time.Now().Add(crossNodeWait)
	for n2.XCAP().Handler().CachedIcons() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 still caches the replaced icon after %v", crossNodeWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c1, e1, b1 = getBody(t, url1)
	c2, e2, b2 = getBody(t, url2)
	if c1 != 200 || c2 != 200 || e1 != e2 || !bytes.Equal(b1, b2) {
		t.Fatalf("after replace: node 1: %d %s; node 2: %d %s", c1, e1, c2, e2)
	}

	// A digest answer computed for one node's nonce is refused by the
	// other with a stale challenge, and the client retries silently.
	const dir = "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/directory.xml"
	if code, _, _ := getBody(t, n2.XCAPRoot()+dir); code != http.StatusUnauthorized {
		t.Fatalf("directory without credentials: %d, want 401", code)
	}
	cl := &http.Client{Transport: &digest.Transport{Username: "alice", Password: "secret-a"}}
	var dirs [][]byte
	for _, root := range []string{n1.XCAPRoot(), n2.XCAPRoot(), n1.XCAPRoot()} {
		res, err := cl.Get(root + dir)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET %s with one client across nodes: %s", root+dir, res.Status)
		}
		dirs = append(dirs, bytes.ReplaceAll(b, []byte(root), nil))
	}
	if !bytes.Equal(dirs[0], dirs[1]) {
		t.Errorf("the nodes list different directories:\n%s\n%s", dirs[0], dirs[1])
	}
}

// TestPresRulesReachOtherNodes: bob watches alice on a node with the SIP
// server (policy confirm: pending); alice allows bob through another,
// XCAP-only node. The SIP node learns of the pres-rules at once
// (LISTEN/NOTIFY → RulesChanged) and bob gets alice's presence.
func TestPresRulesReachOtherNodes(t *testing.T) {
	dsn := testtool.Postgres(t)
	sipNode := startStack(t, Options{Store: dsn, SIPAddr: "127.0.0.1:0", Policy: sipserver.Confirm,
		Users: []User{{"alice", "secret-a"}, {"bob", "secret-b"}}})
	xcapNode := startStack(t, Options{Store: dsn, XCAPAddr: "127.0.0.2:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	start := func(aor, pw string) *ua.UA {
		return apptest.StartUA(t, ctx, ua.Options{AOR: aor, Password: pw, Proxy: sipNode.Proxy()})
	}
	alice := start("sip:alice@example.test", "secret-a")
	bob := start("sip:bob@example.test", "secret-b")
	const note = "allowed across nodes"
	alice.SetPresence(ua.Presence{Open: true, Note: note})
	bob.Subscribe("sip:alice@example.test")
	waitSub := func(want ua.SubscriptionState) {
		t.Helper()
		for {
			select {
			case <-ctx.Done():
				t.Fatalf("bob's subscription never became %v", want)
			case ev := <-bob.Events():
				if se, ok := ev.(ua.SubscriptionEvent); ok && se.URI == "sip:alice@example.test" && se.State == want {
					return
				}
				if pe, ok := ev.(ua.PresenceEvent); ok && pe.URI == "sip:alice@example.test" && pe.State.Note == note {
					if want == ua.Pending {
						t.Fatal("bob sees alice before she allowed him")
					}
					return
				}
			}
		}
	}
	waitSub(ua.Pending)

	rules, err := presrules.SetWatcher(nil, "sip:bob@example.test", presrules.Allow)
	if err != nil {
		t.Fatal(err)
	}
	xc, err := xcap.NewClient(xcap.ClientOptions{Root: xcapNode.XCAPRoot(), XUI: "sip:alice@example.test", Password: "secret-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xc.Put(ctx, xcap.AUIDPresRules, "index", rules, presrules.ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	// Active, then alice's state: a presence event with her note.
	waitSub(ua.Active)
}
