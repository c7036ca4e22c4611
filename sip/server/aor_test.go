package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// spelledSubscribe sends carol's SUBSCRIBE for presence with the request
// URI, To and From spelled as given (scheme, user and host), authenticating
// with the digest username authUser.
func spelledSubscribe(u *testUA, target, from sip.Uri, authUser string) *dialog {
	u.t.Helper()
	req := sip.NewRequest(sip.SUBSCRIBE, target)
	req.AppendHeader(&sip.FromHeader{Address: from, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(10)}}})
	req.AppendHeader(&sip.ToHeader{Address: target})
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(u.contact())
	withHeader(req, "Event", "presence")
	withHeader(req, "Expires", strconv.Itoa(30))
	withHeader(req, "Accept", "application/pidf+xml")
	req.SetTransport(u.transport)
	req.SetDestination(u.server)
	res := u.doAs(req, authUser, u.password)
	return &dialog{u: u, callID: string(*req.CallID()), from: req.From(), cseq: 1, event: "presence", res: res}
}

// TestOneAORHoweverSpelled: a SUBSCRIBE to SIP:Alice@Example.Test reaches
// the presentity sip:alice@example.test, and a watcher writing itself as
// sips:Carol@Example.Test (authenticating as "Carol") is the carol that
// alice's pres-rules allow; the winfo document names her once, canonically.
func TestOneAORHoweverSpelled(t *testing.T) {
	e := newEnv(t, envOptions{policy: Confirm})
	alice := e.newUA("alice", "UDP")
	carol := e.newUA("carol", "UDP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "spelled note", "", true), 60), 200)
	putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:carol@example.test", "allow"}))

	target := sip.Uri{Scheme: "SIP", User: "Alice", Host: "Example.Test"}
	from := sip.Uri{Scheme: "sips", User: "Carol", Host: "Example.Test"}
	d := spelledSubscribe(carol, target, from, "Carol")
	wantStatus(t, d.res, 200)
	n := carol.nextNotify()
	if !substate(t, n).IsActive() || !contains(n.Body(), "spelled note") || !contains(n.Body(), `entity="sip:alice@example.test"`) {
		t.Fatalf("carol's NOTIFY for SIP:Alice@Example.Test: %q\n%s", hv(n, "Subscription-State"), n.Body())
	}

	// A second spelling of the same watcher is the same watcher.
	d2 := spelledSubscribe(carol, sip.Uri{Scheme: "sip", User: "%61lice", Host: "EXAMPLE.TEST"},
		sip.Uri{Scheme: "sip", User: "carol", Host: "example.test"}, "carol")
	wantStatus(t, d2.res, 200)
	if n := carol.nextNotify(); !substate(t, n).IsActive() || !contains(n.Body(), "spelled note") {
		t.Fatalf("second spelling: %q", hv(n, "Subscription-State"))
	}
	winfo := alice.subscribe("alice", "presence.winfo", 30)
	wantStatus(t, winfo.res, 200)
	for {
		n := alice.nextNotify()
		if hv(n, "Content-Type") != "application/watcherinfo+xml" {
			continue // alice's own presence, if any
		}
		body := string(n.Body())
		if strings.Contains(body, "Carol") || strings.Contains(body, "sips:") {
			t.Fatalf("winfo names carol as she spelled herself:\n%s", body)
		}
		if !strings.Contains(watcherLine(n.Body(), "carol"), `status="active"`) {
			t.Fatalf("winfo does not show carol active:\n%s", body)
		}
		break
	}

	// Bob, spelled in capitals, is not carol: under Confirm he waits.
	bob := e.newUA("bob", "UDP")
	d3 := spelledSubscribe(bob, target, sip.Uri{Scheme: "sip", User: "BOB", Host: "example.test"}, "BOB")
	wantStatus(t, d3.res, 200)
	if n := bob.nextNotify(); !substate(t, n).IsPending() {
		t.Fatalf("bob: %q", hv(n, "Subscription-State"))
	}

	// Authenticating as someone else is still refused, however spelled.
	d4 := spelledSubscribe(bob, target, sip.Uri{Scheme: "sip", User: "Carol", Host: "example.test"}, "BOB")
	wantStatus(t, d4.res, 403)
}
