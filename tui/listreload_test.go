package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
)

// TestReloadedListKeepsTheCursor: a list edited elsewhere (a buddy added
// above the selected one, another removed) arrives as a new BuddiesEvent;
// the cursor stays on the buddy it was on, and the detail pane says how
// the list is watched.
func TestReloadedListKeepsTheCursor(t *testing.T) {
	m := listWith(t,
		account.BuddiesEvent{Buddies: []account.Buddy{{URI: "sip:ada@example.test", DisplayName: "Ada"}, {URI: "sip:carl@example.test", DisplayName: "Carl"}, {URI: "sip:dora@example.test", DisplayName: "Dora"}}},
		account.ListEvent{Mode: account.ListModeRLS, Service: "sip:me+presence@example.test", Members: 3, Follow: account.FollowXcapDiff},
	)
	m = drive(t, m, keyMsg("down"))
	if b := m.list.selected(); b == nil || b.URI != "sip:carl@example.test" {
		t.Fatalf("selected %v, want carl", b)
	}
	m = drive(t, m, account.BuddiesEvent{Buddies: []account.Buddy{{URI: "sip:ada@example.test", DisplayName: "Ada"}, {URI: "sip:bea@example.test", DisplayName: "Bea"}, {URI: "sip:carl@example.test", DisplayName: "Carl"}}})
	if b := m.list.selected(); b == nil || b.URI != "sip:carl@example.test" {
		t.Errorf("after the reload the cursor is on %v, want carl", b)
	}
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40}) // room for the detail pane
	if v := plain(m); !strings.Contains(v, "one RLS subscription") {
		t.Errorf("the detail pane does not say how the list is watched:\n%s", v)
	}
}
