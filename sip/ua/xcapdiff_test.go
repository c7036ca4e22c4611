package ua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// WatchXcapDiff subscribes to the account's own address with Event:
// xcap-diff and the documents of interest as a resource-lists body; every
// NOTIFY document comes out as an XcapDiffEvent.
func TestWatchXcapDiff(t *testing.T) {
	peer := newScriptedPeer(t)
	dialogs := make(chan *notifierDialog, 1)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			return
		}
		dialogs <- p.accept(req, tx, 600)
	}, nil)
	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	sel := "resource-lists/users/sip:bob@example.test/index"
	bob.WatchXcapDiff([]string{sel, `odd/"&<`})
	sub := peer.nextSubscribe(t)
	if got := headerValue(sub, "Event"); got != "xcap-diff" {
		t.Errorf("Event %q, want xcap-diff", got)
	}
	if got := sub.Recipient.String(); !strings.Contains(got, "bob@example.test") {
		t.Errorf("subscribed to %s, want my own address", got)
	}
	if got := headerValue(sub, "Content-Type"); got != "application/resource-lists+xml" {
		t.Errorf("Content-Type %q", got)
	}
	if body := string(sub.Body()); !strings.Contains(body, `<entry uri="`+sel+`"/>`) || !strings.Contains(body, `odd/&quot;&amp;&lt;`) {
		t.Errorf("SUBSCRIBE body does not list the documents, escaped:\n%s", body)
	}
	d := <-dialogs
	diff := xcapdiff.Diff{XCAPRoot: "http://127.0.0.1/xcap-root", Documents: []xcapdiff.DocumentChange{{Sel: sel, PreviousETag: "a", NewETag: "b"}}}
	if code := peer.notify(d, "active;expires=600", xcapdiff.ContentType, diff.Append(nil)); code != 200 {
		t.Fatalf("xcap-diff NOTIFY answered %d", code)
	}
	ev := bob.waitFor(t, "the xcap-diff document", func(ev Event) bool { _, ok := ev.(XcapDiffEvent); return ok }).(XcapDiffEvent)
	if len(ev.Diff.Documents) != 1 || ev.Diff.Documents[0].NewETag != "b" || ev.Diff.Documents[0].AUID() != "resource-lists" {
		t.Errorf("diff %+v", ev.Diff)
	}
	// Kamailio's first NOTIFY before any change has no body: nothing to say.
	if code := peer.notify(d, "active;expires=600", "", nil); code != 200 {
		t.Fatalf("empty NOTIFY answered %d", code)
	}
	bob.waitFor(t, "the subscription active", subscriptionEvent("sip:bob@example.test", Active, ""))
}

// A server without xcap-diff refuses it for good (489): the caller polls.
func TestWatchXcapDiffRefused(t *testing.T) {
	peer := newScriptedPeer(t)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 489, "Bad Event", nil))
	}, nil)
	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.WatchXcapDiff([]string{"resource-lists/users/sip:bob@example.test/index"})
	bob.waitFor(t, "xcap-diff refused", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.Package == xcapdiff.Event && s.State == Terminated && strings.Contains(s.Reason, "489")
	})
}
