package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

func TestStatusLabels(t *testing.T) {
	cases := []struct {
		st   pidf.State
		want string
	}{
		{pidf.State{Basic: pidf.BasicOpen}, "Available"},
		{pidf.State{Basic: pidf.BasicOpen, Activities: []string{"away"}}, "Away"},
		{pidf.State{Basic: pidf.BasicOpen, Activities: []string{"busy"}}, "Busy"},
		{pidf.State{Basic: pidf.BasicOpen, Activities: []string{"on-the-phone"}}, "On the phone"},
		{pidf.State{Basic: pidf.BasicOpen, Activities: []string{"meeting"}}, "In a meeting"},
		{pidf.State{Basic: pidf.BasicClosed}, "Offline"},
		{pidf.State{}, "Unknown"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		a := c.st.Availability()
		if got := StatusLabel(a); got != c.want {
			t.Errorf("StatusLabel(%v) = %q, want %q", c.st, got, c.want)
		}
		// Every symbol + label fits the fixed status column.
		if w := ansi.StringWidth(StatusSymbol(a) + " " + StatusLabel(a)); w > statusWidth {
			t.Errorf("%q is %d cells, the status column is %d", StatusLabel(a), w, statusWidth)
		}
		seen[StatusSymbol(a)+StatusLabel(a)] = true
	}
	if len(seen) != len(cases) {
		t.Errorf("statuses are not all distinct: %v", seen)
	}
}

func TestSelfStatusMenuRoundTrip(t *testing.T) {
	for i, c := range statusChoices {
		var acts []string
		if c.Activity != "" {
			acts = []string{c.Activity}
		}
		if got := selfChoice(c.Open, acts); got != i {
			t.Errorf("selfChoice(%v, %v) = %d, want %d", c.Open, acts, got, i)
		}
		if c.Open && c.Label != StatusLabel(selfAvailability(c.Open, acts)) {
			t.Errorf("menu label %q differs from the list's %q", c.Label, StatusLabel(selfAvailability(c.Open, acts)))
		}
	}
}

func listWith(t *testing.T, events ...account.Event) Model {
	t.Helper()
	msgs := []tea.Msg{tea.WindowSizeMsg{Width: 80, Height: 24}}
	for _, e := range events {
		msgs = append(msgs, e)
	}
	return drive(t, newTestModel(Options{}), msgs...)
}

func names(m Model) []string {
	var out []string
	for _, b := range m.list.visible {
		out = append(out, b.name)
	}
	return out
}

func TestSortByAvailabilityThenName(t *testing.T) {
	ev := []account.Event{account.BuddiesEvent{Buddies: []account.Buddy{
		{URI: "sip:zed@x.test", DisplayName: "zed"},
		{URI: "sip:amy@x.test", DisplayName: "Amy"},
		{URI: "sip:bea@x.test", DisplayName: "bea"},
		{URI: "sip:cal@x.test", DisplayName: "Cal"},
		{URI: "sip:dan@x.test"}, // no display name: the user part
		{URI: "sip:eve@x.test", DisplayName: "Eve"},
	}}}
	pres := func(uri string, basic pidf.Basic, acts ...string) account.Event {
		return account.PresenceEvent{URI: uri, State: pidf.State{Basic: basic, Activities: acts}}
	}
	ev = append(ev,
		pres("sip:zed@x.test", pidf.BasicOpen),
		pres("sip:amy@x.test", pidf.BasicClosed),
		pres("sip:bea@x.test", pidf.BasicOpen),
		pres("sip:cal@x.test", pidf.BasicOpen, "away"),
		pres("sip:eve@x.test", pidf.BasicOpen, "on-the-phone"),
	)
	m := listWith(t, ev...)
	want := []string{"bea", "zed", "Cal", "Eve", "Amy", "dan"}
	if got := names(m); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}

	// The cursor stays on its buddy when a status change moves it.
	m = drive(t, m, keyMsg("g"), keyMsg("down")) // zed
	if b := m.list.selected(); b == nil || b.name != "zed" {
		t.Fatalf("selected %v, want zed", b)
	}
	m = drive(t, m, pres("sip:zed@x.test", pidf.BasicClosed))
	if b := m.list.selected(); b == nil || b.name != "zed" {
		t.Fatalf("after zed went offline, selected %v, want zed", b)
	}
	want = []string{"bea", "Cal", "Eve", "Amy", "zed", "dan"} // offline before unknown
	if got := names(m); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestFilterEveryWordMatchesNameOrURI(t *testing.T) {
	m := listWith(t, scenario()...)
	typeText := func(m Model, s string) Model {
		msgs := []tea.Msg{keyMsg("/")}
		for _, r := range s {
			if r == ' ' {
				msgs = append(msgs, keyMsg("space"))
			} else {
				msgs = append(msgs, keyMsg(string(r)))
			}
		}
		// Enter leaves the input (no cursor blink to run) and keeps the
		// filter.
		return drive(t, m, append(msgs, keyMsg("enter"))...)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{"bo", []string{"Bob Builder", "Dave Bowman"}},
		{"BO EXAMPLE", []string{"Bob Builder", "Dave Bowman"}},
		{"bob builder", []string{"Bob Builder"}},
		{"heidi", []string{"heidi"}},
		{"example.test alice", []string{"Alice Liddell"}},
		{"nobody", nil},
	}
	for _, c := range cases {
		got := names(typeText(m, c.filter))
		if !slices.Equal(got, c.want) {
			t.Errorf("filter %q = %v, want %v", c.filter, got, c.want)
		}
	}
	// Esc clears it.
	f := typeText(m, "bob")
	f = drive(t, f, keyMsg("esc"))
	if len(f.list.visible) != 8 {
		t.Errorf("after esc %d buddies visible, want 8", len(f.list.visible))
	}
	if !strings.Contains(plain(typeText(m, "nobody")), "No buddy matches the filter.") {
		t.Error("an empty filter result says nothing")
	}
}

// TestRowsAlignedAtEveryWidth checks that every line of the screen fits
// the terminal and that the status column starts at the same cell in every
// row, whatever the names, statuses and notes.
func TestRowsAlignedAtEveryWidth(t *testing.T) {
	ev := scenario()
	ev = append(ev, account.BuddiesEvent{Buddies: []account.Buddy{
		{URI: "sip:alice@example.test", DisplayName: "Alice Liddell"},
		{URI: "sip:long@example.test", DisplayName: strings.Repeat("Wolfeschlegelsteinhausenberger", 3)},
		{URI: "sip:wide@example.test", DisplayName: "山田太郎 😀"},
		{URI: "sip:esc@example.test", DisplayName: "evil\x1b[2J\x1b]0;pwned\x07name"},
	}})
	ev = append(ev, account.PresenceEvent{URI: "sip:wide@example.test", State: pidf.State{Basic: pidf.BasicOpen, Note: "会議中です、後で電話します。とても長いメモです。"}})
	for _, size := range [][2]int{{40, 12}, {60, 20}, {80, 24}, {100, 30}, {120, 40}, {200, 60}} {
		w, h := size[0], size[1]
		msgs := []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}}
		for _, e := range ev {
			msgs = append(msgs, e)
		}
		m := drive(t, newTestModel(Options{}), msgs...)
		view := plain(m)
		lines := strings.Split(view, "\n")
		if len(lines) != h {
			t.Errorf("%dx%d: %d lines", w, h, len(lines))
		}
		for i, l := range lines {
			if lw := ansi.StringWidth(l); lw > w {
				t.Errorf("%dx%d: line %d is %d cells: %q", w, h, i, lw, l)
			}
		}
		if strings.Contains(m.View().Content, "\x1b[2J") || strings.Contains(m.View().Content, "pwned\x07") {
			t.Errorf("%dx%d: a display name's escape sequence reached the screen", w, h)
		}
		// Status column: every row's status symbol is at the same cell.
		lay := m.list.layout(m.layout().listW)
		want := cursorW + lay.iconCols + iconGap + lay.nameW + colGap
		rows := 0
		for i, l := range lines[headerHeight : headerHeight+m.layout().listH] {
			l = ansi.Truncate(l, m.layout().listW, "")
			for _, label := range []string{" Available", " Away", " On the phone", " In a meeting", " Offline", " Unknown"} {
				idx := strings.Index(l, label)
				if idx < 0 {
					continue
				}
				rows++
				if got := ansi.StringWidth(l[:idx]) - 1; got != want {
					t.Errorf("%dx%d: line %d: status at cell %d, want %d: %q", w, h, i+headerHeight, got, want, l)
				}
			}
		}
		if rows == 0 && h >= 12 {
			t.Errorf("%dx%d: no status on screen", w, h)
		}
	}
}

func TestNarrowTerminalDoesNotPanic(t *testing.T) {
	for w := 1; w <= 30; w += 3 {
		for h := 1; h <= 12; h += 2 {
			msgs := []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}}
			for _, e := range scenario() {
				msgs = append(msgs, e)
			}
			m := drive(t, newTestModel(Options{}), msgs...)
			for _, k := range []string{"tab", "D", "?", "s"} {
				m = drive(t, m, keyMsg(k))
				for i, l := range strings.Split(plain(m), "\n") {
					if lw := ansi.StringWidth(l); lw > w {
						t.Fatalf("%dx%d after %s: line %d is %d cells", w, h, k, i, lw)
					}
				}
			}
		}
	}
}

func TestScrollKeepsCursorVisible(t *testing.T) {
	var buddies []account.Buddy
	for i := range 50 {
		buddies = append(buddies, account.Buddy{URI: fmt.Sprintf("sip:u%02d@x.test", i)})
	}
	m := listWith(t, account.BuddiesEvent{Buddies: buddies})
	rows := m.list.rowsOnScreen(m.layout().listRows)
	for range 30 {
		m = drive(t, m, keyMsg("down"))
	}
	if m.list.cursor != 30 || m.list.offset != 30-rows+1 {
		t.Fatalf("cursor %d offset %d (rows %d)", m.list.cursor, m.list.offset, rows)
	}
	if !strings.Contains(plain(m), "sip:u30@x.test") {
		t.Error("the selected buddy is not on screen")
	}
	m = drive(t, m, keyMsg("G"))
	if m.list.cursor != 49 {
		t.Errorf("G: cursor %d", m.list.cursor)
	}
}

func TestArtModeCycles(t *testing.T) {
	m := listWith(t, scenario()...)
	var modes []string
	for range 4 {
		m = drive(t, m, keyMsg("m"))
		modes = append(modes, modeLabel(m.c.mode))
	}
	if want := []string{"half-block", "ASCII", "plain", "symbols"}; !slices.Equal(modes, want) {
		t.Errorf("modes %v, want %v", modes, want)
	}
}

func TestRequestsWithoutBackendSayNotConnected(t *testing.T) {
	m := listWith(t, scenario()...)
	m = drive(t, m, keyMsg("s"), keyMsg("3"))
	if m.dialogs.open() || !strings.Contains(m.statusText, "not connected") {
		t.Errorf("dialog %T, status %q", m.dialogs.top(), m.statusText)
	}
}

func TestDebugRingIsBounded(t *testing.T) {
	r := newRing(3)
	for i := range 10 {
		r.push(account.LogEvent{Text: fmt.Sprint(i)})
	}
	var got []string
	for _, e := range r.last(5) {
		got = append(got, e.Text)
	}
	if want := []string{"7", "8", "9"}; !slices.Equal(got, want) {
		t.Errorf("ring = %v, want %v", got, want)
	}
}
