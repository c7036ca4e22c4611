package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// My other devices show in the header's second line: one by its status and
// note, several by count and status; none, nothing.
func TestHeaderShowsMyOtherDevices(t *testing.T) {
	header := func(devs ...pidf.Device) string {
		m := New(nil, Options{Environ: []string{}})
		msgs := []tea.Msg{tea.WindowSizeMsg{Width: 120, Height: 40}}
		for _, ev := range scenario() {
			msgs = append(msgs, ev)
		}
		msgs = append(msgs, account.DevicesEvent{Devices: devs})
		m = drive(t, m, msgs...)
		return strings.Split(plain(m), "\n")[1]
	}
	laptop := pidf.Device{ID: "t-1", Basic: pidf.BasicOpen, Activities: []string{"away"}, Note: "on the laptop"}
	phone := pidf.Device{ID: "t-2", Basic: pidf.BasicOpen}
	if h := header(laptop); !strings.Contains(h, "other device: Away · on the laptop") || !strings.Contains(h, "1 watcher waits") {
		t.Errorf("one other device: %q", h)
	}
	if h := header(laptop, phone); !strings.Contains(h, "2 other devices") || strings.Contains(h, "on the laptop") {
		t.Errorf("two other devices: %q", h)
	}
	if h := header(); strings.Contains(h, "device") {
		t.Errorf("no other device: %q", h)
	}
}
