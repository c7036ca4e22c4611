package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	sipgo "github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

func TestMain(m *testing.M) {
	// sipgo logs connection bookkeeping through its process-wide logger.
	sipgo.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// loop runs a model the way Bubble Tea does (commands in goroutines, their
// messages back into Update), feeding it input once it reaches each stage,
// until every stage's condition held.
type loop struct {
	t    *testing.T
	m    Model
	msgs chan tea.Msg
}

func newLoop(t *testing.T, m Model, w, h int) *loop {
	l := &loop{t: t, m: m, msgs: make(chan tea.Msg, 1024)}
	l.run(m.Init())
	l.apply(tea.WindowSizeMsg{Width: w, Height: h})
	return l
}

func (l *loop) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				l.run(c)
			}
			return
		}
		if msg != nil {
			l.msgs <- msg
		}
	}()
}

func (l *loop) apply(msg tea.Msg) {
	if fmt.Sprintf("%T", msg) == "cursor.initialBlinkMsg" {
		return
	}
	nm, cmd := l.m.Update(msg)
	l.m = nm.(Model)
	l.run(cmd)
}

// until processes messages until cond holds on the model.
func (l *loop) until(what string, cond func(m *Model) bool) {
	l.t.Helper()
	deadline := time.After(60 * time.Second)
	for !cond(&l.m) {
		select {
		case msg := <-l.msgs:
			l.apply(msg)
		case <-deadline:
			l.t.Fatalf("never saw %s; screen:\n%s", what, plain(l.m))
		}
	}
}

func (l *loop) keys(ks ...string) {
	for _, k := range ks {
		l.apply(keyMsg(k))
	}
}

// TestLiveAgainstTheDemoWorld runs the model on a real backend logged in to
// the demo world (embedded SIP and XCAP servers, simulated buddies) and
// does what a user does: looks at the list, sets a status, a note, an icon,
// adds and removes a buddy.
func TestLiveAgainstTheDemoWorld(t *testing.T) {
	w, b := startDemoAccount(t, 3)

	pics := t.TempDir()
	if err := os.WriteFile(filepath.Join(pics, "me.png"), assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	l := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true, PicturesDir: pics}), 120, 40)

	l.until("registered with every buddy's icon", func(m *Model) bool {
		if m.self.Reg != ua.Registered || len(m.list.sorted) != len(w.Buddies()) {
			return false
		}
		for _, bd := range m.list.sorted {
			if _, ok := m.arts.get(artKey{hash: bd.IconHash, cols: 4, rows: 2, mode: m.c.mode}); !ok || !bd.HasState {
				return false
			}
		}
		return true
	})
	screen := plain(l.m)
	for _, want := range []string{"Tess Ter", "sip:tester@example.test", "Registered"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}

	// My status: s, then "3" = Busy.
	l.keys("s", "3")
	l.until("status published", func(m *Model) bool { return m.statusKind == statusOK && strings.Contains(m.statusText, "Status: Busy") })
	if !strings.Contains(plain(l.m), "◉ Busy") {
		t.Errorf("header does not show Busy:\n%s", plain(l.m))
	}

	// My note.
	l.keys("n")
	for _, r := range " at lunch" {
		if r == ' ' {
			l.keys("space")
		} else {
			l.keys(string(r))
		}
	}
	l.keys("enter")
	l.until("note published", func(m *Model) bool { return m.statusKind == statusOK && m.self.Note == "at lunch" })

	// My icon: the picker lists me.png; enter previews, enter confirms.
	l.keys("i")
	l.until("picker lists the file", func(m *Model) bool { return strings.Contains(plain(*m), "me.png") })
	l.keys("enter")
	l.until("preview", func(m *Model) bool { return pickerOpen(m) && pickerOf(m).preview != "" })
	l.keys("enter")
	l.until("icon published", func(m *Model) bool {
		return !m.dialogs.open() && m.statusKind == statusOK && m.self.IconHash != "" &&
			strings.Contains(m.statusText, "Icon set")
	})

	// Add a buddy, then remove it.
	l.keys("a")
	for _, r := range "zed@example.test" {
		l.keys(string(r))
	}
	l.keys("tab", "Z", "e", "d", "enter")
	l.until("zed in the list", func(m *Model) bool { return m.list.get("sip:zed@example.test", false) != nil })
	l.keys("/", "z", "e", "d", "enter")
	if sel := l.m.list.selected(); sel == nil || sel.URI != "sip:zed@example.test" {
		t.Fatalf("filter did not select zed: %v", sel)
	}
	l.keys("x", "y")
	l.until("zed removed", func(m *Model) bool {
		return m.list.get("sip:zed@example.test", false) == nil && m.statusKind == statusOK
	})
}

// startDemoAccount runs the demo world with n simulated buddies (changing
// only hourly) and a started account "tester" in it, both stopped when the
// test ends. prepare, if given, runs before the account starts (to store
// documents for it).
func startDemoAccount(t *testing.T, n int, prepare ...func(w *demo.World, acc demo.Account)) (*demo.World, *account.Account) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := demo.Start(ctx, demo.Options{Seed: 3, Buddies: n, MinChange: time.Hour, MaxChange: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	acc, err := w.AddUser(ctx, "tester", "Tess Ter")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prepare {
		p(w, acc)
	}
	return w, startDemoClient(t, ctx, acc)
}

// startDemoClient starts a client of acc with a cache directory of its own
// (another device of the account when one runs already), closed when the
// test ends.
func startDemoClient(t *testing.T, ctx context.Context, acc demo.Account) *account.Account {
	t.Helper()
	b, err := account.New(account.Options{
		Options:  ua.Options{AOR: acc.AOR, DisplayName: acc.DisplayName, Password: acc.Password, Proxy: acc.Proxy},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		b.Close(cctx)
	})
	return b
}
