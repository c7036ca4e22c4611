package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// TestBidiAndZeroWidthNeverReachTheScreen: a buddy's display name and note
// come from the network; a right-to-left override in them would flip the
// rest of the row, a zero-width space make two names that look alike
// differ.
func TestBidiAndZeroWidthNeverReachTheScreen(t *testing.T) {
	const uri = "sip:mallory@example.test"
	m := drive(t, newTestModel(Options{}),
		tea.WindowSizeMsg{Width: 100, Height: 30},
		account.BuddiesEvent{Buddies: []account.Buddy{{URI: uri, DisplayName: "Mal\u200Blory\u202E"}}},
		account.PresenceEvent{URI: uri, State: pidf.State{Basic: pidf.BasicOpen, DisplayName: "Mal\u200Blory\u202E",
			Note: "lunch\u2066 until\u200D 3\uFEFF\u061C"}},
		keyMsg("D"),
	)
	content := m.View().Content
	for _, r := range []rune{0x202E, 0x2066, 0x200B, 0x200D, 0xFEFF, 0x061C} {
		if strings.ContainsRune(content, r) {
			t.Errorf("%U reached the screen", r)
		}
	}
	for _, want := range []string{"Mallory", "lunch until 3"} {
		if !strings.Contains(plain(m), want) {
			t.Errorf("the screen does not show %q:\n%s", want, plain(m))
		}
	}
}
