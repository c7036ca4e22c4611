package tui

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// groupedList is a buddy list with groups as Blink keeps them: Friends
// and Work, Dave in both, and the default group.
func groupedList() account.BuddiesEvent {
	return account.BuddiesEvent{
		Groups: []account.Group{{Name: "Friends", DisplayName: "Friends"}, {Name: "Work", DisplayName: "Work"}, {Name: "buddies", DisplayName: "buddies"}},
		Buddies: []account.Buddy{
			{URI: "sip:alice@example.test", DisplayName: "Alice Liddell", Groups: []string{"Friends"}},
			{URI: "sip:bob@example.test", DisplayName: "Bob Builder", Groups: []string{"Friends"}},
			{URI: "sip:carol@example.test", DisplayName: "Carol Danvers", Groups: []string{"Work"}},
			{URI: "sip:dave@example.test", DisplayName: "Dave Bowman", Groups: []string{"Friends", "Work"}},
			{URI: "sip:erin@example.test", DisplayName: "Erin Brockovich", Groups: []string{"Work"}},
			{URI: "sip:frank@example.test", DisplayName: "Frank Poole", Groups: []string{"buddies"}},
		},
	}
}

// groupedModel is a model at w x h showing groupedList with presence.
func groupedModel(t *testing.T, w, h int, o Options) Model {
	t.Helper()
	o.ArtMode = "plain"
	m := newTestModel(o)
	pres := func(uri string, basic pidf.Basic, note string, acts ...string) tea.Msg {
		return account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Basic: basic, Note: note, Activities: acts}}
	}
	return drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, groupedList(),
		pres("sip:alice@example.test", pidf.BasicOpen, "Down the rabbit hole"),
		pres("sip:bob@example.test", pidf.BasicOpen, "Lunch", "away"),
		pres("sip:carol@example.test", pidf.BasicOpen, "", "on-the-phone"),
		pres("sip:dave@example.test", pidf.BasicOpen, "", "meeting"),
		pres("sip:erin@example.test", pidf.BasicClosed, ""),
		pres("sip:frank@example.test", pidf.BasicOpen, "Fixing the antenna"),
	)
}

// rowsSaid returns the list as "header" and "  name" lines, in order:
// what the list shows, without the icons and columns.
func rowsSaid(m *Model) []string {
	var out []string
	for _, r := range m.list.rows {
		if r.b == nil {
			g, _ := m.list.group(r.group)
			out = append(out, g.label)
			continue
		}
		out = append(out, "  "+r.b.name)
	}
	return out
}

func press(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	msgs := make([]tea.Msg, len(keys))
	for i, k := range keys {
		msgs[i] = keyMsg(k)
	}
	return drive(t, m, msgs...)
}

// TestGoldenGroups80x24 shows the groups as headers with their counts, a
// buddy in two groups under each, each group sorted on its own.
func TestGoldenGroups80x24(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	want := []string{"Friends", "  Alice Liddell", "  Bob Builder", "  Dave Bowman",
		"Work", "  Carol Danvers", "  Dave Bowman", "  Erin Brockovich", "buddies", "  Frank Poole"}
	if got := rowsSaid(&m); !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	screen := plain(m)
	for _, s := range []string{"▾ Friends (3/3)", "▾ Work (2/3)", "▾ buddies (1/1)"} {
		if !strings.Contains(screen, s) {
			t.Errorf("no %q on screen:\n%s", s, screen)
		}
	}
	requireGolden(t, m, 80, 24)
}

// TestGroupsFold folds with enter on a header and with ← on a buddy (the
// cursor goes to the header), unfolds with →, and the filter finds
// buddies in folded groups.
func TestGroupsFold(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	m = press(t, m, "enter") // on the Friends header
	if got := rowsSaid(&m); got[1] != "Work" {
		t.Fatalf("Friends not folded: %q", got)
	}
	if !strings.Contains(plain(m), "▸ Friends (3/3)") {
		t.Errorf("folded header not shown:\n%s", plain(m))
	}
	m = press(t, m, "down", "down") // Work, Carol
	if sel := m.list.selected(); sel == nil || sel.URI != "sip:carol@example.test" {
		t.Fatalf("selected %v", sel)
	}
	m = press(t, m, "h")
	if r, _ := m.list.selectedRow(); r.b != nil || r.group != "Work" {
		t.Errorf("after ← the cursor is on %+v, want Work's header", r)
	}
	if got := rowsSaid(&m); !slices.Equal(got, []string{"Friends", "Work", "buddies", "  Frank Poole"}) {
		t.Errorf("rows %q", got)
	}
	requireGolden(t, m, 80, 24)

	// The filter looks into folded groups, and shows only groups with a
	// match.
	m = press(t, m, "/", "d", "a", "v", "e")
	if got := rowsSaid(&m); !slices.Equal(got, []string{"Friends", "  Dave Bowman", "Work", "  Dave Bowman"}) {
		t.Errorf("filtered rows %q", got)
	}
	m = press(t, m, "esc")
	if got := rowsSaid(&m); !slices.Equal(got, []string{"Friends", "Work", "buddies", "  Frank Poole"}) {
		t.Errorf("folds lost after the filter: %q", got)
	}
	m = press(t, m, "g", "down", "l") // Work's header, unfold
	if got := rowsSaid(&m); len(got) != 7 || got[2] != "  Carol Danvers" {
		t.Errorf("Work not unfolded: %q", got)
	}
}

// dialogIntent presses keys in the open dialog and returns the intent it
// sends.
func dialogIntent(t *testing.T, m *Model, keys ...string) tea.Msg {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		cmd = m.dialogs.update(keyMsg(k))
	}
	if cmd == nil {
		t.Fatal("the dialog sent nothing")
	}
	return cmd()
}

// TestGroupsMoveAndRename opens the move and rename dialogs, checks the
// edits they ask the account for, and, once the list comes back changed,
// that the cursor followed the moved buddy.
func TestGroupsMoveAndRename(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	m = press(t, m, "down", "down", "M") // Bob in Friends
	if _, ok := m.dialogs.top().(groupPicker); !ok {
		t.Fatal("M did not open the group picker")
	}
	if !strings.Contains(plain(m), "Move Bob Builder to:") {
		t.Errorf("picker:\n%s", plain(m))
	}
	got := dialogIntent(t, &m, "down", "enter")
	want := groupEditMsg{kind: moveBuddyEdit, group: "Work", uri: "sip:bob@example.test", label: "Bob Builder"}
	if got != want {
		t.Errorf("move asks %+v, want %+v", got, want)
	}
	// c puts him in the group under the picker's cursor too.
	m = drive(t, m, closeDialogMsg{})
	m = press(t, m, "M")
	if got := dialogIntent(t, &m, "down", "c"); got != (groupEditMsg{kind: copyBuddyEdit, group: "Work", uri: "sip:bob@example.test", label: "Bob Builder"}) {
		t.Errorf("copy asks %+v", got)
	}
	m = drive(t, m, closeDialogMsg{})
	m = press(t, m, "M")
	if got := dialogIntent(t, &m, "c"); got != (closeDialogMsg{}) {
		t.Errorf("copy into a group he is in asks %+v", got)
	}
	m = drive(t, m, closeDialogMsg{})
	got = groupEditMsg{kind: moveBuddyEdit, group: "Work", uri: "sip:bob@example.test", label: "Bob Builder"}
	// Without an account the request fails in words.
	m = drive(t, m, got)
	if m.dialogs.open() || !strings.Contains(m.statusText, "Could not move Bob Builder: not connected") {
		t.Errorf("status %q", m.statusText)
	}
	// The account answers with the list changed: Bob now in Work, the
	// cursor still on him.
	ev := groupedList()
	ev.Buddies[1].Groups = []string{"Work"}
	m = drive(t, m, ev)
	if r, _ := m.list.selectedRow(); r.b == nil || r.b.URI != "sip:bob@example.test" || r.group != "Work" {
		t.Errorf("cursor on %+v after the move, want Bob in Work", r)
	}
	requireGolden(t, m, 80, 24)

	// e on a buddy renames the buddy, on a header the group.
	m = press(t, m, "e")
	if !strings.Contains(plain(m), "Rename Bob Builder") {
		t.Fatalf("rename dialog:\n%s", plain(m))
	}
	keys := []string{}
	for range len("Bob Builder") {
		keys = append(keys, "backspace")
	}
	got = dialogIntent(t, &m, append(keys, "B", "o", "b", "enter")...)
	if want := (groupEditMsg{kind: renameBuddyEdit, uri: "sip:bob@example.test", label: "Bob Builder", text: "Bob"}); got != want {
		t.Errorf("rename asks %+v, want %+v", got, want)
	}
	m = drive(t, m, closeDialogMsg{})
	m = press(t, m, "g", "e")
	got = dialogIntent(t, &m, "space", "2", "enter")
	if want := (groupEditMsg{kind: renameGroupEdit, group: "Friends", label: "Friends", text: "Friends 2"}); got != want {
		t.Errorf("group rename asks %+v, want %+v", got, want)
	}
	m = drive(t, m, closeDialogMsg{})

	// N asks for a new group; an empty name is refused in the dialog.
	m = press(t, m, "N")
	m.dialogs.update(keyMsg("enter"))
	if !strings.Contains(plain(m), "Type a name first") {
		t.Errorf("empty group name not refused:\n%s", plain(m))
	}
	got = dialogIntent(t, &m, "F", "a", "m", "enter")
	if want := (groupEditMsg{kind: addGroupEdit, text: "Fam"}); got != want {
		t.Errorf("new group asks %+v, want %+v", got, want)
	}
	m = drive(t, m, closeDialogMsg{})

	// a adds to the group under the cursor, and says which.
	m = press(t, m, "g", "down", "down", "down", "down", "a") // Bob in Work
	if !strings.Contains(plain(m), "Group: Work") {
		t.Errorf("add form does not say the group:\n%s", plain(m))
	}
	got = dialogIntent(t, &m, "z", "@", "x", ".", "t", "e", "s", "t", "tab", "Z", "enter")
	if want := (submitAddMsg{uri: "sip:z@x.test", name: "Z", group: "Work"}); got != want {
		t.Errorf("add asks %+v, want %+v", got, want)
	}
	m = drive(t, m, got)
	if !strings.Contains(m.statusText, "Could not add sip:z@x.test to Work") {
		t.Errorf("status %q", m.statusText)
	}

	// x on a header asks what becomes of the group's buddies.
	m = press(t, m, "g", "x")
	if !strings.Contains(plain(m), "Delete the group Friends? Its 2 buddies") {
		t.Errorf("delete dialog:\n%s", plain(m))
	}
	if got := dialogIntent(t, &m, "d"); got != (groupEditMsg{kind: deleteGroupEdit, group: "Friends", label: "Friends", withBuddies: true}) {
		t.Errorf("delete asks %+v", got)
	}
}

// TestFlatListWithoutGroups: a list with only the default group has no
// headers, as before groups existed.
func TestFlatListWithoutGroups(t *testing.T) {
	m := drive(t, newTestModel(Options{ArtMode: "plain"}), tea.WindowSizeMsg{Width: 80, Height: 24}, account.BuddiesEvent{
		Groups:  []account.Group{{Name: "buddies", DisplayName: "buddies"}},
		Buddies: []account.Buddy{{URI: "sip:a@example.test", Groups: []string{"buddies"}}, {URI: "sip:b@example.test", Groups: []string{"buddies"}}},
	})
	if got := rowsSaid(&m); !slices.Equal(got, []string{"  a", "  b"}) {
		t.Errorf("rows %q", got)
	}
}

// screenLine returns the line of the screen that shows text, or -1.
func screenLine(m Model, text string) int {
	for i, l := range strings.Split(plain(m), "\n") {
		if strings.Contains(l, text) {
			return i
		}
	}
	return -1
}

// TestStatusChangeKeepsTheCursor: buddies changing status re-sort the
// rows above the selected one, which stays selected, on the same line of
// the screen; the changes are highlighted and said in the status bar.
func TestStatusChangeKeepsTheCursor(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	m = press(t, m, "down", "down", "down", "down", "down", "down", "down") // Erin (offline) in Work
	sel := m.list.selected()
	if sel == nil || sel.URI != "sip:erin@example.test" {
		t.Fatalf("selected %v", sel)
	}
	line := screenLine(m, "sip:erin@example.test")
	// Alice goes offline and sorts last in Friends; Dave comes out of
	// his meeting and sorts first in Work, above Carol: one batch.
	m = drive(t, m, eventsMsg{evs: []account.Event{
		account.PresenceEvent{URI: "sip:alice@example.test", At: testTime, State: pidf.State{Basic: pidf.BasicClosed}},
		account.PresenceEvent{URI: "sip:dave@example.test", At: testTime, State: pidf.State{Basic: pidf.BasicOpen}},
	}})
	want := []string{"Friends", "  Dave Bowman", "  Bob Builder", "  Alice Liddell",
		"Work", "  Dave Bowman", "  Carol Danvers", "  Erin Brockovich", "buddies", "  Frank Poole"}
	if got := rowsSaid(&m); !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	if sel := m.list.selected(); sel == nil || sel.URI != "sip:erin@example.test" {
		t.Fatalf("the cursor left Erin: %v", sel)
	}
	if got := screenLine(m, "sip:erin@example.test"); got != line {
		t.Errorf("Erin's row moved from line %d to %d under the cursor", line, got)
	}
	if m.statusText != "Dave Bowman is now Available (and 1 more change)" {
		t.Errorf("status bar %q", m.statusText)
	}
	if !strings.Contains(plain(m), "Dave Bowman is now Available (and 1 more change)") {
		t.Errorf("status bar not on screen:\n%s", plain(m))
	}
	dave := m.list.get("sip:dave@example.test", false)
	if !m.list.highlighted(dave) || m.list.highlighted(m.list.get("sip:erin@example.test", false)) {
		t.Error("highlight on the wrong rows")
	}
	requireGolden(t, m, 80, 24)
	m.c.now = func() time.Time { return testTime.Add(HighlightFor) }
	if m.list.highlighted(dave) {
		t.Error("highlight did not end")
	}
}

// TestStatusChangeKeepsSelectedOnScreen: in a list longer than the
// screen, the selected buddy moving up or down in the order stays
// selected on its line (the list scrolls around it), and one moving
// beyond the top stays on screen.
func TestStatusChangeKeepsSelectedOnScreen(t *testing.T) {
	var ev account.BuddiesEvent
	ev.Groups = []account.Group{{Name: "Friends", DisplayName: "Friends"}, {Name: "buddies", DisplayName: "buddies"}}
	var open []tea.Msg
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		uri := "sip:" + n + "@example.test"
		ev.Buddies = append(ev.Buddies, account.Buddy{URI: uri, Groups: []string{"Friends"}})
		open = append(open, account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Basic: pidf.BasicOpen}})
	}
	pres := func(n string, basic pidf.Basic, acts ...string) tea.Msg {
		return account.PresenceEvent{URI: "sip:" + n + "@example.test", At: testTime, State: pidf.State{Basic: basic, Activities: acts}}
	}
	m := drive(t, newTestModel(Options{ArtMode: "plain"}), append([]tea.Msg{tea.WindowSizeMsg{Width: 80, Height: 16}, ev}, open...)...)
	m = press(t, m, "G", "up", "up") // k, near the bottom of the screen (the empty default group is last)
	sel := "sip:k@example.test"
	line := screenLine(m, sel)
	if line < 0 || m.list.offset == 0 {
		t.Fatalf("k not on a scrolled screen (offset %d):\n%s", m.list.offset, plain(m))
	}
	check := func(what string, wantLine int) {
		t.Helper()
		if s := m.list.selected(); s == nil || s.URI != sel {
			t.Fatalf("%s: the cursor left k: %v", what, s)
		}
		if got := screenLine(m, sel); got != wantLine {
			t.Errorf("%s: k's row moved from line %d to %d\n%s", what, wantLine, got, plain(m))
		}
	}
	// Two buddies above k go offline and sort below it: k moves up two
	// rows in the list, and stays on its line.
	m = drive(t, m, pres("a", pidf.BasicClosed), pres("b", pidf.BasicClosed))
	check("rows above left", line)
	// k goes away: it sorts after every available buddy (down one row),
	// still on its line.
	m = drive(t, m, pres("k", pidf.BasicOpen, "away"))
	check("k moved down", line)
	// k comes back and sorts first, above the top of the screen: it
	// stays selected and on screen.
	m = press(t, m, "down", "down", "up", "up")
	m = drive(t, m, pres("c", pidf.BasicClosed), pres("k", pidf.BasicOpen), pres("b", pidf.BasicOpen))
	if s := m.list.selected(); s == nil || s.URI != sel || screenLine(m, sel) < 0 {
		t.Errorf("k lost after sorting first: %v\n%s", s, plain(m))
	}
}

// TestNotifySetting: the terminal is sent BEL or an OSC notification only
// when the user asked for it, with safe text.
func TestNotifySetting(t *testing.T) {
	for _, c := range []struct {
		mode, want string
	}{
		{NotifyOff, ""},
		{NotifyBell, "\a"},
		{NotifyOSC9, "\x1b]9;Bob is now Away\x1b\\"},
		{NotifyOSC777, "\x1b]777;notify;sipbuddy;Bob is now Away\x1b\\"},
	} {
		m := groupedModel(t, 80, 24, Options{Notify: c.mode})
		_, cmd := m.Update(account.PresenceEvent{URI: "sip:alice@example.test", At: testTime, State: pidf.State{Basic: pidf.BasicOpen, Activities: []string{"away"}}})
		var raw []string
		var walk func(msg tea.Msg)
		walk = func(msg tea.Msg) {
			switch msg := msg.(type) {
			case tea.BatchMsg:
				for _, c := range msg {
					if c != nil {
						walk(c())
					}
				}
			case tea.RawMsg:
				raw = append(raw, msg.Msg.(string))
			}
		}
		if cmd != nil {
			walk(cmd())
		}
		want := strings.ReplaceAll(c.want, "Bob", "Alice Liddell")
		if (want == "" && len(raw) != 0) || (want != "" && !slices.Equal(raw, []string{want})) {
			t.Errorf("%q: sent %q, want %q", c.mode, raw, want)
		}
	}
	if got := notifySequence(NotifyOSC777, "a;b\x1b]0;evil\x07", false); strings.Count(got, "\x1b") != 2 || strings.Contains(got, "\a") || strings.Count(got, ";") != 3 {
		t.Errorf("hostile text: %q", got)
	}
	// Inside tmux the notification goes through its passthrough; BEL
	// stays tmux's own.
	m := groupedModel(t, 80, 24, Options{Notify: NotifyOSC9, Environ: []string{"TMUX=/tmp/tmux-0/default,1,0"}})
	if got := notifySequence(NotifyOSC9, "hi", true); got != "\x1bPtmux;\x1b\x1b]9;hi\x1b\x1b\\\x1b\\" {
		t.Errorf("through tmux: %q", got)
	}
	if got := notifySequence(NotifyBell, "hi", true); got != "\a" {
		t.Errorf("bell through tmux: %q", got)
	}
	if v, ok := environLookup(m.opts.Environ)("TMUX"); !ok || v == "" {
		t.Error("TMUX not found in the environment")
	}
}

// TestNoticesKeepTheUsersMessages: a status change does not hide the
// outcome of the user's own request; once it has expired, changes are
// said again, each replacing the one before.
func TestNoticesKeepTheUsersMessages(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	change := func(uri string, acts ...string) {
		t.Helper()
		m = drive(t, m, account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Basic: pidf.BasicOpen, Activities: acts}})
	}
	m.setStatus(statusOK, "✓ Group Fam added")
	change("sip:alice@example.test", "away")
	if m.statusText != "✓ Group Fam added" {
		t.Errorf("a notice replaced the request's outcome: %q", m.statusText)
	}
	m = drive(t, m, statusExpiredMsg{seq: m.statusSeq})
	change("sip:bob@example.test")
	if m.statusText != "Bob Builder is now Available" {
		t.Errorf("status bar %q after the outcome expired", m.statusText)
	}
	change("sip:carol@example.test", "busy")
	if m.statusText != "Carol Danvers is now Busy" {
		t.Errorf("status bar %q: the newer notice should replace the older", m.statusText)
	}
	// A note alone is no change of status.
	m = drive(t, m, statusExpiredMsg{seq: m.statusSeq})
	m = drive(t, m, account.PresenceEvent{URI: "sip:carol@example.test", At: testTime, State: pidf.State{Basic: pidf.BasicOpen, Activities: []string{"busy"}, Note: "deadline"}})
	if m.statusText != "" {
		t.Errorf("a new note was noticed: %q", m.statusText)
	}
}

// TestGroupDetail: with the cursor on a header, the detail pane is about
// the group; on a buddy, it names the buddy's groups.
func TestGroupDetail(t *testing.T) {
	m := groupedModel(t, 120, 40, Options{})
	screen := plain(m)
	for _, s := range []string{"3 buddies, 3 online", "unfolded", "enter fold or unfold • e rename"} {
		if !strings.Contains(screen, s) {
			t.Errorf("group detail lacks %q:\n%s", s, screen)
		}
	}
	m = press(t, m, "down", "down", "down") // Dave, in Friends and Work
	if !regexp.MustCompile(`Groups +Friends, Work`).MatchString(plain(m)) {
		t.Errorf("buddy detail does not name both groups:\n%s", plain(m))
	}
}

// TestGoldenGroupsProgram runs the grouped list in a real Bubble Tea
// program (teatest): enter folds Friends, down goes to Work's header, e
// opens the rename dialog with the group's name in it.
func TestGoldenGroupsProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, New(nil, Options{Environ: []string{}, ArtMode: "plain", SteadyCursor: true}),
		teatest.WithInitialTermSize(80, 24))
	tm.Send(groupedList())
	for _, uri := range []string{"sip:alice@example.test", "sip:carol@example.test"} {
		tm.Send(account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Basic: pidf.BasicOpen}})
	}
	waitOut := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return strings.Contains(string(out), what) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	waitOut("Work (1/3)")
	tm.Send(keyMsg("enter"))
	waitOut("▸") // the renderer writes only the changed cells
	tm.Send(keyMsg("down"))
	tm.Send(keyMsg("e"))
	waitOut("Rename group")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := settle(t, tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model))
	requireGolden(t, m, 80, 24)
}

func TestParseNotify(t *testing.T) {
	for in, want := range map[string]string{"": NotifyOff, "OSC9": NotifyOSC9, " bell ": NotifyBell, "osc777": NotifyOSC777} {
		if got, err := ParseNotify(in); err != nil || got != want {
			t.Errorf("ParseNotify(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseNotify("beep"); err == nil || err.Error() != `"beep" is not one of off, bell, osc9, osc777` {
		t.Errorf("beep: %v", err)
	}
}

// FuzzGroupedList drives a grouped list with a script of keys, presence
// changes, list changes and resizes: the frame always has the terminal's
// height, the cursor is on a row, and the selected row is drawn on
// screen whenever the list area can hold it.
func FuzzGroupedList(f *testing.F) {
	f.Add([]byte("jjjjGkkgl\x00h\x01jj\x02"), uint8(80), uint8(24))
	f.Add([]byte("G\x00\x00\x00\x00kkkkkk\x03\x01"), uint8(40), uint8(12))
	f.Add([]byte("\x02\x02jjj\x03hhhlll\x00G"), uint8(120), uint8(9))
	f.Fuzz(func(t *testing.T, script []byte, w, h uint8) {
		if len(script) > 64 {
			script = script[:64]
		}
		width, height := int(w%160)+20, int(h%40)+8
		m := groupedModel(t, width, height, Options{})
		uris := []string{"sip:alice@example.test", "sip:bob@example.test", "sip:carol@example.test", "sip:dave@example.test", "sip:erin@example.test", "sip:frank@example.test"}
		acts := [][]string{nil, {"away"}, {"busy"}, {"meeting"}}
		for i, c := range script {
			var msg tea.Msg
			switch c {
			case 0: // a presence change
				uri := uris[i%len(uris)]
				basic := pidf.BasicOpen
				if i%5 == 0 {
					basic = pidf.BasicClosed
				}
				msg = account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Basic: basic, Activities: acts[(i/2)%len(acts)]}}
			case 1: // the list changes: someone moves, someone leaves
				ev := groupedList()
				ev.Buddies[i%len(ev.Buddies)].Groups = []string{ev.Groups[i%len(ev.Groups)].Name}
				ev.Buddies = slices.Delete(ev.Buddies, (i+1)%len(ev.Buddies), (i+1)%len(ev.Buddies)+1)
				msg = ev
			case 2: // a resize
				width, height = 20+int(c)*int(i)%140, 8+i%30
				msg = tea.WindowSizeMsg{Width: width, Height: height}
			case 3: // the groups go: a flat list
				msg = account.BuddiesEvent{Buddies: groupedList().Buddies}
			default:
				k := map[byte]string{'j': "down", 'k': "up", 'g': "g", 'G': "G", 'h': "h", 'l': "l", '\n': "enter"}[c]
				if k == "" {
					continue
				}
				msg = keyMsg(k)
			}
			m = drive(t, m, msg)
			lines := strings.Split(plain(m), "\n")
			if len(lines) != height {
				t.Fatalf("step %d: %d lines, want %d", i, len(lines), height)
			}
			if len(m.list.rows) == 0 {
				continue
			}
			if m.list.cursor < 0 || m.list.cursor >= len(m.list.rows) || m.list.offset < 0 || m.list.offset > m.list.cursor {
				t.Fatalf("step %d: cursor %d offset %d of %d rows", i, m.list.cursor, m.list.offset, len(m.list.rows))
			}
			if rows := m.layout().listRows; m.list.linesBetween(m.list.offset, m.list.cursor+1) > rows && m.list.rowLines(m.list.cursor) <= rows {
				t.Fatalf("step %d: the selected row ends below the list area (%d lines)", i, rows)
			}
		}
	})
}

// TestCursorAfterListChanges: when the selected buddy leaves the list the
// cursor stays where it was (on the next buddy), and a group renamed
// under a new Name (an addressbook group) keeps the cursor on its header.
func TestCursorAfterListChanges(t *testing.T) {
	m := groupedModel(t, 80, 24, Options{})
	m = press(t, m, "down", "down") // Bob in Friends
	ev := groupedList()
	ev.Buddies = slices.Delete(ev.Buddies, 1, 2) // Bob removed
	m = drive(t, m, ev)
	if sel := m.list.selected(); sel == nil || sel.URI != "sip:dave@example.test" {
		t.Errorf("after Bob left the cursor is on %v, want Dave (the next row)", sel)
	}
	m = press(t, m, "down") // Work's header
	ev.Groups[1] = account.Group{Name: "Office", DisplayName: "Office"}
	for i := range ev.Buddies {
		for j, g := range ev.Buddies[i].Groups {
			if g == "Work" {
				ev.Buddies[i].Groups[j] = "Office"
			}
		}
	}
	m = drive(t, m, ev)
	if r, _ := m.list.selectedRow(); r.b != nil || r.group != "Office" {
		t.Errorf("after the rename the cursor is on %+v, want Office's header", r)
	}
}
