package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
)

// How a buddy's change of status is noticed: its row's status is
// highlighted for HighlightFor, the status bar says who changed (for
// StatusMessageTTL), and, when the user turned it on, the terminal rings
// or shows a desktop notification, at most once per NotifyMinInterval.
const (
	HighlightFor      = 4 * time.Second
	NotifyMinInterval = 2 * time.Second
	// MaxNotifyChars bounds the text of a desktop notification.
	MaxNotifyChars = 120
)

// Notify modes (Options.Notify, the config's notify setting).
const (
	NotifyOff    = "off"    // the default ("" too): highlight and status bar only
	NotifyBell   = "bell"   // BEL: the terminal beeps or flashes, tmux marks the window
	NotifyOSC9   = "osc9"   // OSC 9: a desktop notification (iTerm2, kitty, WezTerm, foot, ...)
	NotifyOSC777 = "osc777" // OSC 777 notify: a desktop notification (rxvt-unicode, VTE, foot, ...)
)

// NotifyModes are the accepted values of Options.Notify.
var NotifyModes = []string{NotifyOff, NotifyBell, NotifyOSC9, NotifyOSC777}

// ParseNotify checks a notify setting ("" is NotifyOff).
func ParseNotify(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return NotifyOff, nil
	}
	if !slices.Contains(NotifyModes, s) {
		return "", fmt.Errorf("%q is not one of %s", s, strings.Join(NotifyModes, ", "))
	}
	return s, nil
}

// noticeBatch collects the status changes of one batch of events, so
// that a burst says one line and rings once.
type noticeBatch struct {
	n        int
	last     *buddy
	lastRing time.Time
	seq      int // the status-bar message the last notice showed
}

// highlightExpiredMsg asks for a frame once a highlight is over (the
// frame after any message draws the rows again).
type highlightExpiredMsg struct{}

// noticePresence notes that b's presence changed from was (had: b had a
// state before). The first state of a buddy is no change, and neither is
// a new note with the same availability.
func (m *Model) noticePresence(b *buddy, had bool, was pidf.Availability) {
	if !had || b.Avail == was {
		return
	}
	b.changedAt = m.c.now()
	m.notices.n++
	m.notices.last = b
}

// highlighted reports whether b's status changed less than HighlightFor
// ago.
func (l *buddyList) highlighted(b *buddy) bool {
	return !b.changedAt.IsZero() && l.now().Sub(b.changedAt) < HighlightFor
}

// flushNotices says what the batch's changes were: a status-bar line
// (unless the bar shows something else: a request under way, its
// outcome, an error, until it expires), the bell or notification the user chose, and a frame
// when the highlight ends.
func (m *Model) flushNotices() tea.Cmd {
	nb := &m.notices
	if nb.n == 0 {
		return nil
	}
	b, n := nb.last, nb.n
	nb.n, nb.last = 0, nil
	text := b.name + " is now " + StatusLabel(b.Avail)
	switch {
	case n == 2:
		text += " (and 1 more change)"
	case n > 2:
		text += fmt.Sprintf(" (and %d more changes)", n-1)
	}
	// A notice replaces only an empty bar or an older notice: the outcome
	// of the user's own request, an error, a request under way stay.
	if m.statusText == "" || (m.statusSeq == nb.seq && m.statusCause == causeNone) {
		m.setStatus(statusInfo, text)
		nb.seq = m.statusSeq
	}
	cmds := []tea.Cmd{m.c.after(HighlightFor, highlightExpiredMsg{})}
	now := m.c.now()
	tmux := termcaps.HintsFromEnv(environLookup(m.opts.Environ)).Tmux
	if seq := notifySequence(m.opts.Notify, text, tmux); seq != "" && now.Sub(nb.lastRing) >= NotifyMinInterval {
		nb.lastRing = now
		cmds = append(cmds, tea.Raw(seq))
	}
	return tea.Batch(cmds...)
}

// notifySequence is what the terminal is sent for mode: BEL, or an OSC 9
// or OSC 777 notification saying text ("" for NotifyOff or an unknown
// mode). The text is made safe (no controls, so it cannot end the
// sequence early) and bounded. Inside tmux (which keeps BEL for itself:
// monitor-bell) the notifications go through tmux's passthrough, which
// needs "set -g allow-passthrough on".
func notifySequence(mode, text string, tmux bool) string {
	text = fitPlain(clean(text), MaxNotifyChars)
	var seq string
	switch mode {
	case NotifyBell:
		return "\a"
	case NotifyOSC9:
		seq = "\x1b]9;" + text + "\x1b\\"
	case NotifyOSC777:
		// Fields are ;-separated: the title and body must not hold one.
		seq = "\x1b]777;notify;sipbuddy;" + strings.ReplaceAll(text, ";", ",") + "\x1b\\"
	default:
		return ""
	}
	if tmux {
		return ansi.TmuxPassthrough(seq)
	}
	return seq
}

// environLookup looks a variable up in an environment list
// (Options.Environ), as os.LookupEnv does in the process's.
func environLookup(env []string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], name+"="); ok {
				return v, true
			}
		}
		return "", false
	}
}
