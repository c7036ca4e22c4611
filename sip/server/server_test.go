package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

var transports = []string{"UDP", "TCP"}

func TestRegister(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{min: 2 * time.Second, max: 100 * time.Second})
			alice := e.newUA("alice", tp)

			reg := func(expires string, contact *sip.ContactHeader) *sip.Request {
				req := alice.newRequest(sip.REGISTER, "alice")
				req.Recipient = sip.Uri{Scheme: "sip", Host: testDomain}
				if contact != nil {
					req.AppendHeader(contact)
				}
				if expires != "" {
					withHeader(req, "Expires", expires)
				}
				return req
			}

			// Without credentials: 401 with a qop=auth digest challenge.
			res := alice.noAuth(reg("30", alice.contact()))
			wantStatus(t, res, 401)
			chal := hv(res, "WWW-Authenticate")
			if !strings.Contains(chal, `realm="example.test"`) || !strings.Contains(chal, "auth") {
				t.Fatalf("challenge %q", chal)
			}

			res = alice.do(reg("30", alice.contact()))
			wantStatus(t, res, 200)
			c := res.Contact()
			if c == nil || c.Address.Port == 0 {
				t.Fatalf("200 without the binding: %s", res)
			}
			if exp, _ := c.Params.Get("expires"); exp != "30" {
				t.Fatalf("binding expires %q, want 30", exp)
			}
			if b := e.srv.Bindings("alice"); len(b) != 1 {
				t.Fatalf("bindings %v", b)
			}

			// Expires capped by MaxExpires; contact parameter wins over header.
			cc := alice.contact()
			cc.Params = sip.HeaderParams{{K: "expires", V: "99999"}}
			res = alice.do(reg("30", cc))
			wantStatus(t, res, 200)
			if exp, _ := res.Contact().Params.Get("expires"); exp != "100" {
				t.Fatalf("capped expires %q, want 100", exp)
			}

			// Too brief: 423 with Min-Expires.
			res = alice.do(reg("1", alice.contact()))
			wantStatus(t, res, 423)
			if hv(res, "Min-Expires") != "2" {
				t.Fatalf("Min-Expires %q", hv(res, "Min-Expires"))
			}

			// Wrong password: challenged again.
			res = alice.doAs(reg("30", alice.contact()), "alice", "wrong")
			wantStatus(t, res, 401)

			// Bob's credentials for alice's AOR: 403.
			res = alice.doAs(reg("30", alice.contact()), "bob", "bobpw")
			wantStatus(t, res, 403)

			// Expires: 0 removes the binding; the 200 lists none.
			res = alice.do(reg("0", alice.contact()))
			wantStatus(t, res, 200)
			if res.Contact() != nil || len(e.srv.Bindings("alice")) != 0 {
				t.Fatalf("binding not removed: %s", res)
			}

			// "*" removes all.
			wantStatus(t, alice.do(reg("30", alice.contact())), 200)
			res = alice.do(reg("0", &sip.ContactHeader{Address: sip.Uri{Wildcard: true}}))
			wantStatus(t, res, 200)
			if len(e.srv.Bindings("alice")) != 0 {
				t.Fatal("wildcard did not remove the binding")
			}
		})
	}
}

func TestRegisterBindingExpires(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "UDP")
	req := alice.newRequest(sip.REGISTER, "alice")
	req.AppendHeader(alice.contact())
	withHeader(req, "Expires", "1")
	wantStatus(t, alice.do(req), 200)
	deadline := time.Now().Add(waitTime)
	for len(e.srv.Bindings("alice")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("binding did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDigestReplayRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "UDP")
	req := alice.newRequest(sip.REGISTER, "alice")
	req.AppendHeader(alice.contact())
	wantStatus(t, alice.do(req), 200)
	// Same Authorization (nonce and nc) in a new transaction: a replay.
	again := alice.newRequest(sip.REGISTER, "alice")
	again.AppendHeader(alice.contact())
	again.AppendHeader(sip.NewHeader("Authorization", hv(req, "Authorization")))
	res := alice.noAuth(again)
	wantStatus(t, res, 401)
	if !strings.Contains(hv(res, "WWW-Authenticate"), "stale=true") {
		t.Fatalf("replay challenge without stale=true: %q", hv(res, "WWW-Authenticate"))
	}
}

func TestPublishOperationsAndErrors(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{min: 2 * time.Second, max: 100 * time.Second})
			alice := e.newUA("alice", tp)
			doc := pidfDoc("alice", "at lunch", "http://127.0.0.1/icon", true)

			// Unauthenticated PUBLISH: 407 with Proxy-Authenticate.
			req := alice.newRequest(sip.PUBLISH, "alice")
			withHeader(req, "Event", "presence")
			withHeader(req, "Content-Type", "application/pidf+xml")
			req.SetBody(doc)
			res := alice.noAuth(req)
			wantStatus(t, res, 407)
			if hv(res, "Proxy-Authenticate") == "" {
				t.Fatal("407 without Proxy-Authenticate")
			}

			// Initial.
			res = alice.publish("", doc, 30)
			wantStatus(t, res, 200)
			etag1 := hv(res, "SIP-ETag")
			if etag1 == "" || hv(res, "Expires") != "30" {
				t.Fatalf("initial: SIP-ETag %q Expires %q", etag1, hv(res, "Expires"))
			}
			// Refresh: new etag, the old one is dead.
			res = alice.publish(etag1, nil, 500)
			wantStatus(t, res, 200)
			etag2 := hv(res, "SIP-ETag")
			if etag2 == "" || etag2 == etag1 || hv(res, "Expires") != "100" {
				t.Fatalf("refresh: SIP-ETag %q (was %q) Expires %q", etag2, etag1, hv(res, "Expires"))
			}
			wantStatus(t, alice.publish(etag1, nil, 30), 412)
			// Modify.
			res = alice.publish(etag2, pidfDoc("alice", "busy", "http://127.0.0.1/icon", true), 30)
			wantStatus(t, res, 200)
			etag3 := hv(res, "SIP-ETag")
			// Errors.
			wantStatus(t, alice.publish("no-such-etag", nil, 30), 412)
			wantStatus(t, alice.publish(etag3, nil, 1), 423)
			res = alice.publish(etag3, nil, 1)
			if hv(res, "Min-Expires") != "2" {
				t.Fatalf("423 Min-Expires %q", hv(res, "Min-Expires"))
			}
			wantStatus(t, alice.publish("", nil, 30), 400)
			wantStatus(t, alice.publish("", []byte("<presence xmlns='urn:ietf:params:xml:ns:pidf'"), 30), 400)

			bad := alice.newRequest(sip.PUBLISH, "alice")
			withHeader(bad, "Event", "dialog")
			withHeader(bad, "Content-Type", "application/pidf+xml")
			bad.SetBody(doc)
			res = alice.do(bad)
			wantStatus(t, res, 489)
			if hv(res, "Allow-Events") == "" {
				t.Fatal("489 without Allow-Events")
			}

			text := alice.newRequest(sip.PUBLISH, "alice")
			withHeader(text, "Event", "presence")
			withHeader(text, "Content-Type", "text/plain")
			text.SetBody([]byte("hello"))
			wantStatus(t, alice.do(text), 415)

			if tp == "TCP" { // sipgo cannot even send this much over UDP
				big := alice.newRequest(sip.PUBLISH, "alice")
				withHeader(big, "Event", "presence")
				withHeader(big, "Content-Type", "application/pidf+xml")
				big.SetBody([]byte("<presence>" + strings.Repeat(" ", maxDocumentSize) + "</presence>"))
				wantStatus(t, alice.do(big), 413)
			}

			// Bob may not publish for alice.
			bob := e.newUA("bob", tp)
			req = bob.newRequest(sip.PUBLISH, "alice")
			withHeader(req, "Event", "presence")
			withHeader(req, "Content-Type", "application/pidf+xml")
			req.SetBody(doc)
			wantStatus(t, bob.do(req), 403)

			// Remove: 200, then the etag is gone.
			wantStatus(t, alice.publish(etag3, nil, 0), 200)
			wantStatus(t, alice.publish(etag3, nil, 30), 412)
		})
	}
}

func TestSubscribeNotify(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			alice := e.newUA("alice", tp)
			bob := e.newUA("bob", tp)
			icon := "http://127.0.0.1:8080/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"
			res := alice.publish("", pidfDoc("alice", "at lunch", icon, true), 60)
			wantStatus(t, res, 200)
			etag := hv(res, "SIP-ETag")

			d := bob.subscribe("alice", "presence", 30)
			wantStatus(t, d.res, 200)
			if tag, _ := d.res.To().Params.Get("tag"); tag == "" {
				t.Fatal("200 without To-tag")
			}
			if hv(d.res, "Expires") != "30" || d.res.Contact() == nil {
				t.Fatalf("200: Expires %q Contact %v", hv(d.res, "Expires"), d.res.Contact())
			}

			n := bob.nextNotify()
			ss, err := header.ParseSubscriptionState(hv(n, "Subscription-State"))
			if err != nil || !ss.IsActive() || ss.Expires <= 0 || ss.Expires > 30 {
				t.Fatalf("first NOTIFY Subscription-State %q", hv(n, "Subscription-State"))
			}
			if hv(n, "Event") != "presence" || hv(n, "Content-Type") != "application/pidf+xml" {
				t.Fatalf("NOTIFY Event %q Content-Type %q", hv(n, "Event"), hv(n, "Content-Type"))
			}
			if !contains(n.Body(), icon) || !contains(n.Body(), "at lunch") {
				t.Fatalf("NOTIFY body lacks the published state:\n%s", n.Body())
			}
			if got, _ := n.To().Params.Get("tag"); got != mustTag(d.from.Params) {
				t.Fatalf("NOTIFY To-tag %q", got)
			}
			if n.CallID().Value() != d.callID {
				t.Fatal("NOTIFY outside the dialog")
			}
			if n.Recipient.Port != bob.contact().Address.Port {
				t.Fatalf("NOTIFY Request-URI %s, want the Contact", n.Recipient.String())
			}
			cseq := n.CSeq().SeqNo

			// Every change is notified.
			res = alice.publish(etag, pidfDoc("alice", "in a meeting", icon, true), 60)
			wantStatus(t, res, 200)
			n = bob.nextNotify()
			if !contains(n.Body(), "in a meeting") || n.CSeq().SeqNo <= cseq {
				t.Fatalf("change NOTIFY CSeq %d (previous %d):\n%s", n.CSeq().SeqNo, cseq, n.Body())
			}
			cseq = n.CSeq().SeqNo
			// A body-less refresh changes nothing: no NOTIFY.
			res = alice.publish(hv(res, "SIP-ETag"), nil, 60)
			wantStatus(t, res, 200)
			etag = hv(res, "SIP-ETag")
			bob.noNotify(200 * time.Millisecond)

			// Refresh: same dialog, new expiry, NOTIFY again.
			res = d.refresh(40)
			wantStatus(t, res, 200)
			if hv(res, "Expires") != "40" {
				t.Fatalf("refresh Expires %q", hv(res, "Expires"))
			}
			n = bob.nextNotify()
			if ss, _ := header.ParseSubscriptionState(hv(n, "Subscription-State")); !ss.IsActive() || ss.Expires <= 30 {
				t.Fatalf("refresh NOTIFY %q", hv(n, "Subscription-State"))
			}
			if n.CSeq().SeqNo <= cseq {
				t.Fatal("CSeq did not grow")
			}

			// Remove the publication: watchers see a closed document.
			wantStatus(t, alice.publish(etag, nil, 0), 200)
			n = bob.nextNotify()
			if !contains(n.Body(), "closed") || contains(n.Body(), icon) {
				t.Fatalf("after removal:\n%s", n.Body())
			}

			// Unsubscribe: 200 and a terminated NOTIFY; then the dialog is gone.
			wantStatus(t, d.refresh(0), 200)
			n = bob.nextNotify()
			if ss, _ := header.ParseSubscriptionState(hv(n, "Subscription-State")); !ss.IsTerminated() {
				t.Fatalf("unsubscribe NOTIFY %q", hv(n, "Subscription-State"))
			}
			wantStatus(t, d.refresh(30), 481)
		})
	}
}

func mustTag(p sip.HeaderParams) string { v, _ := p.Get("tag"); return v }

func TestSubscribeErrors(t *testing.T) {
	e := newEnv(t, envOptions{min: 2 * time.Second})
	bob := e.newUA("bob", "UDP")

	d := bob.subscribe("alice", "dialog", 30)
	wantStatus(t, d.res, 489)
	if ae := hv(d.res, "Allow-Events"); !strings.Contains(ae, "presence") || !strings.Contains(ae, "presence.winfo") {
		t.Fatalf("Allow-Events %q", ae)
	}
	wantStatus(t, bob.subscribe("alice", "presence", 1).res, 423)
	wantStatus(t, bob.subscribe("alice", "presence.winfo", 30).res, 403)
	wantStatus(t, bob.subscribe("nobody", "presence", 30).res, 404)

	// Bob's credentials with Carol's From: 403.
	req := bob.newRequest(sip.SUBSCRIBE, "alice")
	req.From().Address.User = "carol"
	req.AppendHeader(bob.contact())
	withHeader(req, "Event", "presence")
	wantStatus(t, bob.do(req), 403)

	// An in-dialog SUBSCRIBE of a dialog the server does not know: 481
	// (also what a restarted server answers).
	d = bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	bob.nextNotify()
	d.to.Params.Add("tag", "not-ours")
	wantStatus(t, d.refresh(30), 481)
}

func TestSubscriptionExpiresWithTimeoutNotify(t *testing.T) {
	e := newEnv(t, envOptions{})
	bob := e.newUA("bob", "TCP")
	d := bob.subscribe("alice", "presence", 1)
	wantStatus(t, d.res, 200)
	n := bob.nextNotify()
	if ss, _ := header.ParseSubscriptionState(hv(n, "Subscription-State")); !ss.IsActive() {
		t.Fatalf("first NOTIFY %q", hv(n, "Subscription-State"))
	}
	n = bob.nextNotify()
	ss, _ := header.ParseSubscriptionState(hv(n, "Subscription-State"))
	if !ss.IsTerminated() || ss.Reason != header.ReasonTimeout {
		t.Fatalf("expiry NOTIFY %q", hv(n, "Subscription-State"))
	}
	wantStatus(t, d.refresh(30), 481)
}

func TestFetch(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "UDP")
	bob := e.newUA("bob", "UDP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "fetch me", "http://x/i", true), 60), 200)
	d := bob.subscribe("alice", "presence", 0)
	wantStatus(t, d.res, 200)
	n := bob.nextNotify()
	ss, _ := header.ParseSubscriptionState(hv(n, "Subscription-State"))
	if !ss.IsTerminated() || !contains(n.Body(), "fetch me") {
		t.Fatalf("fetch NOTIFY %q:\n%s", hv(n, "Subscription-State"), n.Body())
	}
	bob.noNotify(200 * time.Millisecond)
	wantStatus(t, d.refresh(30), 481)
}

func TestNotify481RemovesSubscription(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			alice := e.newUA("alice", tp)
			bob := e.newUA("bob", tp)
			bob.answer.Store(481)
			d := bob.subscribe("alice", "presence", 30)
			wantStatus(t, d.res, 200)
			bob.nextNotify() // answered 481
			waitFor(t, func() bool {
				_, ok := e.srv.dialogs.get(dialogKey(d.callID, mustTag(d.to.Params), mustTag(d.from.Params)))
				return !ok
			})
			bob.answer.Store(200)
			wantStatus(t, alice.publish("", pidfDoc("alice", "x", "", true), 60), 200)
			bob.noNotify(200 * time.Millisecond)
			wantStatus(t, d.refresh(30), 481)
		})
	}
}

func TestNotifyTimeoutRemovesSubscription(t *testing.T) {
	e := newEnv(t, envOptions{})
	bob := e.newUA("bob", "UDP")
	d := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	bob.nextNotify()
	bob.closer.Close() // bob vanishes: the next NOTIFY times out (Timer F)
	bob.ua.Close()
	alice := e.newUA("alice", "UDP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "x", "", true), 60), 200)
	waitFor(t, func() bool { return e.srv.dialogs.len() == 0 })
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func putRules(t *testing.T, e *testEnv, owner, auid, path, body string) {
	t.Helper()
	_, _, err := e.st.Put(store.Key{AUID: auid, User: "sip:" + owner + "@" + testDomain, Path: path}, []byte(body), store.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.RulesChanged(owner)
}

func rulesDoc(rules ...[2]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">`)
	for i, r := range rules {
		b.WriteString(`<cp:rule id="r` + string(rune('a'+i)) + `"><cp:conditions><cp:identity><cp:one id="` + r[0] + `"/></cp:identity></cp:conditions><cp:actions><pr:sub-handling>` + r[1] + `</pr:sub-handling></cp:actions><cp:transformations/></cp:rule>`)
	}
	b.WriteString(`</cp:ruleset>`)
	return b.String()
}

func substate(t testing.TB, n *sip.Request) header.SubscriptionState {
	t.Helper()
	ss, err := header.ParseSubscriptionState(hv(n, "Subscription-State"))
	if err != nil {
		t.Fatalf("Subscription-State %q: %v", hv(n, "Subscription-State"), err)
	}
	return ss
}

func TestWatcherInfoAndPresRules(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{policy: Confirm})
			alice := e.newUA("alice", tp)
			carol := e.newUA("carol", tp)
			wantStatus(t, alice.publish("", pidfDoc("alice", "secret note", "http://x/icon", true), 60), 200)

			// The owner's own subscription is always allowed.
			self := alice.subscribe("alice", "presence", 30)
			wantStatus(t, self.res, 200)
			if n := alice.nextNotify(); !substate(t, n).IsActive() || !contains(n.Body(), "secret note") {
				t.Fatalf("self NOTIFY %q", hv(n, "Subscription-State"))
			}

			winfo := alice.subscribe("alice", "presence.winfo", 30)
			wantStatus(t, winfo.res, 200)
			n := alice.nextNotify()
			if !substate(t, n).IsActive() || hv(n, "Content-Type") != "application/watcherinfo+xml" {
				t.Fatalf("winfo NOTIFY %q %q", hv(n, "Subscription-State"), hv(n, "Content-Type"))
			}
			if !contains(n.Body(), `version="0"`) || !contains(n.Body(), "sip:alice@example.test") {
				t.Fatalf("first winfo:\n%s", n.Body())
			}

			// Carol, under Confirm and without rules: pending, no state.
			d := carol.subscribe("alice", "presence", 30)
			wantStatus(t, d.res, 200)
			n = carol.nextNotify()
			if !substate(t, n).IsPending() || len(n.Body()) != 0 {
				t.Fatalf("carol: %q body %q", hv(n, "Subscription-State"), n.Body())
			}
			n = alice.nextNotify()
			if !contains(n.Body(), `version="1"`) || !strings.Contains(watcherLine(n.Body(), "carol"), `status="pending"`) {
				t.Fatalf("winfo with pending carol:\n%s", n.Body())
			}

			// Alice allows carol: carol becomes active and gets the state.
			putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:carol@example.test", "allow"}))
			n = carol.nextNotify()
			if !substate(t, n).IsActive() || !contains(n.Body(), "secret note") {
				t.Fatalf("carol after allow: %q\n%s", hv(n, "Subscription-State"), n.Body())
			}
			n = alice.nextNotify()
			if !contains(n.Body(), `version="2"`) || !strings.Contains(watcherLine(n.Body(), "carol"), `status="active"`) {
				t.Fatalf("winfo with active carol:\n%s", n.Body())
			}

			// Polite block: active, but a neutral closed document.
			putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:carol@example.test", "polite-block"}))
			n = carol.nextNotify()
			if !substate(t, n).IsActive() || contains(n.Body(), "secret note") || contains(n.Body(), "icon") || !contains(n.Body(), "closed") {
				t.Fatalf("carol polite-blocked: %q\n%s", hv(n, "Subscription-State"), n.Body())
			}
			// Changes are not shown to her.
			wantStatus(t, alice.publish("", pidfDoc("alice", "second device", "", true), 60), 200)
			alice.nextNotify() // alice's own presence subscription
			carol.noNotify(200 * time.Millisecond)

			// Block: terminated;reason=probation with the retry-after of
			// DefaultBlockedRetryAfter (so that an unblock reaches her);
			// winfo shows it.
			putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:carol@example.test", "block"}))
			n = carol.nextNotify()
			if ss := substate(t, n); !ss.IsTerminated() || ss.Reason != header.ReasonProbation || ss.RetryAfter != int(DefaultBlockedRetryAfter/time.Second) || len(n.Body()) != 0 {
				t.Fatalf("carol blocked: %q body %q", hv(n, "Subscription-State"), n.Body())
			}
			n = alice.nextNotify()
			if !strings.Contains(watcherLine(n.Body(), "carol"), `status="terminated"`) {
				t.Fatalf("winfo with terminated carol:\n%s", n.Body())
			}
			wantStatus(t, d.refresh(30), 481)

			// A blocked watcher that subscribes again at once, ignoring the
			// retry-after, is answered 503 with the time left.
			d = carol.subscribe("alice", "presence", 30)
			wantStatus(t, d.res, 503)
			if ra, err := strconv.Atoi(hv(d.res, "Retry-After")); err != nil || ra <= 0 || ra > int(DefaultBlockedRetryAfter/time.Second) {
				t.Fatalf("503 Retry-After %q", hv(d.res, "Retry-After"))
			}
			// Once the server has forgotten when it told her, she is told
			// the same again.
			e.srv.blocked.mu.Lock()
			clear(e.srv.blocked.at)
			e.srv.blocked.mu.Unlock()
			d = carol.subscribe("alice", "presence", 30)
			wantStatus(t, d.res, 200)
			if ss := substate(t, carol.nextNotify()); ss.Reason != header.ReasonProbation || ss.RetryAfter != int(DefaultBlockedRetryAfter/time.Second) {
				t.Fatalf("re-subscribe while blocked: %v", ss)
			}
		})
	}
}

// watcherLine returns the <watcher> element of a user in a winfo document.
func watcherLine(body []byte, user string) string {
	s := string(body)
	i := strings.Index(s, "sip:"+user+"@")
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(s[:i], "<watcher ")
	if j < 0 {
		return ""
	}
	return s[j:i]
}

func TestPolicyAllowDomainAndRulesRevocation(t *testing.T) {
	e := newEnv(t, envOptions{}) // AllowDomain
	alice := e.newUA("alice", "UDP")
	bob := e.newUA("bob", "UDP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "hi", "", true), 60), 200)
	d := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := bob.nextNotify(); !substate(t, n).IsActive() || !contains(n.Body(), "hi") {
		t.Fatalf("bob under AllowDomain: %q", hv(n, "Subscription-State"))
	}
	// A document that only confirms bob takes his active subscription away.
	putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:bob@example.test", "confirm"}))
	n := bob.nextNotify()
	if ss := substate(t, n); !ss.IsTerminated() || ss.Reason != header.ReasonDeactivated {
		t.Fatalf("bob after confirm rule: %q", hv(n, "Subscription-State"))
	}
	// His new subscription waits.
	d = bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := bob.nextNotify(); !substate(t, n).IsPending() {
		t.Fatalf("bob re-subscribed: %q", hv(n, "Subscription-State"))
	}
	// The store hook does the same as RulesChanged.
	_, _, err := e.st.Put(store.Key{AUID: "pres-rules", User: "sip:alice@example.test", Path: "index"},
		[]byte(rulesDoc([2]string{"sip:bob@example.test", "allow"})), store.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.StoreChanged(store.Key{AUID: "pres-rules", User: "sip:alice@example.test", Path: "index"})
	if n := bob.nextNotify(); !substate(t, n).IsActive() {
		t.Fatalf("bob after allow: %q", hv(n, "Subscription-State"))
	}
}

func TestPublicationExpiresAndComposes(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "TCP")
	bob := e.newUA("bob", "TCP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "long lived", "", true), 60), 200)
	d := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	first := bob.nextNotify()
	res := alice.publish("", pidfDoc("alice", "short lived", "", true), 1)
	wantStatus(t, res, 200)
	n := bob.nextNotify()
	if !contains(n.Body(), "short lived") {
		t.Fatalf("second publication not shown (CSeq %d after %d):\n%s", n.CSeq().SeqNo, first.CSeq().SeqNo, n.Body())
	}
	n = bob.nextNotify() // on expiry
	if contains(n.Body(), "short lived") || !contains(n.Body(), "long lived") {
		t.Fatalf("after expiry:\n%s", n.Body())
	}
}

func TestRestartedServerAnswers412And481(t *testing.T) {
	e1 := newEnv(t, envOptions{})
	alice := e1.newUA("alice", "UDP")
	res := alice.publish("", pidfDoc("alice", "x", "", true), 60)
	wantStatus(t, res, 200)
	etag := hv(res, "SIP-ETag")
	d := alice.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	alice.nextNotify()

	// A second server over the same store: what a restart looks like.
	e2 := newEnv(t, envOptions{store: e1.st})
	alice.server = e2.udpAddr
	wantStatus(t, alice.publish(etag, nil, 60), 412)
	wantStatus(t, d.refresh(30), 481)
}

// A NOTIFY too large for sipgo's UDP (1300 bytes) reaches a UDP subscriber
// over TCP, at its Contact.
func TestLargeNotifyFallsBackToTCP(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "TCP") // sipgo cannot send the PUBLISH over UDP either
	bob := e.newUA("bob", "UDP+TCP")
	d := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := bob.nextNotify(); n.Transport() != "UDP" {
		t.Fatalf("small NOTIFY over %s", n.Transport())
	}
	note := strings.Repeat("a long note ", 200) // ~2.4 KB
	wantStatus(t, alice.publish("", pidfDoc("alice", note, "http://x/icon", true), 60), 200)
	n := bob.nextNotify()
	if n.Transport() != "TCP" || !contains(n.Body(), note) {
		t.Fatalf("large NOTIFY over %s, %d bytes", n.Transport(), len(n.Body()))
	}
	// The subscription lives on over UDP.
	wantStatus(t, d.refresh(30), 200)
	if n := bob.nextNotify(); n.Transport() != "TCP" || !substate(t, n).IsActive() {
		t.Fatalf("refresh NOTIFY over %s: %q", n.Transport(), hv(n, "Subscription-State"))
	}
}

// The OMA pres-rules AUID (document "pres-rules") is honoured too.
func TestOMAPresRulesLocation(t *testing.T) {
	e := newEnv(t, envOptions{policy: Confirm})
	carol := e.newUA("carol", "TCP")
	d := carol.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := carol.nextNotify(); !substate(t, n).IsPending() {
		t.Fatalf("carol: %q", hv(n, "Subscription-State"))
	}
	putRules(t, e, "alice", "org.openmobilealliance.pres-rules", "pres-rules", rulesDoc([2]string{"sip:carol@example.test", "allow"}))
	n := carol.nextNotify()
	if !substate(t, n).IsActive() || !contains(n.Body(), "closed") {
		t.Fatalf("carol after OMA allow: %q\n%s", hv(n, "Subscription-State"), n.Body())
	}
}
