package ua

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestSubscribeOneDialogPerAOR: subscribing to two spellings of carol's
// address makes one SUBSCRIBE dialog, and unsubscribing by a third
// spelling ends it.
func TestSubscribeOneDialogPerAOR(t *testing.T) {
	peer := newScriptedPeer(t)
	peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
		d := p.accept(req, tx, 60)
		if headerValue(req, "Expires") != "0" {
			p.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "spelled"))
		}
	}, nil)
	bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
	bob.Subscribe(carol)
	if got := peer.nextSubscribe(t).Recipient.User; got != "carol" {
		t.Fatalf("SUBSCRIBE for %q, want carol", got)
	}
	bob.waitFor(t, "carol's note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "spelled" }))

	bob.Subscribe("SIP:Carol@Example.Test")
	bob.Subscribe("sips:carol@example.test;transport=tls")
	select {
	case r := <-peer.subscribes:
		t.Fatalf("a second spelling of carol sent another SUBSCRIBE: %s", r.StartLine())
	case <-time.After(300 * time.Millisecond):
	}

	bob.Unsubscribe("<sip:%63arol@EXAMPLE.test>")
	if r := peer.nextSubscribe(t); headerValue(r, "Expires") != "0" {
		t.Fatalf("Unsubscribe by another spelling sent Expires %q, want 0", headerValue(r, "Expires"))
	}
}
