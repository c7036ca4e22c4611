package ua

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// wellBehaved scripts the peer as a notifier that accepts every
// subscription, notifies at once, and ends it on Expires: 0. dialogs gets
// every new notifier dialog.
func wellBehaved(expires int, body func() []byte, dialogs chan<- *notifierDialog) func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
	var mu sync.Mutex
	byCallID := map[string]*notifierDialog{}
	return func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		mu.Lock()
		d := byCallID[req.CallID().Value()]
		mu.Unlock()
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			if d == nil || d.toTag != tag {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
				return
			}
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", headerValue(req, "Expires")))
			_ = tx.Respond(res)
			if headerValue(req, "Expires") == "0" {
				p.notify(d, "terminated;reason=timeout", "", nil)
				return
			}
			p.notify(d, "active;expires="+headerValue(req, "Expires"), "application/pidf+xml", body())
			return
		}
		d = p.accept(req, tx, expires)
		mu.Lock()
		byCallID[req.CallID().Value()] = d
		mu.Unlock()
		if dialogs != nil {
			dialogs <- d
		}
		p.notify(d, "active;expires=60", "application/pidf+xml", body())
	}
}

func subscriptionEvent(uri string, st SubscriptionState, reason string) func(Event) bool {
	return func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == uri && s.State == st && (reason == "" || strings.Contains(s.Reason, reason))
	}
}

const carol = "sip:carol@example.test"

// carolDialog gives u an established subscription to carol's pkg, in a
// dialog with Call-ID call-1 and local tag bobtag, without the network:
// for tests and benchmarks that feed u NOTIFYs directly.
func carolDialog(u *UA, pkg string) *subscription {
	var target sip.Uri
	_ = sip.ParseUri(carol, &target)
	s := newSubscription(u, carol, target, pkg)
	d := &dialog{callID: "call-1", localTag: "bobtag", ended: make(chan struct{})}
	s.d = d
	u.addDialog(d.key(), s)
	return s
}

// A NOTIFY that overtakes the 200 creates the dialog; the 200 that follows
// joins it. Then the dialog rules: duplicates, CSeq going backwards,
// unknown dialogs, forks, empty bodies, and the unsubscribe on Close.
func TestNotifyBeforeOK(t *testing.T) {
	peer := newScriptedPeer(t)
	early := make(chan *notifierDialog, 1)
	codes := make(chan int, 1)
	var unsubscribed sync.WaitGroup
	unsubscribed.Add(1)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			// In-dialog: must be the unsubscribe of Close.
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", "0"))
			_ = tx.Respond(res)
			if headerValue(req, "Expires") == "0" && tag == (<-early).toTag {
				unsubscribed.Done()
			}
			return
		}
		d := p.dialogFor(req)
		codes <- p.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "early bird"))
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.To().Params = sip.NewParams()
		res.To().Params.Add("tag", d.toTag)
		res.AppendHeader(sip.NewHeader("Expires", "60"))
		_ = tx.Respond(res)
		early <- d
	}, nil)

	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.Subscribe(carol)
	if code := <-codes; code != 200 {
		t.Fatalf("NOTIFY before the 200 answered %d, want 200", code)
	}
	bob.waitFor(t, "carol's early note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "early bird" }))
	bob.waitFor(t, "active", subscriptionEvent(carol, Active, ""))
	d := <-early
	early <- d

	// The same NOTIFY again (same CSeq): accepted, not applied twice.
	if code := peer.notifyCSeq(d, d.cseq, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "dup"), ""); code != 200 {
		t.Errorf("duplicate NOTIFY answered %d, want 200", code)
	}
	// A CSeq going backwards.
	if code := peer.notifyCSeq(d, d.cseq-1, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "old"), ""); code != 500 {
		t.Errorf("NOTIFY with an older CSeq answered %d, want 500", code)
	}
	// A dialog we never had.
	if code := peer.notifyCSeq(d, d.cseq+1, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "stranger"), "no-such-call-id"); code != 481 {
		t.Errorf("NOTIFY for an unknown dialog answered %d, want 481", code)
	}
	// A fork: same Call-ID, another notifier tag.
	fork := *d
	fork.toTag = "forked"
	if code := peer.notify(&fork, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "fork")); code != 481 {
		t.Errorf("NOTIFY from a second (forked) dialog answered %d, want 481", code)
	}
	// Empty body: state unknown, not an error.
	d.cseq = fork.cseq
	if code := peer.notify(d, "active;expires=60", "", nil); code != 200 {
		t.Errorf("empty NOTIFY answered %d, want 200", code)
	}
	ev := bob.waitFor(t, "carol unknown", presenceOf(carol, func(p PresenceEvent) bool { return true })).(PresenceEvent)
	if ev.State.Basic != pidf.BasicUnknown || ev.State.Note != "" {
		t.Errorf("after an empty NOTIFY: %+v, want unknown state (the dup/old/stranger/fork notes must not show)", ev.State)
	}
	// A new body after all that is applied.
	if code := peer.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "closed", "back later")); code != 200 {
		t.Errorf("NOTIFY answered %d, want 200", code)
	}
	bob.waitFor(t, "carol closed", presenceOf(carol, func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicClosed && p.State.Note == "back later"
	}))

	if err := bob.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { unsubscribed.Wait(); close(done) }()
	next(t, done, "unsubscribe by Close in the dialog the early NOTIFY created")
}

// The Subscription-State reasons of RFC 6665 §4.1.3, each with its retry.
func TestTerminatedReasons(t *testing.T) {
	cases := []struct {
		state     string
		want      SubscriptionState
		reason    string
		retryIn   time.Duration // expected RetryIn lower bound (Retrying)
		resubmits bool
	}{
		{"terminated;reason=deactivated", Retrying, "deactivated", 0, true},
		{"terminated;reason=timeout", Retrying, "timeout", 0, true},
		{"terminated", Retrying, "terminated", 0, true},
		{"terminated;reason=probation;retry-after=1", Retrying, "probation", time.Second, true},
		{"terminated;reason=giveup", Retrying, "giveup", DefaultProbationRetry, false},
		{"terminated;reason=rejected", Terminated, "rejected", 0, false},
		{"terminated;reason=noresource", Terminated, "noresource", 0, false},
		{"terminated;reason=invariant", Terminated, "invariant", 0, false},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			peer := newScriptedPeer(t)
			dialogs := make(chan *notifierDialog, 4)
			peer.script(wellBehaved(60, func() []byte { return pidfDoc(carol, "open", "") }, dialogs), nil)
			bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
			bob.Subscribe(carol)
			first := peer.nextSubscribe(t)
			bob.waitFor(t, "active", subscriptionEvent(carol, Active, ""))
			d := <-dialogs
			if code := peer.notify(d, c.state, "", nil); code != 200 {
				t.Fatalf("terminating NOTIFY answered %d", code)
			}
			ev := bob.waitFor(t, c.state, subscriptionEvent(carol, c.want, c.reason)).(SubscriptionEvent)
			if c.want == Retrying && ev.RetryIn < c.retryIn-50*time.Millisecond {
				t.Errorf("RetryIn = %s, want at least %s", ev.RetryIn, c.retryIn)
			}
			if c.resubmits {
				again := peer.nextSubscribe(t)
				if again.CallID().Value() == first.CallID().Value() {
					t.Errorf("re-subscribed in the terminated dialog (Call-ID %s), want a new one", again.CallID().Value())
				}
				if tag, _ := again.To().Params.Get("tag"); tag != "" {
					t.Errorf("re-SUBSCRIBE has a To tag %q, want an initial request", tag)
				}
				bob.waitFor(t, "active again", subscriptionEvent(carol, Active, ""))
			}
			if c.want == Terminated {
				bob.mu.Lock()
				s := bob.subs[carol]
				bob.mu.Unlock()
				if !s.stopped.Load() {
					t.Errorf("subscription still running after %s", c.reason)
				}
				// Subscribe again restarts a stopped subscription.
				bob.Subscribe(carol)
				peer.nextSubscribe(t)
				bob.waitFor(t, "active after re-Subscribe", subscriptionEvent(carol, Active, ""))
			}
		})
	}
}

// Timer N: a 200 without any NOTIFY is a failed subscription.
func TestTimerN(t *testing.T) {
	peer := newScriptedPeer(t)
	var n sync.Mutex
	count := 0
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		n.Lock()
		count++
		silent := count == 1
		n.Unlock()
		d := p.accept(req, tx, 60)
		if !silent {
			p.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "finally"))
		}
	}, nil)
	o := peer.options("sip:bob@example.test")
	o.NotifyTimeout = 300 * time.Millisecond
	bob := startUA(t, "bob", o)
	bob.Subscribe(carol)
	first := peer.nextSubscribe(t)
	bob.waitFor(t, "Timer N", subscriptionEvent(carol, Retrying, "Timer N"))
	second := peer.nextSubscribe(t)
	if second.CallID().Value() == first.CallID().Value() {
		t.Error("retry after Timer N reused the Call-ID")
	}
	bob.waitFor(t, "finally", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "finally" }))
}

// A refresh answered 481 (the notifier restarted) starts a new dialog.
func TestRefresh481(t *testing.T) {
	peer := newScriptedPeer(t)
	var mu sync.Mutex
	var first string
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
			return
		}
		mu.Lock()
		if first == "" {
			first = req.CallID().Value()
		}
		mu.Unlock()
		d := p.accept(req, tx, 1) // refresh due in under a second
		p.notify(d, "active;expires=1", "application/pidf+xml", pidfDoc(carol, "open", "hi"))
	}, nil)
	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.Subscribe(carol)
	peer.nextSubscribe(t)
	refresh := peer.nextSubscribe(t)
	if tag, _ := refresh.To().Params.Get("tag"); tag == "" {
		t.Fatal("second SUBSCRIBE is not an in-dialog refresh")
	}
	bob.waitFor(t, "481 retry", subscriptionEvent(carol, Retrying, "481"))
	again := peer.nextSubscribe(t)
	mu.Lock()
	defer mu.Unlock()
	if tag, _ := again.To().Params.Get("tag"); tag != "" || again.CallID().Value() == first {
		t.Errorf("after 481: To tag %q, Call-ID %s; want a new dialog", tag, again.CallID().Value())
	}
}

// 423 raises Expires to Min-Expires; 403 stops and reports.
func TestSubscribeResponses(t *testing.T) {
	peer := newScriptedPeer(t)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		switch {
		case strings.HasPrefix(req.Recipient.User, "dave"):
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		case headerValue(req, "Expires") != "1200":
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", "1200"))
			_ = tx.Respond(res)
		default:
			d := p.accept(req, tx, 1200)
			p.notify(d, "active;expires=1200", "application/pidf+xml", pidfDoc(carol, "open", "long"))
		}
	}, nil)
	o := peer.options("sip:bob@example.test")
	o.SubscribeExpires = 60 * time.Second
	bob := startUA(t, "bob", o)
	bob.Subscribe(carol)
	if got := headerValue(peer.nextSubscribe(t), "Expires"); got != "60" {
		t.Fatalf("first Expires %s, want 60", got)
	}
	if got := headerValue(peer.nextSubscribe(t), "Expires"); got != "1200" {
		t.Fatalf("after 423: Expires %s, want Min-Expires 1200", got)
	}
	bob.waitFor(t, "long", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "long" }))

	bob.Subscribe("sip:dave@example.test")
	ev := bob.waitFor(t, "dave refused", subscriptionEvent("sip:dave@example.test", Terminated, "403")).(SubscriptionEvent)
	var re *ResponseError
	if !errors.As(ev.Err, &re) || re.StatusCode != 403 {
		t.Errorf("Err = %v, want a *ResponseError with code 403", ev.Err)
	}
}

// Crafted NOTIFYs straight into the dialog matcher: matched by Call-ID and
// our tag before the notifier's tag is known.
func TestHandleNotifyMatching(t *testing.T) {
	u, err := New(Options{AOR: "sip:bob@example.test", Password: "x", Proxy: "sip:127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close(t.Context())
	s := carolDialog(u, "presence")
	d := s.d

	notify := func(callID, toTag, fromTag string, cseq int, state, body string) *sip.Response {
		raw := "NOTIFY sip:bob@127.0.0.1:5099;transport=tcp SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-" + callID + fromTag + itoa(cseq) + "\r\n" +
			"From: <sip:carol@example.test>;tag=" + fromTag + "\r\n" +
			"To: <sip:bob@example.test>;tag=" + toTag + "\r\n" +
			"Call-ID: " + callID + "\r\n" +
			"CSeq: " + itoa(cseq) + " NOTIFY\r\n" +
			"Contact: <sip:notifier@127.0.0.1:5060;transport=tcp>\r\n" +
			"Record-Route: <sip:p1.example.test;lr>, <sip:p2.example.test;lr>\r\n" +
			"Event: presence\r\n" +
			"Subscription-State: " + state + "\r\n"
		if body != "" {
			raw += "Content-Type: application/pidf+xml\r\n"
		}
		raw += "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatalf("parse crafted NOTIFY: %v", err)
		}
		return u.handleNotify(m.(*sip.Request))
	}

	// expect sends one crafted NOTIFY and checks the status code of the
	// answer.
	expect := func(what string, want int, callID, toTag, fromTag string, cseq int, state, body string) {
		t.Helper()
		if res := notify(callID, toTag, fromTag, cseq, state, body); res.StatusCode != want {
			t.Errorf("%s: %d, want %d", what, res.StatusCode, want)
		}
	}
	expect("wrong local tag", 481, "call-1", "othertag", "n1", 1, "active", "")
	expect("wrong Call-ID", 481, "call-2", "bobtag", "n1", 1, "active", "")
	expect("bad Subscription-State", 400, "call-1", "bobtag", "n1", 2, "bogus;;", "")
	body := string(pidfDoc(carol, "open", "crafted"))
	if res := notify("call-1", "bobtag", "n1", 2, "active;expires=300", body); res.StatusCode != 200 {
		t.Fatalf("NOTIFY before the 200: %d, want 200", res.StatusCode)
	}
	s.mu.Lock()
	if !d.confirmed || d.remoteTag != "n1" || d.remoteTarget == nil || d.remoteTarget.User != "notifier" ||
		len(d.routeSet) != 2 || d.routeSet[0].Host != "p1.example.test" || d.remoteCSeq != 2 {
		t.Errorf("dialog from the early NOTIFY: %+v (route set %v)", d, d.routeSet)
	}
	s.mu.Unlock()
	expect("other notifier tag after the dialog exists", 481, "call-1", "bobtag", "n2", 3, "active", "")
	expect("older CSeq", 500, "call-1", "bobtag", "n1", 1, "active", "")
	expect("terminated", 200, "call-1", "bobtag", "n1", 3, "terminated;reason=noresource", "")
	expect("NOTIFY after termination", 481, "call-1", "bobtag", "n1", 4, "active", "")
	var sawPresence, sawTerminated bool
	for len(u.events) > 0 {
		switch ev := (<-u.events).(type) {
		case PresenceEvent:
			sawPresence = sawPresence || ev.State.Note == "crafted"
		case SubscriptionEvent:
			sawTerminated = sawTerminated || ev.State == Terminated && ev.Reason == "noresource"
		}
	}
	if !sawPresence || !sawTerminated {
		t.Errorf("events: presence %v, terminated noresource %v; want both", sawPresence, sawTerminated)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
