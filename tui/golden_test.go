package tui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// keyMsg turns a key name into the message the terminal would produce.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	r := []rune(s)
	if len(r) != 1 {
		panic("keyMsg: unknown key " + s)
	}
	return tea.KeyPressMsg{Code: r[0], Text: s}
}

// runProgram runs the model in a real Bubble Tea program (teatest) at
// w x h, sends the scenario's backend events, waits until every test icon
// has been drawn on the terminal (its colour appears in the output), then
// sends keys and returns the settled final model.
func runProgram(t *testing.T, w, h int, opts Options, keys ...string) Model {
	t.Helper()
	if opts.Environ == nil {
		opts.Environ = []string{}
	}
	if opts.ArtMode == "" {
		opts.ArtMode = "halfblock" // the golden screens pin half-block icons
	}
	tm := teatest.NewTestModel(t, New(nil, opts),
		teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.TrueColor)))
	for _, ev := range scenario() {
		tm.Send(ev)
	}
	// The icons of the rows on screen are thumbnailed and rendered in
	// commands; wait until each one's colour reached the terminal: the
	// first colour of its art at the row size the window shows.
	want := len(iconColours)
	if initialMode(opts) != art.HalfBlock {
		t.Fatal("runProgram waits for truecolour half-block icons; use drive for other modes")
	}
	rows := drive(t, New(nil, opts), tea.WindowSizeMsg{Width: w, Height: h}).list.rowHeight
	colours := make([]string, want)
	for i, c := range iconColours[:want] {
		r := rows
		if i == len(iconColours)-1 { // mine, in the header
			r = headerIconRows
		}
		a := art.Render(account.Thumbnail(testIcon(c, 64)), 2*r, r, art.HalfBlock)
		colours[i] = sgrColour.FindString(a)
	}
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		for _, c := range colours {
			if !strings.Contains(string(out), c) {
				return false
			}
		}
		return strings.Contains(string(out), "Alice")
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	return settle(t, m)
}

// settle completes the art commands that were still running when the
// program quit (the last keys may have asked for a new size of icon), so
// the golden is the model's settled state, independent of timing.
func settle(t *testing.T, m Model) Model {
	t.Helper()
	clear(m.arts.inflight)
	return drive(t, m, tea.WindowSizeMsg{Width: m.c.width, Height: m.c.height})
}

// sgrColour finds a truecolour in a styled string.
var sgrColour = regexp.MustCompile(`2;[0-9]+;[0-9]+;[0-9]+`)

// requireGolden compares the settled view, without escape sequences, with
// testdata/<test name>.golden (go test -update rewrites it), and checks
// the frame: exactly h lines, none wider than w.
func requireGolden(t *testing.T, m Model, w, h int) {
	t.Helper()
	view := ansi.Strip(m.View().Content)
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells wide, terminal is %d: %q", i, lw, w, l)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

func TestGoldenBuddyList80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{})
	requireGolden(t, m, 80, 24)
}

func TestGoldenBuddyList120x40(t *testing.T) {
	m := runProgram(t, 120, 40, Options{})
	requireGolden(t, m, 120, 40)
}

func TestGoldenNarrowDetailToggled80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{}, "down", "down", "down", "tab")
	requireGolden(t, m, 80, 24)
}

func TestGoldenFilter80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{}, "/", "B", "o", "space", "t", "e", "s", "t")
	requireGolden(t, m, 80, 24)
}

func TestGoldenStatusMenu80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{}, "s", "down", "down")
	requireGolden(t, m, 80, 24)
}

func TestGoldenAddBuddyInvalid80x24(t *testing.T) {
	keys := []string{"a"}
	for _, r := range "bob@" {
		keys = append(keys, string(r))
	}
	keys = append(keys, "tab")
	for _, r := range "Bob" {
		keys = append(keys, string(r))
	}
	keys = append(keys, "enter")
	m := runProgram(t, 80, 24, Options{}, keys...)
	requireGolden(t, m, 80, 24)
}

func TestGoldenWatchers120x40(t *testing.T) {
	m := runProgram(t, 120, 40, Options{}, "w")
	requireGolden(t, m, 120, 40)
}

func TestGoldenHelp80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{}, "?")
	requireGolden(t, m, 80, 24)
}

// TestGoldenPlainNoColor120x40 drives the model synchronously (every
// command run to completion), because plain art has no colour to wait for.
func TestGoldenPlainNoColor120x40(t *testing.T) {
	m := New(nil, Options{Environ: []string{"TERM=xterm", "NO_COLOR=1"}})
	if m.c.mode != art.Plain {
		t.Fatalf("NO_COLOR: mode %s, want plain", m.c.mode)
	}
	msgs := []tea.Msg{tea.WindowSizeMsg{Width: 120, Height: 40}}
	for _, ev := range scenario() {
		msgs = append(msgs, ev)
	}
	msgs = append(msgs, account.LogEvent{Time: testTime, Kind: account.LogSIPOut, Text: "SUBSCRIBE sip:alice@example.test SIP/2.0\r\nVia: x\r\n"},
		account.LogEvent{Time: testTime, Kind: account.LogSIPIn, Text: "SIP/2.0 200 OK"},
		account.LogEvent{Time: testTime, Kind: account.LogWarn, Text: "icon fetch failed \x1b[31mred"},
		keyMsg("D"))
	m = drive(t, m, msgs...)
	requireGolden(t, m, 120, 40)
	if m.arts.arts.Len() == 0 {
		t.Fatal("no icon art was rendered")
	}
	for _, k := range m.arts.arts.Keys() {
		a, _ := m.arts.arts.Peek(k)
		if k.mode != art.Plain || strings.Contains(a, "\x1b") {
			t.Errorf("art %v in plain mode has escapes or the wrong mode: %q", k, a)
		}
	}
}

// At 60x20 the list keeps the screen: the detail pane stays hidden even
// when asked for (tab), so seven buddies remain instead of two.
func TestGoldenSmallDetailRefused60x20(t *testing.T) {
	m := runProgram(t, 60, 20, Options{}, "tab")
	requireGolden(t, m, 60, 20)
	if m.layout().detailW != 0 {
		t.Errorf("detail pane shown at 60x20: %+v", m.layout())
	}
	if n := m.list.rowsOnScreen(m.layout().listRows); n < 6 {
		t.Errorf("%d buddies on screen at 60x20, want at least 6", n)
	}
}

// The help at 60 columns drops its right-hand columns: add, remove and
// quit come first, so they are the ones kept; the log file is named.
func TestGoldenHelp60x20(t *testing.T) {
	m := runProgram(t, 60, 20, Options{LogPath: "/home/mia/.cache/sipbuddy/sipbuddy.log"}, "?")
	requireGolden(t, m, 60, 20)
	screen := ansi.Strip(m.View().Content)
	for _, want := range []string{"add buddy", "remove buddy", "quit", "status", "sipbuddy.log"} {
		if !strings.Contains(screen, want) {
			t.Errorf("help at 60x20 lacks %q:\n%s", want, screen)
		}
	}
}
