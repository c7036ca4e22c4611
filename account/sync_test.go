package account

import (
	"slices"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// acceptanceBound is issue 14's bound for an edit made by one client of an
// account to show in the other one. The tests log the latency they
// measured against it; they wait up to waitTimeout, as a loaded machine
// (the race detector on two shared cores) may exceed it.
const acceptanceBound = 5 * time.Second

// TestTwoClientsOnOneAccountEditTogether is issue 14's acceptance for two
// clients on one account, against the embedded server with xcap-diff and,
// with it turned off, through polling: a buddy added, renamed and moved to
// a new group in A shows in B; a watcher (a third account watching the
// AOR through its list) blocked in A loses its view of the account on the
// server and shows blocked in B's watcher rules; A's undo shows in B too,
// and so does the offline note A sets.
func TestTwoClientsOnOneAccountEditTogether(t *testing.T) {
	for _, tc := range followCases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, 2, false, tc.noXcapDiff)
			s.putBuddies(t, 1)
			a, ra, b, rb := twoClients(t, s, tc.follow, false)
			// B's watchers view is open: it read the rules once.
			if _, err := rb.answer(t, b.ReadWatcherRules()); err != nil {
				t.Fatal(err)
			}

			const zoe = "sip:zoe@example.test"
			step := func(what string, edit func() RequestID, shown func(Buddy) bool) {
				t.Helper()
				from := rb.mark()
				began := time.Now()
				if _, err := ra.answer(t, edit()); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				rb.waitSince(t, from, what+" in the other client", func(ev Event) bool {
					e, ok := ev.(BuddiesEvent)
					return ok && slices.ContainsFunc(e.Buddies, func(bd Buddy) bool { return bd.URI == zoe && shown(bd) })
				})
				took := time.Since(began).Round(time.Millisecond)
				over := ""
				if took > acceptanceBound {
					over = " (over the acceptance's " + acceptanceBound.String() + ")"
				}
				t.Logf("%s: %s shown by the other client %s after the request%s", tc.name, what, took, over)
			}
			step("the buddy added", func() RequestID { return a.AddBuddy(zoe, "Zoe") }, func(bd Buddy) bool {
				return bd.DisplayName == "Zoe" && slices.Equal(bd.Groups, []string{"buddies"})
			})
			step("the buddy renamed", func() RequestID { return a.RenameBuddy(zoe, "Zoe Zed") }, func(bd Buddy) bool {
				return bd.DisplayName == "Zoe Zed"
			})
			if _, err := ra.answer(t, a.AddGroup("Friends")); err != nil {
				t.Fatal(err)
			}
			step("the buddy moved to a new group", func() RequestID { return a.MoveBuddy(zoe, "Friends") }, func(bd Buddy) bool {
				return bd.DisplayName == "Zoe Zed" && slices.Equal(bd.Groups, []string{"Friends"})
			})

			// buddy1 watches tester through its own list.
			w, rw, _ := loginUser(t, s, "buddy1", nil)
			if _, err := rw.answer(t, w.AddBuddy(testerAOR, "Tester")); err != nil {
				t.Fatal(err)
			}
			rw.wait(t, "tester's presence", func(ev Event) bool {
				p, ok := ev.(PresenceEvent)
				return ok && p.URI == testerAOR && p.State.Basic == "open"
			})
			const watcher = "sip:buddy1@example.test"
			ra.wait(t, "the watcher active in watcher info", func(ev Event) bool {
				e, ok := ev.(WatchersEvent)
				return ok && slices.ContainsFunc(e.Watchers, func(x Watcher) bool { return x.URI == watcher && x.Status == "active" })
			})
			rulesOf := func(ev Event) ([]presrules.WatcherRule, bool) {
				e, ok := ev.(WatcherRulesEvent)
				return e.Rules, ok
			}
			named := func(rules []presrules.WatcherRule, h presrules.Handling) bool {
				return slices.ContainsFunc(rules, func(r presrules.WatcherRule) bool { return r.Watcher == watcher && r.Handling == h })
			}

			fromB, fromW := rb.mark(), rw.mark()
			began := time.Now()
			if _, err := ra.answer(t, a.BlockWatcher(watcher)); err != nil {
				t.Fatal(err)
			}
			rw.waitSince(t, fromW, "the watcher's view of tester ended by the block", func(ev Event) bool {
				e, ok := ev.(SubscriptionEvent)
				return ok && e.URI == testerAOR && (e.State == ua.Terminated || e.State == ua.Retrying)
			})
			rb.waitSince(t, fromB, "the block in the other client's watcher rules", func(ev Event) bool {
				rules, ok := rulesOf(ev)
				return ok && named(rules, presrules.Block)
			})
			t.Logf("%s: the block shown by the other client %s after the request", tc.name, time.Since(began).Round(time.Millisecond))

			fromB = rb.mark()
			began = time.Now()
			if _, err := ra.answer(t, a.ForgetWatcher(watcher)); err != nil {
				t.Fatal(err)
			}
			rb.waitSince(t, fromB, "the undone block gone from the other client's watcher rules", func(ev Event) bool {
				rules, ok := rulesOf(ev)
				return ok && !slices.ContainsFunc(rules, func(r presrules.WatcherRule) bool { return r.Watcher == watcher })
			})
			t.Logf("%s: the undo shown by the other client %s after the request", tc.name, time.Since(began).Round(time.Millisecond))

			// The offline note follows too, once B read it.
			if _, err := rb.answer(t, b.ReadOfflineNote()); err != nil {
				t.Fatal(err)
			}
			fromB = rb.mark()
			if _, err := ra.answer(t, a.SetOfflineNote("on holiday")); err != nil {
				t.Fatal(err)
			}
			rb.waitSince(t, fromB, "the offline note set by the other client", func(ev Event) bool {
				e, ok := ev.(OfflineNoteEvent)
				return ok && e.Note == "on holiday"
			})
		})
	}
}
