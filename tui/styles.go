package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// Styles holds every Lip Gloss style of the UI, so the look is defined in one
// place. Colours are full fidelity; Bubble Tea downsamples them per terminal
// (and drops them for NO_COLOR).
type Styles struct {
	App lipgloss.Style

	HeaderName  lipgloss.Style
	HeaderFaint lipgloss.Style
	Badge       lipgloss.Style
	Rule        lipgloss.Style

	RowName         lipgloss.Style
	RowNameSelected lipgloss.Style
	RowURI          lipgloss.Style
	RowNote         lipgloss.Style
	RowCursor       lipgloss.Style
	RowMark         lipgloss.Style
	RowChanged      lipgloss.Style // a status that just changed
	Empty           lipgloss.Style

	GroupHeader         lipgloss.Style
	GroupHeaderSelected lipgloss.Style
	GroupCount          lipgloss.Style

	FilterPrompt lipgloss.Style
	FilterText   lipgloss.Style

	Detail      lipgloss.Style
	DetailTitle lipgloss.Style
	DetailLabel lipgloss.Style
	DetailValue lipgloss.Style
	DetailError lipgloss.Style

	Modal      lipgloss.Style
	ModalTitle lipgloss.Style
	MenuItem   lipgloss.Style
	MenuActive lipgloss.Style
	Hint       lipgloss.Style
	InputLabel lipgloss.Style

	StatusOK    lipgloss.Style
	StatusError lipgloss.Style
	StatusInfo  lipgloss.Style

	DebugTitle lipgloss.Style
	DebugIn    lipgloss.Style
	DebugOut   lipgloss.Style
	DebugLog   lipgloss.Style
	DebugError lipgloss.Style

	Help help.Styles

	status map[pidf.Availability]lipgloss.Style
}

// Palette: one accent, status colours, and greys. Restraint keeps the
// coloured status symbols and the icons the only loud things on screen.
var (
	colorAccent    = lipgloss.Color("#7D56F4")
	colorText      = lipgloss.Color("#E4E4E7")
	colorSubtle    = lipgloss.Color("#8B8B96")
	colorFaint     = lipgloss.Color("#5C5C66")
	colorBorder    = lipgloss.Color("#3F3F46")
	colorAvailable = lipgloss.Color("#3FB950")
	colorAway      = lipgloss.Color("#D29922")
	colorBusy      = lipgloss.Color("#F85149")
	colorOffline   = lipgloss.Color("#6E7681")
	colorError     = lipgloss.Color("#F85149")
	colorOK        = lipgloss.Color("#3FB950")
)

// DefaultStyles returns the default look.
func DefaultStyles() *Styles {
	s := &Styles{}
	s.App = lipgloss.NewStyle()

	s.HeaderName = lipgloss.NewStyle().Bold(true).Foreground(colorText)
	s.HeaderFaint = lipgloss.NewStyle().Foreground(colorSubtle)
	s.Badge = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(colorAccent).Padding(0, 1)
	s.Rule = lipgloss.NewStyle().Foreground(colorBorder)

	s.RowName = lipgloss.NewStyle().Foreground(colorText)
	s.RowNameSelected = lipgloss.NewStyle().Bold(true).Foreground(colorText)
	s.RowURI = lipgloss.NewStyle().Foreground(colorSubtle)
	s.RowNote = lipgloss.NewStyle().Foreground(colorSubtle).Italic(true)
	s.RowCursor = lipgloss.NewStyle().Foreground(colorAccent)
	s.RowMark = lipgloss.NewStyle().Foreground(colorAway)
	s.RowChanged = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(colorAccent)
	s.Empty = lipgloss.NewStyle().Foreground(colorSubtle).Italic(true)

	s.GroupHeader = lipgloss.NewStyle().Bold(true).Foreground(colorSubtle)
	s.GroupHeaderSelected = lipgloss.NewStyle().Bold(true).Foreground(colorText)
	s.GroupCount = lipgloss.NewStyle().Foreground(colorFaint)

	s.FilterPrompt = lipgloss.NewStyle().Foreground(colorAccent).Bold(true)
	s.FilterText = lipgloss.NewStyle().Foreground(colorText)

	s.Detail = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colorBorder).Padding(0, 1)
	s.DetailTitle = lipgloss.NewStyle().Bold(true).Foreground(colorText)
	s.DetailLabel = lipgloss.NewStyle().Foreground(colorSubtle)
	s.DetailValue = lipgloss.NewStyle().Foreground(colorText)
	s.DetailError = lipgloss.NewStyle().Foreground(colorError)

	s.Modal = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colorAccent).Padding(0, 1)
	s.ModalTitle = lipgloss.NewStyle().Bold(true).Foreground(colorAccent)
	s.MenuItem = lipgloss.NewStyle().Foreground(colorText)
	s.MenuActive = lipgloss.NewStyle().Bold(true).Foreground(colorAccent)
	s.Hint = lipgloss.NewStyle().Foreground(colorFaint)
	s.InputLabel = lipgloss.NewStyle().Foreground(colorSubtle)

	s.StatusOK = lipgloss.NewStyle().Foreground(colorOK)
	s.StatusError = lipgloss.NewStyle().Foreground(colorError)
	s.StatusInfo = lipgloss.NewStyle().Foreground(colorSubtle)

	s.DebugTitle = lipgloss.NewStyle().Bold(true).Foreground(colorSubtle)
	s.DebugIn = lipgloss.NewStyle().Foreground(lipgloss.Color("#58A6FF"))
	s.DebugOut = lipgloss.NewStyle().Foreground(lipgloss.Color("#BC8CFF"))
	s.DebugLog = lipgloss.NewStyle().Foreground(colorSubtle)
	s.DebugError = lipgloss.NewStyle().Foreground(colorError)

	s.Help = help.DefaultDarkStyles()

	s.status = map[pidf.Availability]lipgloss.Style{}
	for a, c := range map[pidf.Availability]color.Color{
		pidf.Available:  colorAvailable,
		pidf.Away:       colorAway,
		pidf.Busy:       colorBusy,
		pidf.OnThePhone: colorBusy,
		pidf.Meeting:    colorBusy,
		pidf.Offline:    colorOffline,
		pidf.Unknown:    colorFaint,
	} {
		s.status[a] = lipgloss.NewStyle().Foreground(c)
	}
	return s
}

// Status returns the style of an availability's symbol.
func (s *Styles) Status(a pidf.Availability) lipgloss.Style {
	if st, ok := s.status[a]; ok {
		return st
	}
	return lipgloss.NewStyle()
}
