package tui

import (
	"strconv"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// MaxDeviceBadgeCells bounds the header's summary of my other devices.
const MaxDeviceBadgeCells = 48

// devicesBadge is the header's summary of my other devices (from the
// account's self-presence): the one device's status and note, or how many
// there are and the status of each; "" when there is none.
func (m *Model) devicesBadge() string {
	if len(m.devices) == 0 {
		return ""
	}
	s := m.c.styles
	avail := func(d pidf.Device) pidf.Availability {
		return pidf.State{Basic: d.Basic, Activities: d.Activities}.Availability()
	}
	if len(m.devices) == 1 {
		d := m.devices[0]
		a := avail(d)
		text := "other device: " + StatusLabel(a)
		if n := clean(d.Note); n != "" {
			text += " · " + n
		}
		return s.Status(a).Render(StatusSymbol(a)) + " " + s.HeaderFaint.Render(fitPlain(text, MaxDeviceBadgeCells-2))
	}
	out := s.HeaderFaint.Render(strconv.Itoa(len(m.devices)) + " other devices")
	for i, d := range m.devices {
		if i == 4 {
			out += s.HeaderFaint.Render(" …")
			break
		}
		a := avail(d)
		out += " " + s.Status(a).Render(StatusSymbol(a))
	}
	return out
}
