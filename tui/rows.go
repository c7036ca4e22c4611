package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/tui/rowsize"
)

// The list's row size (compact, comfortable, large: package rowsize). The
// size chosen with z (or row_size, or the saved state) is shown where the
// window leaves room for MinRowsOnScreen of its rows; a shorter window
// shows the largest size that fits (down to comfortable), says so on the
// status bar, and goes back to the chosen one when the window grows.

// MinRowsOnScreen is how many buddy rows the list area must hold for a row
// size to be used: at 80x24 the list has 19 lines, so large rows (4 lines)
// fall back to comfortable ones (9 buddies), never 4 buddies.
const MinRowsOnScreen = 5

// Sizes of my icon in the header, which is two lines whatever the rows.
const (
	headerIconRows = 2
	headerIconCols = 2 * headerIconRows
)

// rowSizes is the row size chosen and the one on screen.
type rowSizes struct {
	chosen, shown rowsize.Size
}

// setRowSize chooses a row size by name (an unknown one is the default).
func (m *Model) setRowSize(name string) {
	s, err := rowsize.Parse(name)
	if err != nil {
		s = rowsize.Default
	}
	m.rows = rowSizes{chosen: s, shown: s}
	m.list.rowHeight = s.Lines()
}

// fitRowSize is the largest size up to the chosen one of which the list
// area holds MinRowsOnScreen rows, never below the default (comfortable
// rows are what every screen was laid out for; compact ones are only
// shown when chosen). The area is measured without the full help and the
// debug pane, so opening them does not change the rows.
func (m *Model) fitRowSize() rowsize.Size {
	help, dbg := m.showHelp, m.showDbg
	m.showHelp, m.showDbg = false, false
	lines := m.layout().listH
	m.showHelp, m.showDbg = help, dbg
	s := m.rows.chosen
	for s > rowsize.Default && lines/s.Lines() < MinRowsOnScreen {
		s--
	}
	return s
}

// relayout applies the row size that fits the window and keeps the
// cursor on screen; call it when the window or the panes change.
func (m *Model) relayout() {
	if m.c.width > 0 && m.c.height > 0 {
		if s := m.fitRowSize(); s != m.rows.shown {
			m.rows.shown = s
			m.list.rowHeight = s.Lines()
			if s != m.rows.chosen {
				m.setStatus(statusInfo, m.rowSizeText())
			}
		}
	}
	m.list.clamp(m.layout().listRows)
}

// rowSizeText says which row size is shown, and why when it is not the
// chosen one.
func (m *Model) rowSizeText() string {
	if m.rows.shown == m.rows.chosen {
		return "Rows: " + m.rows.shown.String()
	}
	return fmt.Sprintf("Rows: %s (%s rows need a taller window: %d lines for %d buddies)",
		m.rows.shown, m.rows.chosen, MinRowsOnScreen*m.rows.chosen.Lines(), MinRowsOnScreen)
}

// cycleRowSize is the z key: the next size, shown if it fits, saved for
// the next start.
func (m *Model) cycleRowSize() {
	m.rows.chosen = m.rows.chosen.Next()
	m.rows.shown = m.fitRowSize()
	m.list.rowHeight = m.rows.shown.Lines()
	m.list.clamp(m.layout().listRows)
	m.setStatus(statusInfo, m.rowSizeText())
	if m.b != nil {
		m.b.SaveRowSize(m.rows.chosen.String())
	}
}

// viewKey handles the keys of how the list looks that groupKey does not:
// the row size and my icon's dialog.
func (m *Model) viewKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(k, m.c.keys.RowSize):
		m.cycleRowSize()
		return nil, true
	case key.Matches(k, m.c.keys.ViewMyIcon):
		m.dialogs.push(myIconDialog{common: m.c})
		return nil, true
	}
	return nil, false
}
