package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
)

// maxURIScan bounds how much of a log event is searched for the buddy it
// concerns: the start line and the To/From headers come first.
const maxURIScan = 4096

// buddyOf returns the name of the buddy a log event concerns (the first
// sip: URI in it that is on the list), or "".
func (l *buddyList) buddyOf(text string) string {
	if len(text) > maxURIScan {
		text = text[:maxURIScan]
	}
	for rest := text; ; {
		i := strings.Index(rest, "sip:")
		if i < 0 {
			return ""
		}
		rest = rest[i:]
		end := strings.IndexAny(rest, " >;\"'\r\n,")
		if end < 0 {
			end = len(rest)
		}
		if b := l.byURI[rest[:end]]; b != nil {
			return b.name
		}
		rest = rest[4:]
	}
}

// debugEntry is one log event with the buddy it concerns.
type debugEntry struct {
	ev    account.LogEvent
	buddy string
	lower string // for the filter
}

// debugBrowser is the debug log opened from the pane with enter: every
// kept event, the buddy it concerns, a filter (/) and the whole text of
// one event (enter), which the one-line pane cannot show.
type debugBrowser struct {
	*common
	all       []debugEntry
	shown     []int // indexes into all that match the filter
	cursor    int   // index into shown
	filter    textinput.Model
	filtering bool
	full      bool // the selected event is open in full
	scroll    int  // first line of the open event
	logPath   string
}

func newDebugBrowser(c *common, evs []account.LogEvent, list *buddyList, logPath string) debugBrowser {
	d := debugBrowser{common: c, logPath: logPath}
	for _, e := range evs {
		name := list.buddyOf(e.Text)
		d.all = append(d.all, debugEntry{ev: e, buddy: name, lower: strings.ToLower(name + " " + e.Text)})
	}
	ti := textinput.New()
	ti.Prompt = "/ "
	ti.Placeholder = "words in the message or a buddy's name"
	ti.CharLimit = maxFilterChars
	c.styleInput(&ti)
	d.filter = ti
	d.refilter()
	return d
}

// refilter keeps the events that contain every word of the filter and
// selects the newest.
func (d *debugBrowser) refilter() {
	words := strings.Fields(strings.ToLower(d.filter.Value()))
	d.shown = d.shown[:0]
outer:
	for i, e := range d.all {
		for _, w := range words {
			if !strings.Contains(e.lower, w) {
				continue outer
			}
		}
		d.shown = append(d.shown, i)
	}
	d.cursor = len(d.shown) - 1
}

func (d debugBrowser) selected() *debugEntry {
	if d.cursor < 0 || d.cursor >= len(d.shown) {
		return nil
	}
	return &d.all[d.shown[d.cursor]]
}

func (d debugBrowser) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		if d.filtering {
			var cmd tea.Cmd
			d.filter, cmd = d.filter.Update(msg)
			return d, cmd
		}
		return d, nil
	}
	if d.filtering {
		switch {
		case key.Matches(k, d.keys.Confirm), key.Matches(k, d.keys.Cancel):
			d.filtering = false
			d.filter.Blur()
			return d, nil
		}
		before := d.filter.Value()
		var cmd tea.Cmd
		d.filter, cmd = d.filter.Update(k)
		if d.filter.Value() != before {
			d.refilter()
		}
		return d, cmd
	}
	switch {
	case key.Matches(k, d.keys.Cancel):
		if d.full {
			d.full = false
			return d, nil
		}
		return d, send(closeDialogMsg{})
	case key.Matches(k, d.keys.Confirm):
		if d.selected() != nil {
			d.full, d.scroll = true, 0
		}
	case key.Matches(k, d.keys.Up):
		if d.full {
			d.scroll = max(0, d.scroll-1)
		} else if d.cursor > 0 {
			d.cursor--
		}
	case key.Matches(k, d.keys.Down):
		if d.full {
			d.scroll++
		} else if d.cursor < len(d.shown)-1 {
			d.cursor++
		}
	case key.Matches(k, d.keys.Filter):
		d.full = false
		d.filtering = true
		return d, d.filter.Focus()
	case key.Matches(k, d.keys.ToggleDebug), key.Matches(k, d.keys.Quit):
		return d, send(closeDialogMsg{})
	}
	return d, nil
}

// eventLine is one event on one line: time, buddy, direction and the
// first line of the text with the count of the lines it hides.
func eventLine(s *Styles, e *debugEntry, w int) string {
	first, rest, multi := strings.Cut(e.ev.Text, "\n")
	first = clean(first)
	if multi {
		first += fmt.Sprintf("  (+%d lines)", strings.Count(rest, "\n")+1)
	}
	line := s.DebugLog.Render(e.ev.Time.Format("15:04:05")) + " "
	if e.buddy != "" {
		line += s.RowName.Render(fitPlain(e.buddy, 14)) + " "
	}
	switch e.ev.Kind {
	case account.LogSIPIn:
		line += s.DebugIn.Render("← " + first)
	case account.LogSIPOut:
		line += s.DebugOut.Render("→ " + first)
	case account.LogError, account.LogWarn:
		line += s.DebugError.Render(first)
	default:
		line += s.DebugLog.Render(first)
	}
	return fit(line, w)
}

func (d debugBrowser) view() string {
	w := modalWidth(d.width, d.width-6)
	h := max(3, d.height-10) // the modal's border, title, hints and filter
	s := d.styles
	var body []string
	if d.filtering || d.filter.Value() != "" {
		d.filter.SetWidth(max(1, w-4))
		body = append(body, fit(d.filter.View(), w))
		h--
	}
	title := fmt.Sprintf("Debug log · %d of %d", len(d.shown), len(d.all))
	help := hint(d.common, d.keys.Up, d.keys.Down, key.NewBinding(key.WithHelp("enter", "open")), d.keys.Filter, key.NewBinding(key.WithHelp("esc", "close")))
	if e := d.selected(); d.full && e != nil {
		title = "Message at " + e.ev.Time.Format("15:04:05.000")
		if e.buddy != "" {
			title += " · " + e.buddy
		}
		// Whole lines, wrapped, control characters made safe.
		var lines []string
		for _, l := range strings.Split(strings.ReplaceAll(e.ev.Text, "\r\n", "\n"), "\n") {
			lines = append(lines, strings.Split(ansi.Wrap(clean(l), w, " ;,"), "\n")...)
		}
		start := min(d.scroll, max(0, len(lines)-h))
		end := min(len(lines), start+h)
		body = append(body, lines[start:end]...)
		help = hint(d.common, key.NewBinding(key.WithHelp("↑/↓", "scroll")), key.NewBinding(key.WithHelp("esc", "back")))
	} else if len(d.shown) == 0 {
		body = append(body, s.Empty.Render("No message matches."))
	} else {
		start := max(0, min(d.cursor-h/2, len(d.shown)-h))
		end := min(len(d.shown), start+h)
		for i := start; i < end; i++ {
			bar := "  "
			if i == d.cursor {
				bar = s.RowCursor.Render("▌") + " "
			}
			body = append(body, bar+eventLine(s, &d.all[d.shown[i]], w-2))
		}
	}
	if d.logPath != "" {
		help += " · log: " + d.logPath
	}
	return modalBox(d.common, title, padLines(strings.Join(body, "\n"), w, max(1, len(body))), fitPlain(help, w), w)
}
