package kamailiotest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Environment variables naming the Kamailio instance started with RLS=1
// XCAP_DIFF=1 (resource list server and xcap-diff NOTIFYs): its SIP
// address and XCAP root.
const (
	EnvRLSSIP  = "SIPBUDDY_KAMAILIO_RLS_SIP"
	EnvRLSXCAP = "SIPBUDDY_KAMAILIO_RLS_XCAP"
)

func rlsInstance(t *testing.T) instance { return kamailio(t, EnvRLSSIP, EnvRLSXCAP) }

// presenceDialogs counts the presence SUBSCRIBE dialogs a session started
// to its buddies or its list (by Call-ID: a digest challenge resends the
// same dialog's request); the one to its own presence, for its other
// devices, is not a buddy's.
func presenceDialogs(a *session) int {
	ids := map[string]bool{}
	for _, m := range a.sipLog(true) {
		if !strings.HasPrefix(m, "SUBSCRIBE ") || strings.HasPrefix(m, "SUBSCRIBE "+aor(a.user)+" ") {
			continue
		}
		ev, callID := "", ""
		for _, line := range strings.Split(m, "\n") {
			name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "event", "o":
				ev = strings.TrimSpace(value)
			case "call-id", "i":
				callID = strings.TrimSpace(value)
			}
		}
		if ev == "presence" {
			ids[callID] = true
		}
	}
	return len(ids)
}

// TestKamailioRLS: against Kamailio's rls module, alice's buddy list
// arrives through one list subscription (the account writes the
// rls-services document and the list it serves), a buddy's change reaches
// her, and an edit of her list by a plain XCAP client shows through
// xcap-diff (the harness's cfg PUBLISHes one per XCAP change), its new
// member's presence coming through the same list subscription.
func TestKamailioRLS(t *testing.T) {
	in := rlsInstance(t)
	alice, bob := aliceWithBob(t, in, "rls ready")
	alice.waitFor("the list through RLS", listOf(func(e account.ListEvent) bool { return e.Mode == account.ListModeRLS }))
	alice.waitFor("bob's note through the list", presenceOf(aor("bob"), func(p account.PresenceEvent) bool { return p.State.Note == "rls ready" }))
	alice.waitFor("bob active in the list", subscriptionOf(aor("bob"), ua.Active))

	bob.done(bob.b.SetStatus(true, "busy", "in a meeting"))
	alice.waitFor("bob's change", presenceOf(aor("bob"), func(p account.PresenceEvent) bool { return p.State.Note == "in a meeting" }))
	partial := false
	for _, m := range alice.sipLog(false) {
		partial = partial || (strings.HasPrefix(m, "NOTIFY ") && strings.Contains(m, "in a meeting") &&
			strings.Contains(m, "multipart/related") && strings.Contains(strings.ReplaceAll(m, "'", `"`), `fullState="false"`))
	}
	if !partial {
		t.Error("bob's change did not come as a partial RLMI NOTIFY")
	}

	// Kamailio's first xcap-diff NOTIFY repeats the document of the last
	// change (the PUT above): from then on the list is not polled.
	alice.waitFor("edits followed by xcap-diff", listOf(func(e account.ListEvent) bool { return e.Follow == account.FollowXcapDiff }))
	// Another client (curl, Blink) adds carol to the list.
	carol := login(t, in, "carol", 0)
	carol.done(carol.b.SetStatus(true, "", "carol here"))
	addCarolElsewhere(t, in, alice)
	alice.waitFor("carol's note through the list", presenceOf(aor("carol"), func(p account.PresenceEvent) bool { return p.State.Note == "carol here" }))
	if n := presenceDialogs(alice); n != 1 {
		t.Errorf("alice started %d presence subscriptions, want the one list subscription", n)
	}
}

// aliceWithBob is the start of the list tests: bob is the one buddy in
// alice's list (written by another client), bob is online with note, then
// alice logs in.
func aliceWithBob(t *testing.T, in instance, note string) (alice, bob *session) {
	t.Helper()
	setBuddies(t, in, "alice", aor("bob"))
	bob = login(t, in, "bob", 0)
	bob.done(bob.b.SetStatus(true, "", note))
	return login(t, in, "alice", 0), bob
}

// lastListEvent is the newest ListEvent a session received.
func (a *session) lastListEvent() (account.ListEvent, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.events) - 1; i >= 0; i-- {
		if e, ok := a.events[i].(account.ListEvent); ok {
			return e, true
		}
	}
	return account.ListEvent{}, false
}

// TestKamailioWithoutRLSFallsBackAndPolls: on a Kamailio without the rls
// module and without the xcap-diff cfg, the same account watches each
// buddy (the list SUBSCRIBE got a plain presence NOTIFY), and an edit of
// its list by another client shows through polling: Kamailio accepts the
// xcap-diff subscription but never sends a document.
func TestKamailioWithoutRLSFallsBackAndPolls(t *testing.T) {
	in := openInstance(t)
	alice, _ := aliceWithBob(t, in, "no rls here")
	alice.waitFor("one subscription per buddy", listOf(func(e account.ListEvent) bool { return e.Mode == account.ListModePerBuddy && e.Reason != "" }))
	alice.waitFor("bob's note", presenceOf(aor("bob"), func(p account.PresenceEvent) bool { return p.State.Note == "no rls here" }))

	addCarolElsewhere(t, in, alice)
	if e, _ := alice.lastListEvent(); e.Follow == account.FollowXcapDiff {
		t.Errorf("xcap-diff reported working on an instance without a notifier: %s", e)
	}
	alice.waitFor("carol's own subscription", subscriptionOf(aor("carol"), ua.Active))
	if n := presenceDialogs(alice); n != 3 {
		t.Errorf("alice started %d presence subscriptions, want 3 (the refused list, bob, carol)", n)
	}
}

// addCarolElsewhere adds carol to alice's list as another client would
// (a plain XCAP PUT) and waits until alice's list shows her.
func addCarolElsewhere(t *testing.T, in instance, alice *session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	if _, err := resourcelists.Update(ctx, xcapClient(t, in, "alice"), func(d *resourcelists.Document) error {
		return d.Add(resourcelists.BuddiesList, aor("carol"), "Carol")
	}); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("carol in the list", func(ev account.Event) bool {
		e, ok := ev.(account.BuddiesEvent)
		return ok && len(e.Buddies) == 2 && e.Buddies[1].URI == aor("carol")
	})
	t.Logf("the list edit showed %s after the PUT", time.Since(start).Round(time.Millisecond))
}
