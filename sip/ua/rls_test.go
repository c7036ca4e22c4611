package ua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/rlmi"
)

const (
	listURI = "sip:bob+presence@example.test"
	dave    = "sip:dave@example.test"
	erin    = "sip:erin@example.test"
)

// rlmiBody is a resource list NOTIFY body: members maps a URI to its
// instance state ("active", "pending", "terminated;rejected") and, for
// active ones, the note of its PIDF.
func rlmiBody(version uint32, full bool, members [][3]string) (string, []byte) {
	l := &rlmi.List{URI: listURI, Version: version, FullState: full}
	for i, m := range members {
		r := rlmi.Resource{URI: m[0]}
		st, reason, _ := strings.Cut(m[1], ";")
		in := rlmi.Instance{ID: "i" + itoa(i), State: st, Reason: reason}
		if st == "active" {
			in.CID = "c" + itoa(i) + "@example.test"
			r.Parts = []rlmi.Part{{ContentType: "application/pidf+xml", Body: pidfDoc(m[0], "open", m[2])}}
		}
		r.Instances = []rlmi.Instance{in}
		l.Resources = append(l.Resources, r)
	}
	const boundary = "testBoundary7Hq2mZ"
	return rlmi.ContentTypeOf(boundary, "root@example.test"), rlmi.Encode(nil, l, boundary, "root@example.test")
}

var eventlist = sip.NewHeader("Require", "eventlist")

// One list SUBSCRIBE (Supported: eventlist) gives every member's state as
// per-buddy events: full state, a partial update, a version gap (the UA
// refreshes and gets full state again), a member gone from the full state.
func TestListSubscription(t *testing.T) {
	peer, dialogs, refreshes := listServer(t)

	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.SubscribeList(listURI)
	sub := peer.nextSubscribe(t)
	if got := headerValue(sub, "Supported"); !strings.Contains(got, "eventlist") {
		t.Errorf("list SUBSCRIBE Supported = %q, want eventlist", got)
	}
	if got := headerValue(sub, "Accept"); !strings.Contains(got, "multipart/related") || !strings.Contains(got, "application/rlmi+xml") {
		t.Errorf("list SUBSCRIBE Accept = %q", got)
	}
	d := <-dialogs

	ct, body := rlmiBody(1, true, [][3]string{{carol, "active", "carol here"}, {dave, "pending", ""}, {erin, "terminated;rejected", ""}})
	if code := peer.notify(d, "active;expires=600", ct, body, eventlist); code != 200 {
		t.Fatalf("full-state NOTIFY answered %d", code)
	}
	bob.waitFor(t, "carol's note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "carol here" }))
	bob.waitFor(t, "dave pending", subscriptionEvent(dave, Pending, ""))
	bob.waitFor(t, "erin refused", subscriptionEvent(erin, Terminated, "rejected"))
	bob.waitFor(t, "the list active", func(ev Event) bool {
		l, ok := ev.(ListEvent)
		return ok && l.Mode == ListActive && l.Members == 3 && l.Version == 1
	})

	// Partial state: only carol changed.
	ct, body = rlmiBody(2, false, [][3]string{{carol, "active", "in a meeting"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	bob.waitFor(t, "carol's new note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "in a meeting" }))

	// Version 4 after 2: partial state was lost. Not applied; the UA
	// refreshes to get full state.
	ct, body = rlmiBody(4, false, [][3]string{{carol, "active", "from the future"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	next(t, refreshes, "refresh after a version gap")
	// Full state again, without erin: she left the list.
	ct, body = rlmiBody(5, true, [][3]string{{carol, "active", "carol again"}, {dave, "active", "dave here"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	bob.waitFor(t, "dave active with a note", presenceOf(dave, func(p PresenceEvent) bool { return p.State.Note == "dave here" }))
	bob.waitFor(t, "erin gone", subscriptionEvent(erin, Terminated, "not in the list"))
	if n := bob.rec.count(`note="from the future"`); n != 0 {
		t.Errorf("the NOTIFY after a version gap was applied (%d events)", n)
	}
}

// A server that is no resource list server answers the list URI as a
// plain presentity: the UA says so (ListRefused) and ends the dialog, so
// the caller can watch each buddy instead. A refusal does the same.
func TestListFallback(t *testing.T) {
	t.Run("plain presence answer", func(t *testing.T) {
		peer := newScriptedPeer(t)
		unsub := make(chan string, 1)
		peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
			if tag, _ := req.To().Params.Get("tag"); tag != "" {
				res := sip.NewResponseFromRequest(req, 200, "OK", nil)
				res.AppendHeader(sip.NewHeader("Expires", headerValue(req, "Expires")))
				_ = tx.Respond(res)
				unsub <- headerValue(req, "Expires")
				return
			}
			d := p.accept(req, tx, 600)
			p.notify(d, "active;expires=600", "application/pidf+xml", pidfDoc(listURI, "open", "I am just a user"))
		}, nil)
		bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
		bob.SubscribeList(listURI)
		bob.waitFor(t, "refused: not a resource list", listRefused("not a resource list"))
		if e := <-unsub; e != "0" {
			t.Errorf("the dialog was refreshed (Expires %s), not ended", e)
		}
		if n := bob.rec.count("I am just a user"); n != 0 {
			t.Errorf("the plain presence document of the list URI reached the buddy list (%d)", n)
		}
	})
	t.Run("404", func(t *testing.T) {
		peer := newScriptedPeer(t)
		peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 404, "Not Found", nil))
		}, nil)
		bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
		bob.SubscribeList(listURI)
		bob.waitFor(t, "refused: 404", listRefused("404"))
	})
}

// listRefused matches the ListEvent that refuses the list with a reason
// containing reason.
func listRefused(reason string) func(Event) bool {
	return func(ev Event) bool {
		l, ok := ev.(ListEvent)
		return ok && l.Mode == ListRefused && strings.Contains(l.Reason, reason)
	}
}

// listServer is a scripted list server: it accepts a list SUBSCRIBE with
// Require: eventlist, hands each new dialog to dialogs and each refresh
// (answered, with no NOTIFY, as Kamailio's rls does) to refreshes.
func listServer(t *testing.T) (peer *scriptedPeer, dialogs chan *notifierDialog, refreshes chan *sip.Request) {
	peer = newScriptedPeer(t)
	dialogs = make(chan *notifierDialog, 4)
	refreshes = make(chan *sip.Request, 4)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", headerValue(req, "Expires")))
			res.AppendHeader(eventlist)
			_ = tx.Respond(res)
			refreshes <- req
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		d := p.dialogFor(req)
		res.To().Params = sip.NewParams()
		res.To().Params.Add("tag", d.toTag)
		res.AppendHeader(sip.NewHeader("Expires", "600"))
		res.AppendHeader(eventlist)
		_ = tx.Respond(res)
		dialogs <- d
	}, nil)
	return peer, dialogs, refreshes
}

// Kamailio's rls sends full state only to a new subscription, not after a
// refresh: when partial state follows the refresh a version gap asked
// for, the UA starts a new dialog and gets full state from it.
func TestListGapWithoutFullStateOnRefresh(t *testing.T) {
	peer, dialogs, refreshes := listServer(t)
	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.SubscribeList(listURI)
	d := <-dialogs
	ct, body := rlmiBody(1, true, [][3]string{{carol, "active", "carol here"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	bob.waitFor(t, "carol's note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "carol here" }))

	ct, body = rlmiBody(3, false, [][3]string{{carol, "active", "after a gap"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	next(t, refreshes, "refresh after a version gap")
	ct, body = rlmiBody(4, false, [][3]string{{carol, "active", "still partial"}})
	peer.notify(d, "active;expires=600", ct, body, eventlist)
	d2 := next(t, dialogs, "new list subscription after partial state followed the refresh")
	if d2.sub.CallID().Value() == d.sub.CallID().Value() {
		t.Error("the new subscription reuses the old dialog's Call-ID")
	}
	ct, body = rlmiBody(1, true, [][3]string{{carol, "active", "full state again"}})
	peer.notify(d2, "active;expires=600", ct, body, eventlist)
	bob.waitFor(t, "the new dialog's full state", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "full state again" }))
	if n := bob.rec.count(`still partial`) + bob.rec.count(`after a gap`); n != 0 {
		t.Errorf("partial state after a gap was applied (%d events)", n)
	}
}
