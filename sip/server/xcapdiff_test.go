package server

import (
	"context"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap"
	xcapserver "github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// startXCAP runs the embedded XCAP server on e's store, wired to e's SIP
// server the way internal/stack wires them, and returns a client of user.
func (e *testEnv) startXCAP(user string) *xcap.Client {
	e.t.Helper()
	h, err := xcapserver.Listen(context.Background(), "127.0.0.1:0", xcapserver.Options{
		Domain: testDomain, Store: e.st, OnChange: e.srv.StoreChanged, Logger: testLogger(e.t),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		h.Shutdown(ctx)
	})
	e.srv.SetXCAPRoot(h.Root())
	return e.xcapClient(h.Root(), user)
}

func (e *testEnv) xcapClient(root, user string) *xcap.Client {
	e.t.Helper()
	c, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:" + user + "@" + testDomain, Password: testUsers[user]})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

const testList = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"><entry uri="sip:bob@example.test"/></list></resource-lists>`

func nextDiff(t *testing.T, u *testUA) *xcapdiff.Diff {
	t.Helper()
	n := u.nextNotify()
	if ct := hv(n, "Content-Type"); ct != xcapdiff.ContentType {
		t.Fatalf("NOTIFY Content-Type %q, want %q", ct, xcapdiff.ContentType)
	}
	d, err := xcapdiff.Parse(n.Body())
	if err != nil {
		t.Fatalf("NOTIFY body: %v\n%s", err, n.Body())
	}
	return d
}

func TestXcapDiffFollowsDocumentChanges(t *testing.T) {
	e := newEnv(t, envOptions{})
	cli := e.startXCAP("alice")
	ctx := context.Background()
	put, err := cli.Put(ctx, "resource-lists", "index", []byte(testList), "application/resource-lists+xml", xcap.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	sel := "resource-lists/users/sip:alice@example.test/index"

	alice := e.newUA("alice", "udp")
	d := alice.subscribe("alice", "xcap-diff", 600)
	wantStatus(t, d.res, 200)
	first := nextDiff(t, alice)
	if first.XCAPRoot == "" || len(first.Documents) != 1 || first.Documents[0].Sel != sel ||
		first.Documents[0].NewETag != put.ETag || first.Documents[0].PreviousETag != "" {
		t.Fatalf("first NOTIFY lists %+v (root %q), want %s with ETag %s", first.Documents, first.XCAPRoot, sel, put.ETag)
	}

	// Another client of alice's edits the list: the change names both ETags.
	other := e.xcapClient(first.XCAPRoot, "alice")
	put2, err := other.Put(ctx, "resource-lists", "index", []byte(testList[:len(testList)-len("</list></resource-lists>")]+`<entry uri="sip:carol@example.test"/></list></resource-lists>`),
		"application/resource-lists+xml", xcap.Condition{IfMatch: put.ETag})
	if err != nil {
		t.Fatal(err)
	}
	ch := nextDiff(t, alice)
	if len(ch.Documents) != 1 || ch.Documents[0].PreviousETag != put.ETag || ch.Documents[0].NewETag != put2.ETag {
		t.Fatalf("change NOTIFY %+v, want %s -> %s", ch.Documents, put.ETag, put2.ETag)
	}

	// A delete has no new-etag.
	if _, err := other.Delete(ctx, "resource-lists", "index", xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	del := nextDiff(t, alice)
	if len(del.Documents) != 1 || !del.Documents[0].Deleted() || del.Documents[0].PreviousETag != put2.ETag {
		t.Fatalf("delete NOTIFY %+v, want a deletion of ETag %s", del.Documents, put2.ETag)
	}

	// Bob's documents are not alice's business.
	bobCli := e.xcapClient(first.XCAPRoot, "bob")
	if _, err := bobCli.Put(ctx, "resource-lists", "index", []byte(testList), "application/resource-lists+xml", xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	alice.noNotify(300 * time.Millisecond)
}

func TestXcapDiffOnlyForOwner(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.startXCAP("alice")
	bob := e.newUA("bob", "udp")
	d := bob.subscribe("alice", "xcap-diff", 600)
	wantStatus(t, d.res, 403)

	// No documents yet: the first NOTIFY is an empty listing.
	alice := e.newUA("alice", "udp")
	d = alice.subscribe("alice", "xcap-diff", 600)
	wantStatus(t, d.res, 200)
	if first := nextDiff(t, alice); len(first.Documents) != 0 {
		t.Fatalf("first NOTIFY lists %+v, want nothing", first.Documents)
	}
}

func TestXcapDiffInAllowEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "udp")
	d := alice.subscribe("alice", "no-such-package", 600)
	wantStatus(t, d.res, 489)
	if got := hv(d.res, "Allow-Events"); got != allowEvents || !contains([]byte(got), "xcap-diff") {
		t.Fatalf("Allow-Events %q", got)
	}
}
