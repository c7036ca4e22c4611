package kamailiotest

import (
	"context"
	"os"
	"testing"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// emptyRules is a pres-rules document without any rule: every watcher
// waits for a decision.
const emptyRules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>
`

// TestPendingUntilAccepted runs on the PRES_AUTH=rules instance: bob's
// subscription to alice stays pending (and alice sees him pending in her
// watcher list) until alice accepts him, which writes her pres-rules on
// Kamailio's XCAP server; then bob gets her presence.
func TestPendingUntilAccepted(t *testing.T) {
	in := rulesInstance(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	aliceXCAP := xcapClient(t, in, "alice")
	// Kamailio remembers a watcher's authorization in its watchers table:
	// once allowed, bob is never pending again on that instance, whatever
	// the rules say later. An earlier run of this test leaves its rule.
	if doc, err := aliceXCAP.Get(ctx, presrules.AUID, presrules.DocumentPath, ""); err == nil {
		if r, err := presrules.Parse(doc.Body); err == nil {
			if h, matched := r.Decide(aor("bob")); matched && h == presrules.Allow {
				msg := "this PRES_AUTH=rules Kamailio already allowed bob (an earlier run) and remembers it: restart it with a new KAMAILIO_STATE"
				if os.Getenv(testtool.RequireEnv) != "" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
		}
	}
	if _, err := aliceXCAP.Put(ctx, presrules.AUID, presrules.DocumentPath, []byte(emptyRules), presrules.ContentType, xcap.Condition{}); err != nil {
		t.Fatalf("reset alice's pres-rules: %v", err)
	}
	setBuddies(t, in, "bob", aor("alice"))

	alice := login(t, in, "alice", 0)
	alice.done(alice.b.SetStatus(true, "meeting", "planning"))
	bob := login(t, in, "bob", 0)

	// The UA reports "pending (subscribing)" while it waits for the first
	// answer; Kamailio's own pending comes with its NOTIFY.
	bob.waitFor("subscription to alice pending by Kamailio", func(ev account.Event) bool {
		s, ok := ev.(account.SubscriptionEvent)
		return ok && s.URI == aor("alice") && s.State == ua.Pending && s.Reason != "subscribing"
	})
	alice.waitFor("bob pending in alice's watcher list", func(ev account.Event) bool {
		w, ok := ev.(account.WatchersEvent)
		if !ok {
			return false
		}
		for _, x := range w.Watchers {
			if x.URI == aor("bob") && x.Pending() {
				return true
			}
		}
		return false
	})
	// Pending means Kamailio sent no body: bob knows nothing of alice yet.
	if ev, found := bob.find(presenceOf(aor("alice"), func(p account.PresenceEvent) bool { return p.State.Note != "" || p.State.Basic == pidf.BasicOpen })); found {
		t.Fatalf("bob saw alice's presence while pending: %+v", ev)
	}

	alice.done(alice.b.AcceptWatcher(aor("bob")))
	bob.waitFor("alice in a meeting", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && p.State.Note == "planning" && len(p.State.Activities) == 1 && p.State.Activities[0] == "meeting"
	}))
	bob.waitFor("active subscription to alice", subscriptionOf(aor("alice"), ua.Active))
	// Kamailio sends no watcherinfo NOTIFY when pres-rules change a
	// watcher's state (update_watchers_status notifies the watcher only);
	// the backend refreshes alice's winfo subscription after the PUT, so her
	// list shows bob active without waiting for the next refresh.
	alice.waitFor("bob active in alice's watcher list", func(ev account.Event) bool {
		w, ok := ev.(account.WatchersEvent)
		if !ok {
			return false
		}
		for _, x := range w.Watchers {
			if x.URI == aor("bob") && !x.Pending() {
				return true
			}
		}
		return false
	})

	// The rule is alice's pres-rules document on the server, as RFC 5025
	// says, so any of her clients sees it.
	doc, err := aliceXCAP.Get(ctx, presrules.AUID, presrules.DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := presrules.Parse(doc.Body)
	if err != nil {
		t.Fatal(err)
	}
	if h, matched := rules.Decide(aor("bob")); !matched || h != presrules.Allow {
		t.Errorf("pres-rules decide bob: %v %v, want allow\n%s", h, matched, doc.Body)
	}
}
