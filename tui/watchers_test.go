package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// The watchers view against the demo world: a second account watches
// tester; tester opens "w", finds it allowed by the server's default,
// blocks it (the watcher's own client is told: its subscription ends),
// polite-blocks it, removes the rule, and switches "ask me about everyone";
// each change is shown in the row from the rules read back.
func TestLiveWatchersView(t *testing.T) {
	w, b := startDemoAccount(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	acc, err := w.AddUser(ctx, "watcher", "Walt Watcher")
	if err != nil {
		t.Fatal(err)
	}
	other, err := account.New(account.Options{
		Options:  ua.Options{AOR: acc.AOR, DisplayName: acc.DisplayName, Password: acc.Password, Proxy: acc.Proxy},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []account.SubscriptionEvent
	go func() {
		for {
			evs, err := other.Next(context.Background(), 0)
			if err != nil {
				return
			}
			mu.Lock()
			for _, ev := range evs {
				if s, ok := ev.(account.SubscriptionEvent); ok && s.URI == "sip:tester@example.test" {
					seen = append(seen, s)
				}
			}
			mu.Unlock()
		}
	}()
	if err := other.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		other.Close(cctx)
	})
	other.AddBuddy("sip:tester@example.test", "Tess")

	l := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true}), 120, 40)
	const walt = "sip:watcher@example.test"
	l.until("the watcher in winfo", func(m *Model) bool {
		for _, x := range m.watchers {
			if x.URI == walt && x.Status == "active" {
				return true
			}
		}
		return false
	})
	l.keys("w")
	row := func(m *Model) string {
		for _, line := range strings.Split(plain(*m), "\n") {
			if strings.Contains(line, walt) {
				return line
			}
		}
		return ""
	}
	l.until("the watcher's row, allowed by the server's default", func(m *Model) bool {
		r := row(m)
		return strings.Contains(r, "allowed") && strings.Contains(r, "server default")
	})
	l.until("the rules read", func(m *Model) bool { return m.watcherRules != nil && len(m.quiet) == 0 })
	if strings.Contains(l.m.statusText, "Done") {
		t.Errorf("reading the rules in the background put %q in the status bar", l.m.statusText)
	}
	// Put the cursor on the watcher.
	d, _ := l.m.dialogs.top().(watchersView)
	for i, r := range d.rows {
		if r.uri == walt {
			for range i {
				l.keys("down")
			}
		}
	}

	l.keys("b")
	l.until("blocked by my rule", func(m *Model) bool {
		r := row(m)
		return m.statusKind == statusOK && strings.Contains(r, "blocked") && !strings.Contains(r, "polite") && strings.Contains(r, "your rule")
	})
	l.until("the watcher's client told it is blocked", func(*Model) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range seen {
			// Watched alone, the subscription is ended with probation;
			// through its list (the default), the list's instance ends.
			if (s.State == ua.Retrying && s.Reason == "probation") || s.State == ua.Terminated {
				return true
			}
		}
		return false
	})
	if got := subscriptionWords("probation"); !strings.Contains(got, "not sharing presence with you") {
		t.Errorf("the blocked watcher's screen says %q", got)
	}

	l.keys("p")
	l.until("polite-blocked by my rule", func(m *Model) bool {
		r := row(m)
		return m.statusKind == statusOK && strings.Contains(r, "polite-blocked") && strings.Contains(r, "your rule")
	})
	l.keys("u")
	l.until("my rule gone: Blink's rule for everyone else decides", func(m *Model) bool {
		r := row(m)
		return m.statusKind == statusOK && strings.Contains(r, "everyone else: ask")
	})
	if !strings.Contains(plain(l.m), "Everyone else: ask me first") {
		t.Errorf("the view does not say unlisted watchers are asked about:\n%s", plain(l.m))
	}
	l.keys("e")
	l.until("everyone else may see me", func(m *Model) bool {
		return m.statusKind == statusOK && strings.Contains(plain(*m), "Everyone else: may see me") && strings.Contains(row(m), "everyone else: allow")
	})

	// Another client of tester's blocks the watcher; r reads the rules
	// again and the row follows.
	if err := presrules.Apply(ctx, b.XCAP(), presrules.OMAAUID, "sip:tester@example.test", walt, presrules.Block); err != nil {
		t.Fatal(err)
	}
	l.keys("r")
	l.until("the other client's block", func(m *Model) bool {
		r := row(m)
		return strings.Contains(r, "blocked") && !strings.Contains(r, "polite")
	})

	// The offline note editor.
	l.keys("esc")
	l.until("the view closed", func(m *Model) bool { return !m.dialogs.open() })
	l.keys("o")
	for _, r := range "away" {
		l.keys(string(r))
	}
	l.keys("enter")
	l.until("offline note saved", func(m *Model) bool {
		return m.statusKind == statusOK && m.offlineNote == "away" && strings.Contains(m.statusText, "Offline note set")
	})
}

// A watcher whose subscription the buddy's server ended because it is
// blocked (probation, retry-after) reads so in its row and in the detail.
func TestBlockedBuddyInWords(t *testing.T) {
	m := New(nil, Options{Environ: []string{}})
	msgs := []tea.Msg{tea.WindowSizeMsg{Width: 120, Height: 40}}
	for _, ev := range scenario() {
		msgs = append(msgs, ev)
	}
	msgs = append(msgs,
		account.PresenceEvent{URI: "sip:alice@example.test", State: pidf.State{Entity: "sip:alice@example.test"}},
		account.SubscriptionEvent{URI: "sip:alice@example.test", State: ua.Retrying, Reason: "probation", RetryIn: time.Minute})
	m = drive(t, m, msgs...)
	screen := plain(m)
	if !strings.Contains(screen, "not sharing presence with you") {
		t.Errorf("the blocked buddy's row does not say it:\n%s", screen)
	}
	if !strings.Contains(screen, "◌ blocked") || !strings.Contains(screen, "blocked by this buddy") || !strings.Contains(screen, "again in 1m0s") {
		t.Errorf("the detail does not say it is blocked and when it asks again:\n%s", screen)
	}
}
