package tui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// An icon that arrives in a read of the account's queue is on the screen
// after that one Update: the read command brought its art along.
func TestIconReachesTheScreenInOneUpdate(t *testing.T) {
	m := drive(t, newTestModel(Options{ArtMode: "halfblock"}), tea.WindowSizeMsg{Width: 80, Height: 24},
		account.BuddiesEvent{Buddies: []account.Buddy{{URI: "sip:ada@example.test", DisplayName: "Ada"}}})
	red := color.RGBA{R: 250, G: 10, B: 10, A: 255}
	thumb := account.Thumbnail(testIcon(red, 256))
	ic := account.IconEvent{URI: "sip:ada@example.test", Hash: strings.Repeat("a", 40), Thumb: thumb}
	var pre artMsg
	pre.add(ic.Hash, ic.Thumb, ic.Large, 2*m.list.rowHeight, m.list.rowHeight, art.HalfBlock)
	nm, _ := m.Update(eventsMsg{evs: []account.Event{
		account.PresenceEvent{URI: "sip:ada@example.test", State: pidf.State{Basic: pidf.BasicOpen}}, ic,
	}, art: pre})
	m = nm.(Model)
	if view := m.View().Content; !strings.Contains(view, fmt.Sprintf("2;%d;%d;%d", red.R, red.G, red.B)) {
		t.Fatalf("the icon's colour is not on the screen after one Update:\n%s", view)
	}
}
