package ua

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// publishAnswer is the peer side of the publication tests: it records every
// PUBLISH and answers through the per-test decide function.
func publishPeer(t *testing.T, decide func(n int, req *sip.Request) (code int, etag string, extra map[string]string)) *scriptedPeer {
	peer := newScriptedPeer(t)
	var mu sync.Mutex
	n := 0
	peer.script(nil, func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		code, etag, extra := decide(i, req)
		res := sip.NewResponseFromRequest(req, code, "Scripted", nil)
		if etag != "" {
			res.AppendHeader(sip.NewHeader("SIP-ETag", etag))
		}
		for k, v := range extra {
			res.AppendHeader(sip.NewHeader(k, v))
		}
		_ = tx.Respond(res)
	})
	return peer
}

func noteOf(req *sip.Request) string {
	b := string(req.Body())
	i := strings.Index(b, "note>")
	if i < 0 {
		return ""
	}
	b = b[i+5:]
	j := strings.Index(b, "<")
	if j < 0 {
		return ""
	}
	return b[:j]
}

// Initial, refresh (no body, SIP-If-Match with the LATEST tag), 412 →
// initial again with the full document, then remove on Close.
func TestPublishLifecycle(t *testing.T) {
	peer := publishPeer(t, func(n int, req *sip.Request) (int, string, map[string]string) {
		switch n {
		case 1:
			return 200, "e1", map[string]string{"Expires": "1"}
		case 2:
			return 200, "e2", map[string]string{"Expires": "1"} // a new tag on refresh, like Kamailio
		case 3:
			return 412, "", nil
		default:
			return 200, "e" + itoa(n), map[string]string{"Expires": "60"}
		}
	})
	alice := startUA(t, "alice", peer.options("sip:alice@example.test"))
	alice.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: "lunch"})

	initial := peer.nextPublish(t)
	if initial.GetHeader("SIP-If-Match") != nil || noteOf(initial) != "lunch" || headerValue(initial, "Event") != "presence" {
		t.Fatalf("initial PUBLISH: If-Match %q, note %q, Event %q", headerValue(initial, "SIP-If-Match"), noteOf(initial), headerValue(initial, "Event"))
	}
	if ct := headerValue(initial, "Content-Type"); ct != "application/pidf+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	refresh := peer.nextPublish(t)
	if headerValue(refresh, "SIP-If-Match") != "e1" || len(refresh.Body()) != 0 {
		t.Errorf("refresh: If-Match %q, %d body bytes; want e1 and none", headerValue(refresh, "SIP-If-Match"), len(refresh.Body()))
	}
	second := peer.nextPublish(t)
	if headerValue(second, "SIP-If-Match") != "e2" {
		t.Errorf("second refresh used If-Match %q, want the rotated tag e2", headerValue(second, "SIP-If-Match"))
	}
	again := peer.nextPublish(t) // after the 412
	if again.GetHeader("SIP-If-Match") != nil || noteOf(again) != "lunch" {
		t.Errorf("after 412: If-Match %q, note %q; want a fresh initial PUBLISH with the document", headerValue(again, "SIP-If-Match"), noteOf(again))
	}
	alice.waitFor(t, "published e4", func(ev Event) bool {
		p, ok := ev.(PublicationEvent)
		return ok && p.State == Published && p.ETag == "e4"
	})

	if err := alice.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	remove := peer.nextPublish(t)
	if headerValue(remove, "SIP-If-Match") != "e4" || headerValue(remove, "Expires") != "0" || len(remove.Body()) != 0 {
		t.Errorf("remove: If-Match %q Expires %q body %d", headerValue(remove, "SIP-If-Match"), headerValue(remove, "Expires"), len(remove.Body()))
	}
}

// Changes made while a PUBLISH is outstanding are coalesced: the next
// PUBLISH carries the latest state only, with the current tag (modify).
func TestPublishCoalesces(t *testing.T) {
	release := make(chan struct{})
	peer := publishPeer(t, func(n int, req *sip.Request) (int, string, map[string]string) {
		if n == 1 {
			<-release
		}
		return 200, "e" + itoa(n), map[string]string{"Expires": "60"}
	})
	alice := startUA(t, "alice", peer.options("sip:alice@example.test"))
	alice.SetPresence(Presence{Open: true, Note: "one"})
	first := peer.nextPublish(t)
	alice.SetPresence(Presence{Open: true, Note: "two"})
	alice.SetPresence(Presence{Open: true, Note: "three"})
	close(release)
	next := peer.nextPublish(t)
	if noteOf(first) != "one" || noteOf(next) != "three" || headerValue(next, "SIP-If-Match") != "e1" {
		t.Errorf("PUBLISHes: %q then %q (If-Match %q); want one, then three as a modify of e1", noteOf(first), noteOf(next), headerValue(next, "SIP-If-Match"))
	}
}

// 423 → Min-Expires; another failure → back-off and a reported error.
func TestPublishErrors(t *testing.T) {
	peer := publishPeer(t, func(n int, req *sip.Request) (int, string, map[string]string) {
		switch {
		case headerValue(req, "Expires") != "900":
			return 423, "", map[string]string{"Min-Expires": "900"}
		case n == 2:
			return 503, "", map[string]string{"Retry-After": "1"}
		}
		return 200, "ok", map[string]string{"Expires": "900"}
	})
	o := peer.options("sip:alice@example.test")
	o.PublishExpires = 300 * time.Second
	alice := startUA(t, "alice", o)
	alice.SetPresence(Presence{Open: true})
	if e := headerValue(peer.nextPublish(t), "Expires"); e != "300" {
		t.Fatalf("first Expires %s", e)
	}
	if e := headerValue(peer.nextPublish(t), "Expires"); e != "900" {
		t.Fatalf("after 423 Expires %s, want 900", e)
	}
	ev := alice.waitFor(t, "failure", func(ev Event) bool { p, ok := ev.(PublicationEvent); return ok && p.State == Failed }).(PublicationEvent)
	if ev.RetryIn < time.Second {
		t.Errorf("RetryIn %s ignores Retry-After: 1", ev.RetryIn)
	}
	alice.waitFor(t, "published", isPublished)
}
