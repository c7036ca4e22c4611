package ua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// F4: a NOTIFY whose document the UA cannot read (malformed, larger than
// the PIDF limit, larger than the body limit) does not leave the old state
// showing as "active": the UA reports the subscription as retrying, forgets
// the state and subscribes again.
func TestUnreadableNotifyResubscribes(t *testing.T) {
	big := func(n int) []byte {
		doc := string(pidfDoc(carol, "open", "x"))
		return []byte(strings.Replace(doc, "<dm:note>x</dm:note>", "<dm:note>"+strings.Repeat("y", n)+"</dm:note>", 1))
	}
	for _, c := range []struct {
		name string
		body []byte
		code int
	}{
		{"malformed", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + carol + `"><tuple`), 200},
		// The F4 case: a 65,400-byte PIDF makes a NOTIFY over 65,535
		// bytes, sipgo's default parser limit (the connection used to drop).
		{"over the PIDF limit", big(65400), 200},
		{"over the body limit", big(MaxNotifyBody + 1), 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			peer := newScriptedPeer(t)
			codes := make(chan int, 4)
			n := 0
			peer.script(func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
				if tag, _ := req.To().Params.Get("tag"); tag != "" {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
					return
				}
				n++
				d := p.accept(req, tx, 60)
				if n > 1 {
					p.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "readable again"))
					return
				}
				p.notify(d, "active;expires=60", "application/pidf+xml", pidfDoc(carol, "open", "old note"))
				codes <- p.notify(d, "active;expires=60", "application/pidf+xml", c.body)
			}, nil)
			bob := startUA(t, "bob", peer.options("sip:bob@example.test"))
			bob.Subscribe(carol)
			bob.waitFor(t, "the old note", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "old note" }))
			bob.waitFor(t, "the old state forgotten", presenceOf(carol, func(p PresenceEvent) bool {
				return p.State.Basic == "" && p.State.Note == ""
			}))
			ev := bob.waitFor(t, "subscription reported lost", subscriptionEvent(carol, Retrying, "unreadable NOTIFY")).(SubscriptionEvent)
			if ev.Err == nil {
				t.Error("no error says why")
			}
			t.Logf("%s: %v", c.name, ev.Err)
			if got := <-codes; got != c.code {
				t.Errorf("the unreadable NOTIFY was answered %d, want %d", got, c.code)
			}
			peer.nextSubscribe(t) // the first
			again := peer.nextSubscribe(t)
			if tag, _ := again.To().Params.Get("tag"); tag != "" {
				t.Errorf("resubscribed in the old dialog; want a new one")
			}
			bob.waitFor(t, "readable again", presenceOf(carol, func(p PresenceEvent) bool {
				return p.State.Basic == pidf.BasicOpen && p.State.Note == "readable again"
			}))
			bob.waitFor(t, "active again", subscriptionEvent(carol, Active, ""))
		})
	}
}
