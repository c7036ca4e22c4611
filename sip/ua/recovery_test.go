package ua

import (
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// restartablePeer scripts a peer as a small presence server with memory:
// publications by tag (unknown tag → 412), subscriptions by Call-ID
// (unknown → 481). A "restart" is a new peer on the same address, with an
// empty memory.
func presenceServerScript(p *scriptedPeer, note string) {
	var mu sync.Mutex
	etags := map[string]bool{}
	n := 0
	p.script(wellBehaved(60, func() []byte { return pidfDoc(carol, "open", note) }, nil),
		func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			defer mu.Unlock()
			if m := headerValue(req, "SIP-If-Match"); m != "" && !etags[m] {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 412, "Conditional Request Failed", nil))
				return
			}
			n++
			tag := note + itoa(n)
			etags[tag] = true
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sip.NewHeader("SIP-ETag", tag))
			res.AppendHeader(sip.NewHeader("Expires", "60"))
			_ = tx.Respond(res)
		})
}

// The server restarts on the same address: the UA notices the dead TCP
// connection and, without anyone acting, registers again, publishes afresh
// (its refresh gets 412) and re-subscribes (its refresh gets 481).
func TestRecoveryFromRestart(t *testing.T) {
	peer := newScriptedPeer(t)
	presenceServerScript(peer, "before")
	o := peer.options("sip:bob@example.test")
	o.FlowCheckInterval = 50e6
	bob := startUA(t, "bob", o)
	bob.SetPresence(Presence{Open: true, Note: "bob here"})
	bob.Subscribe(carol)
	bob.waitFor(t, "carol before", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "before" }))
	peer.nextPublish(t)

	addr := peer.addr
	peer.close()
	restarted := newScriptedPeerAt(t, addr)
	presenceServerScript(restarted, "after")

	bob.waitFor(t, "carol after the restart", presenceOf(carol, func(p PresenceEvent) bool { return p.State.Note == "after" }))
	var sawInitial bool
	for !sawInitial {
		req := restarted.nextPublish(t)
		sawInitial = req.GetHeader("SIP-If-Match") == nil && noteOf(req) == "bob here"
	}
}
