package tui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// A buddy who goes offline publishes no icon; the row keeps their picture
// and says Offline. One who is online without an icon has removed it.
func TestOfflineBuddyKeepsIcon(t *testing.T) {
	const uri = "sip:alice@example.test"
	m := newTestModel(Options{})
	msgs := []tea.Msg{tea.WindowSizeMsg{Width: 80, Height: 24}}
	for _, ev := range scenario() {
		msgs = append(msgs, ev)
	}
	m = drive(t, m, msgs...)
	row := func(m Model) string {
		for _, line := range strings.Split(m.View().Content, "\n") {
			if strings.Contains(line, "Alice Liddell") {
				return line
			}
		}
		t.Fatalf("no row for alice:\n%s", plain(m))
		return ""
	}
	withIcon := row(m)
	placeholder := strings.Contains(withIcon, " AL ")
	if placeholder {
		t.Fatalf("alice's row shows a placeholder before going offline: %q", withIcon)
	}

	m = drive(t, m, account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Entity: uri, Basic: pidf.BasicClosed}})
	offline := row(m)
	if !strings.Contains(offline, "Offline") {
		t.Fatalf("alice not shown offline: %q", offline)
	}
	if artOf(offline) != artOf(withIcon) {
		t.Errorf("offline alice lost her icon:\nbefore %q\nafter  %q", withIcon, offline)
	}

	m = drive(t, m, account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{Entity: uri, Basic: pidf.BasicOpen}})
	if artOf(row(m)) == artOf(withIcon) {
		t.Errorf("alice removed her icon while online but the row still shows it: %q", row(m))
	}
}

// artOf returns the start of a rendered row, where the icon art is: the
// cells before the display name.
func artOf(row string) string {
	i := strings.Index(row, "Alice")
	if i < 0 {
		return row
	}
	return row[:i]
}

// Until the buddy list is loaded, an empty list says so (and why), rather
// than "no buddies".
func TestEmptyListSaysWhetherLoaded(t *testing.T) {
	m := drive(t, newTestModel(Options{}), tea.WindowSizeMsg{Width: 100, Height: 24})
	if !strings.Contains(plain(m), "Loading the buddy list") {
		t.Errorf("before loading:\n%s", plain(m))
	}
	m = drive(t, m, account.BuddiesEvent{Err: errors.New("cannot reach the XCAP server at 127.0.0.1:1")})
	if s := plain(m); !strings.Contains(s, "not loaded yet (retrying)") || !strings.Contains(s, "cannot reach") {
		t.Errorf("after a failed load:\n%s", s)
	}
	m = drive(t, m, account.BuddiesEvent{})
	if s := plain(m); !strings.Contains(s, "No buddies yet") {
		t.Errorf("after loading an empty list:\n%s", s)
	}
}
