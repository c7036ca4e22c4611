package server

import (
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// A watcher no rule names is decided by the server's policy, as if there
// were no document: blocking carol does not make bob wait.
func TestUnmatchedWatcherFollowsPolicy(t *testing.T) {
	e := newEnv(t, envOptions{}) // AllowDomain
	alice := e.newUA("alice", "TCP")
	bob := e.newUA("bob", "TCP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "for my domain", "", true), 60), 200)
	d := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := bob.nextNotify(); !substate(t, n).IsActive() {
		t.Fatalf("bob: %q", hv(n, "Subscription-State"))
	}
	putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:carol@example.test", "block"}))
	wantStatus(t, d.refresh(30), 200)
	if n := bob.nextNotify(); !substate(t, n).IsActive() || !contains(n.Body(), "for my domain") {
		t.Fatalf("bob after a rule for carol: %q\n%s", hv(n, "Subscription-State"), n.Body())
	}
	// A new subscription of his is active too.
	d2 := bob.subscribe("alice", "presence", 30)
	wantStatus(t, d2.res, 200)
	if n := bob.nextNotify(); !substate(t, n).IsActive() {
		t.Fatalf("bob's new subscription: %q", hv(n, "Subscription-State"))
	}
}

// The OMA layout python-sipsimple writes decides by the lists of the
// owner's resource-lists document (oma_grantedcontacts,
// oma_blockedcontacts); a change of that document alone re-evaluates the
// watchers.
func TestOMARulesDecideByLists(t *testing.T) {
	e := newEnv(t, envOptions{policy: Confirm})
	alice := e.newUA("alice", "TCP")
	carol := e.newUA("carol", "TCP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "secret note", "", true), 60), 200)
	d := carol.subscribe("alice", "presence", 30)
	wantStatus(t, d.res, 200)
	if n := carol.nextNotify(); !substate(t, n).IsPending() {
		t.Fatalf("carol: %q", hv(n, "Subscription-State"))
	}
	const self = "sip:alice@example.test"
	listsURL := "http://127.0.0.1/xcap-root/resource-lists/users/" + self + "/index"
	set := func(rules, lists []byte, h presrules.Handling) (r, l []byte) {
		t.Helper()
		r, l, err := presrules.SetWatcherOMA(rules, lists, listsURL, self, "sip:carol@example.test", h)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range []struct {
			k    store.Key
			body []byte
		}{{store.Key{AUID: presrules.OMAAUID, User: self, Path: "index"}, r}, {store.Key{AUID: "resource-lists", User: self, Path: "index"}, l}} {
			if _, _, err := e.st.Put(doc.k, doc.body, store.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		e.srv.StoreChanged(store.Key{AUID: "resource-lists", User: self, Path: "index"})
		return r, l
	}
	rules, lists := set(nil, nil, presrules.Allow)
	if n := carol.nextNotify(); !substate(t, n).IsActive() || !contains(n.Body(), "secret note") {
		t.Fatalf("carol granted: %q\n%s", hv(n, "Subscription-State"), n.Body())
	}
	rules, lists = set(rules, lists, presrules.PoliteBlock)
	if n := carol.nextNotify(); !substate(t, n).IsActive() || contains(n.Body(), "secret note") || !contains(n.Body(), "closed") {
		t.Fatalf("carol in oma_blockedcontacts: %q\n%s", hv(n, "Subscription-State"), n.Body())
	}
	set(rules, lists, presrules.Undo)
	if n := carol.nextNotify(); !substate(t, n).IsTerminated() || substate(t, n).Reason != header.ReasonDeactivated {
		t.Fatalf("carol back to wp_prs_unlisted (confirm): %q", hv(n, "Subscription-State"))
	}
}

// The IETF document (sipbuddy, older clients) and the OMA one (Blink) are
// one ruleset: a block in either holds against Blink's rule for unlisted
// watchers, and Blink's grant counts although an IETF document exists.
func TestBothRulesDocumentsAreEnforced(t *testing.T) {
	e := newEnv(t, envOptions{}) // AllowDomain
	const self = "sip:alice@example.test"
	listsURL := "http://127.0.0.1/xcap-root/resource-lists/users/" + self + "/index"
	rules, lists, err := presrules.SetWatcherOMA(nil, nil, listsURL, self, "sip:carol@example.test", presrules.Allow)
	if err != nil {
		t.Fatal(err)
	}
	putRules(t, e, "alice", "resource-lists", "index", string(lists))
	putRules(t, e, "alice", presrules.OMAAUID, "index", string(rules))
	putRules(t, e, "alice", "pres-rules", "index", rulesDoc([2]string{"sip:bob@example.test", "block"}))
	decide := e.srv.policyFor("alice")
	for watcher, want := range map[string]decision{
		"sip:bob@example.test":   decBlock,   // IETF block; OMA's other-identity does not match him
		"sip:carol@example.test": decAllow,   // Blink's oma_grantedcontacts
		"sip:dave@example.test":  decPending, // Blink's wp_prs_unlisted asks
	} {
		if got := decide(watcher); got != want {
			t.Errorf("%s: %v, want %v", watcher, got, want)
		}
	}
}
