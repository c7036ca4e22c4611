package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// FuzzScreen feeds hostile names, notes, URIs and activities from the
// network into the model: every line must fit the terminal, and nothing
// from the input may reach the terminal as an escape sequence.
func FuzzScreen(f *testing.F) {
	f.Add("Alice", "sip:alice@example.test", "at lunch", "away", uint8(80), uint8(24))
	f.Add("\x1b[2J\x1b]0;x\x07", "sip:\x1b@x", "\u202eevil", "on-the-phone", uint8(40), uint8(10))
	f.Add("山田太郎😀", "sip:山田@例え.jp", "会議中\t\n\r", "meeting", uint8(120), uint8(40))
	f.Add("", "", "", "", uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, name, uri, note, activity string, w, h uint8) {
		width, height := int(w%200)+1, int(h%60)+1
		m := drive(t, newTestModel(Options{}),
			tea.WindowSizeMsg{Width: width, Height: height},
			account.BuddiesEvent{Buddies: []account.Buddy{{URI: uri, DisplayName: name}, {URI: "sip:b@x.test"}}},
			account.PresenceEvent{URI: uri, State: pidf.State{Basic: pidf.BasicOpen, Note: note, Activities: []string{activity}, DisplayName: name, IconURL: uri}},
			account.SubscriptionEvent{URI: uri, State: ua.Terminated, Reason: note},
			account.WatchersEvent{Watchers: []account.Watcher{{URI: uri, DisplayName: name, Status: "pending"}}},
			account.LogEvent{Text: note},
			keyMsg("D"), keyMsg("tab"),
		)
		for _, k := range []string{"", "w"} {
			if k != "" {
				m = drive(t, m, keyMsg(k))
			}
			content := m.View().Content
			lines := strings.Split(ansi.Strip(content), "\n")
			if len(lines) != height {
				t.Fatalf("%d lines, want %d", len(lines), height)
			}
			for i, l := range lines {
				if lw := ansi.StringWidth(l); lw > width {
					t.Fatalf("line %d is %d cells, terminal %d: %q", i, lw, width, l)
				}
			}
			for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\x07", "\r"} {
				if strings.Contains(content, bad) && !strings.Contains(name+uri+note+activity, "never") {
					t.Fatalf("input escape %q reached the terminal", bad)
				}
			}
		}
	})
}
