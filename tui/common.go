package tui

import (
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/sipbuddy/sipbuddy/internal/termtext"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// common is what every sub-model shares: the terminal size, the styles, the
// key map and the icon render mode. One program owns one common (no
// globals), so several programs can run side by side (one per SSH session).
type common struct {
	width, height int
	styles        *Styles
	keys          *KeyMap
	mode          art.Mode
	steadyCursor  bool // text inputs do not blink
	connLost      bool // the server is unreachable: buddies' states are stale
	// after delivers msg after d (tea.Tick); a synchronous test driver
	// replaces it, since it cannot wait.
	after func(d time.Duration, msg tea.Msg) tea.Cmd
	now   func() time.Time
}

func tick(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

// styleInput applies the shared cursor setting to a text input.
func (c *common) styleInput(ti *textinput.Model) {
	if c.steadyCursor {
		st := ti.Styles()
		st.Cursor.Blink = false
		ti.SetStyles(st)
	}
}

// fit truncates s (which may be styled) to w cells with an ellipsis and pads
// it with spaces to exactly w cells, so columns stay put whatever the text.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// clean makes a string from the network safe to show on one line:
// termtext.Sanitize drops control characters (escape sequences included),
// bidi controls and zero-width characters; runs of whitespace collapse.
func clean(s string) string {
	if s == "" {
		return ""
	}
	return strings.Join(strings.Fields(termtext.Sanitize(s)), " ")
}

// padLines pads (or cuts) a block to exactly h lines of exactly w cells.
func padLines(block string, w, h int) string {
	lines := strings.Split(block, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

// place centres a modal over a background of w x h cells.
func place(background, modal string, w, h int) string {
	mw, mh := lipgloss.Width(modal), lipgloss.Height(modal)
	x, y := max(0, (w-mw)/2), max(0, (h-mh)/2)
	c := lipgloss.NewCanvas(w, h)
	c.Compose(lipgloss.NewCompositor(
		lipgloss.NewLayer(background),
		lipgloss.NewLayer(modal).X(x).Y(y).Z(1),
	))
	return c.Render()
}
