package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/demo"
)

// TestLiveTwoClientsOnOneAccount runs two screens of one account (two
// devices, each with its own cache) on the demo world's embedded servers:
// a buddy renamed on the first shows under its new name in the second's
// list, and a watcher blocked on the first shows blocked in the second's
// open watchers view (nobody pressed r there), and unblocked again.
func TestLiveTwoClientsOnOneAccount(t *testing.T) {
	var acc demo.Account
	w, a := startDemoAccount(t, 1, func(_ *demo.World, x demo.Account) { acc = x })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startDemoClient(t, ctx, acc)
	la := newLoop(t, New(a, Options{Environ: []string{}, SteadyCursor: true, ArtMode: "plain"}), 110, 32)
	lb := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true, ArtMode: "plain"}), 110, 32)
	buddy := w.Buddies()[0] // its AOR
	for _, l := range []*loop{la, lb} {
		l.until("the buddy in the list", func(m *Model) bool { return m.list.get(buddy, false) != nil })
	}
	old := la.m.list.get(buddy, false).name

	// Rename the buddy on A: e, clear the name, type, enter.
	if sel := la.m.list.selected(); sel == nil || sel.URI != buddy {
		t.Fatalf("A's cursor is on %v, not %s", sel, buddy)
	}
	la.keys("e")
	for range []rune(old) {
		la.keys("backspace")
	}
	for _, r := range "Renamed" {
		la.keys(string(r))
	}
	la.keys("enter")
	la.until("the rename done on A", func(m *Model) bool { return m.statusKind == statusOK && m.list.get(buddy, false).name == "Renamed" })
	lb.until("the new name on B's screen", func(m *Model) bool {
		bd := m.list.get(buddy, false)
		return bd != nil && bd.name == "Renamed" && strings.Contains(plain(*m), "Renamed")
	})
	if strings.Contains(plain(lb.m), old) {
		t.Errorf("B still shows the old name %q:\n%s", old, plain(lb.m))
	}

	// A third account watches tester.
	wacc, err := w.AddUser(ctx, "watcher", "Walt Watcher")
	if err != nil {
		t.Fatal(err)
	}
	watcher := startDemoClient(t, ctx, wacc)
	watcher.AddBuddy(acc.AOR, "Tess")
	const walt = "sip:watcher@example.test"
	row := func(m *Model) string {
		for _, line := range strings.Split(plain(*m), "\n") {
			if strings.Contains(line, walt) {
				return line
			}
		}
		return ""
	}
	// B opens its watchers view; A opens its own and blocks the watcher.
	for _, l := range []*loop{la, lb} {
		l.until("the watcher active in winfo", func(m *Model) bool {
			for _, x := range m.watchers {
				if x.URI == walt && x.Status == "active" {
					return true
				}
			}
			return false
		})
		l.keys("w")
		l.until("the watcher's row, allowed", func(m *Model) bool {
			return strings.Contains(row(m), "allowed") && m.watcherRules != nil && len(m.quiet) == 0
		})
	}
	d, _ := la.m.dialogs.top().(watchersView)
	for i, r := range d.rows {
		if r.uri == walt {
			for range i {
				la.keys("down")
			}
		}
	}
	la.keys("b")
	la.until("blocked on A", func(m *Model) bool {
		r := row(m)
		return m.statusKind == statusOK && strings.Contains(r, "blocked") && !strings.Contains(r, "polite")
	})
	lb.until("blocked by my rule in B's open watchers view", func(m *Model) bool {
		r := row(m)
		_, open := m.dialogs.top().(watchersView)
		return open && strings.Contains(r, "blocked") && !strings.Contains(r, "polite") && strings.Contains(r, "your rule")
	})
	la.keys("u")
	la.until("the rule gone on A", func(m *Model) bool {
		return m.statusKind == statusOK && !strings.Contains(row(m), "your rule")
	})
	lb.until("the rule gone in B's open watchers view", func(m *Model) bool {
		r := row(m)
		_, open := m.dialogs.top().(watchersView)
		return open && r != "" && !strings.Contains(r, "blocked") && !strings.Contains(r, "your rule")
	})
}
