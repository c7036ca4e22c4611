package account

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// The watchers' decisions go where Blink reads them on the embedded server
// (its xcap-caps advertise the OMA AUID): each one is answered with the
// rules as they now stand, the server enforces it on the watcher's real
// subscription, and the offline note is what the watcher sees once the
// account's only device has gone, until one comes back.
func TestWatcherDecisionsAndOfflineNote(t *testing.T) {
	w := startWorld(t, 1)
	acc := addUser(t, w, "tester")
	b, r := loginAs(t, acc, t.TempDir())
	r.wait(t, "registration", func(ev Event) bool { a, ok := ev.(AccountEvent); return ok && a.State == ua.Registered })
	const tester, watcher = "sip:tester@example.test", "sip:watcher@example.test"
	// The watcher watches each buddy alone: a block ends that
	// subscription (TestBlockAndUnblockThroughTheList has the list's way).
	other, ro := login(t, w, "watcher", t.TempDir(), func(o *Options) { o.NoRLS = true })
	if _, err := ro.answer(t, other.AddBuddy(tester, "Tester")); err != nil {
		t.Fatal(err)
	}
	ro.wait(t, "tester's presence", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Basic == "open"
	})

	if _, err := r.answer(t, b.SetOfflineNote("  on holiday until Monday ")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.answer(t, b.ReadOfflineNote()); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "the offline note read back", func(ev Event) bool {
		e, ok := ev.(OfflineNoteEvent)
		return ok && e.Note == "on holiday until Monday"
	})
	// Tester's only device leaves.
	closeBackend(t, b, r)
	ro.wait(t, "the offline note", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Basic != "open" && p.State.Note == "on holiday until Monday"
	})
	seen := ro.mark()
	b2, r2 := loginAs(t, acc, t.TempDir())
	r2.wait(t, "registration", func(ev Event) bool { a, ok := ev.(AccountEvent); return ok && a.State == ua.Registered })
	ro.waitSince(t, seen, "tester back, without the offline note", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Basic == "open" && p.State.Note != "on holiday until Monday"
	})
	if _, err := r2.answer(t, b2.SetOfflineNote("")); err != nil {
		t.Fatal(err)
	}

	decisionOf := func(who string, h presrules.Handling, rule string) {
		t.Helper()
		r2.wait(t, "watcher rules with "+who+" "+h.String()+" by "+rule, func(ev Event) bool {
			e, ok := ev.(WatcherRulesEvent)
			return ok && e.Layout == presrules.OMAAUID && slices.ContainsFunc(e.Rules, func(wr presrules.WatcherRule) bool {
				return wr.Watcher == who && wr.Handling == h && wr.Rule == rule
			})
		})
	}
	decision := func(h presrules.Handling, rule string) { t.Helper(); decisionOf(watcher, h, rule) }
	// The first decision creates Blink's rules, which ask about everyone
	// unlisted: the watcher who sees tester now (the server's default let
	// it in) is granted first and keeps seeing tester.
	r2.wait(t, "the watcher active in watcher info", func(ev Event) bool {
		e, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(e.Watchers, func(w Watcher) bool { return w.URI == watcher && w.Status == "active" })
	})
	before := ro.mark()
	if _, err := r2.answer(t, b2.BlockWatcher("sip:mallory@example.test")); err != nil {
		t.Fatal(err)
	}
	decision(presrules.Allow, presrules.OMARuleGranted)
	decisionOf("sip:mallory@example.test", presrules.Block, presrules.RuleBlock)
	// A change of tester's still reaches the watcher, and nothing ended its subscription.
	if _, err := r2.answer(t, b2.SetStatus(true, "away", "kept")); err != nil {
		t.Fatal(err)
	}
	ro.waitSince(t, before, "tester's change after the first rule", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Note == "kept"
	})
	ro.mu.Lock()
	for _, ev := range ro.evs[before:] {
		if s, ok := ev.(SubscriptionEvent); ok && s.URI == tester && s.State != ua.Active {
			t.Errorf("the watcher's subscription changed after the first rule: %+v", s)
		}
	}
	ro.mu.Unlock()

	if _, err := r2.answer(t, b2.BlockWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	decision(presrules.Block, presrules.RuleBlock)
	ro.wait(t, "the watcher's subscription ended by the block", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == tester && s.State == ua.Retrying && s.Reason == "probation"
	})
	if _, err := r2.answer(t, b2.PoliteBlockWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	decision(presrules.PoliteBlock, presrules.RulePoliteBlock)
	if _, err := r2.answer(t, b2.ForgetWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.answer(t, b2.ReadWatcherRules()); err != nil {
		t.Fatal(err)
	}
	r2.wait(t, "watcher rules without the watcher", func(ev Event) bool {
		e, ok := ev.(WatcherRulesEvent)
		return ok && !slices.ContainsFunc(e.Rules, func(wr presrules.WatcherRule) bool { return wr.Watcher == watcher })
	})
	if _, err := r2.answer(t, b2.AcceptWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	decision(presrules.Allow, presrules.RuleAllow)

	// Blink's two modes for everyone else.
	for _, ask := range []bool{false, true} {
		want := presrules.UnlistedAllow
		if ask {
			want = presrules.UnlistedAsk
		}
		if _, err := r2.answer(t, b2.SetAskEveryone(ask)); err != nil {
			t.Fatal(err)
		}
		ev := r2.wait(t, fmt.Sprintf("unlisted watchers %v", want), func(ev Event) bool {
			e, ok := ev.(WatcherRulesEvent)
			return ok && e.Unlisted == want
		}).(WatcherRulesEvent)
		if h, rule, _ := ev.Explain("sip:stranger@example.test"); (ask && h != presrules.Confirm) || (!ask && h != presrules.Allow) || rule == "" {
			t.Errorf("a stranger with ask=%v: %v by %q", ask, h, rule)
		}
	}
}

// Through a resource list (RLS, the default), a watcher is one of my
// watchers in watcher info like any other; my block ends its view of me in
// the list (the instance goes terminated) and my unblock brings it back,
// with the watcher doing nothing: its one list subscription stays.
func TestBlockAndUnblockThroughTheList(t *testing.T) {
	w := startWorld(t, 1)
	const tester, watcher = "sip:tester@example.test", "sip:watcher@example.test"
	b, r := login(t, w, "tester", t.TempDir())
	r.wait(t, "registration", func(ev Event) bool { a, ok := ev.(AccountEvent); return ok && a.State == ua.Registered })
	if _, err := r.answer(t, b.SetStatus(true, "", "at my desk")); err != nil {
		t.Fatal(err)
	}
	other, ro := login(t, w, "watcher", t.TempDir())
	if _, err := ro.answer(t, other.AddBuddy(tester, "Tester")); err != nil {
		t.Fatal(err)
	}
	ro.wait(t, "the watcher's buddies served by the list", func(ev Event) bool {
		e, ok := ev.(ListEvent)
		return ok && e.Mode == ListModeRLS
	})
	ro.wait(t, "tester's presence through the list", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Note == "at my desk"
	})
	r.wait(t, "the watcher active in watcher info", func(ev Event) bool {
		e, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(e.Watchers, func(w Watcher) bool { return w.URI == watcher && w.Status == "active" })
	})

	seen := ro.mark()
	if _, err := r.answer(t, b.BlockWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	ro.waitSince(t, seen, "tester's instance ended by the block", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == tester && s.State == ua.Terminated
	})
	seen = ro.mark()
	if _, err := r.answer(t, b.AcceptWatcher(watcher)); err != nil {
		t.Fatal(err)
	}
	ro.waitSince(t, seen, "tester back after the unblock", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == tester && s.State == ua.Active
	})
	ro.waitSince(t, seen, "tester's presence after the unblock", func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == tester && p.State.Note == "at my desk"
	})
}
