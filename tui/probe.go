package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
)

// The terminal probe: at start the program asks its terminal what it can
// draw (termcaps.Probe: a kitty graphics query, the cell size, XTVERSION,
// DA1), through its own input, so over SSH each session asks its own
// terminal. Until the answers are in (or termcaps.ProbeTimeout passed),
// icons are text art; then render_mode "auto" picks the best the terminal
// answered for, and an explicit mode is honoured.

// probeExpiredMsg ends the probe with what has arrived.
type probeExpiredMsg struct{}

// hintsFromEnviron reads termcaps' hints from an environment list.
func hintsFromEnviron(env []string) termcaps.Hints {
	return termcaps.HintsFromEnv(func(k string) (string, bool) {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v, true
			}
		}
		return "", false
	})
}

// wantedMode is the render mode asked for by name: Options.ArtMode when it
// is one of termcaps.RenderModes (the callers report an unknown one), else
// "auto".
func wantedMode(o Options) string {
	if md, err := termcaps.ParseRenderMode(o.ArtMode); err == nil {
		return md
	}
	return "auto"
}

// startProbe sends the queries and arms the timeout (Init).
func (m *Model) startProbe() tea.Cmd {
	if m.gfx.probe == nil {
		return nil
	}
	return tea.Batch(tea.Raw(m.gfx.probe.Queries()), m.c.after(termcaps.ProbeTimeout, probeExpiredMsg{}))
}

// updateProbe feeds a message to the probe; the replies are terminal
// events the rest of Update ignores.
func (m *Model) updateProbe(msg tea.Msg) tea.Cmd {
	g := m.gfx
	if p, ok := msg.(tea.ColorProfileMsg); ok {
		g.profile = p.Profile
	}
	if g.probe == nil {
		return nil
	}
	if _, ok := msg.(probeExpiredMsg); ok {
		g.probe.Expire()
	} else if !g.probe.Update(msg) {
		return nil
	}
	return m.probeDone()
}

// probeDone applies what the terminal answered.
func (m *Model) probeDone() tea.Cmd {
	g := m.gfx
	g.caps = g.probe.Caps()
	g.probe = nil
	auto, err := g.choose("auto")
	if err == nil {
		g.auto = &auto
	}
	if why, err := m.setMode(g.want); why != "" || err != nil {
		m.announceMode(why, err) // said at start only when not drawn as asked
	}
	if g.pixels() && g.g.Protocol == art.KittyPlaceholders && g.profile != colorprofile.TrueColor {
		// The image id travels in a placeholder's 24-bit colour, which the
		// renderer would round to the profile's palette; a terminal that
		// answered the kitty query draws 24-bit colour.
		return func() tea.Msg { return tea.ColorProfileMsg{Profile: colorprofile.TrueColor} }
	}
	return nil
}
