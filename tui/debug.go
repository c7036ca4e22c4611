package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
)

// DefaultDebugLines is the default capacity of the debug pane's ring buffer.
const DefaultDebugLines = 500

// ring is a bounded buffer of the latest log events.
type ring struct {
	buf   []account.LogEvent
	start int
	n     int
}

func newRing(capacity int) *ring {
	return &ring{buf: make([]account.LogEvent, max(1, capacity))}
}

func (r *ring) push(e account.LogEvent) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}

// last returns up to k of the newest events, oldest first.
func (r *ring) last(k int) []account.LogEvent {
	k = min(k, r.n)
	out := make([]account.LogEvent, 0, k)
	for i := r.n - k; i < r.n; i++ {
		out = append(out, r.buf[(r.start+i)%len(r.buf)])
	}
	return out
}

// debugView renders the debug pane: a title rule and the newest lines, one
// per event (a SIP message shows its first line and its size).
func (m *Model) debugView(w, h int) string {
	s := m.c.styles
	title := s.Rule.Render("──") + s.DebugTitle.Render(" Debug log ") + s.Hint.Render(fmt.Sprintf("(%d kept, D hides) ", m.debug.n))
	if rest := w - ansi.StringWidth(title); rest > 0 {
		title += s.Rule.Render(strings.Repeat("─", rest))
	}
	lines := []string{fit(title, w)}
	for _, e := range m.debug.last(h - 1) {
		text := e.Text
		first, rest, multi := strings.Cut(text, "\n")
		first = clean(first)
		if multi {
			first += fmt.Sprintf("  (+%d lines)", strings.Count(rest, "\n")+1)
		}
		ts := e.Time.Format("15:04:05")
		var line string
		switch e.Kind {
		case account.LogSIPIn:
			line = s.DebugLog.Render(ts) + " " + s.DebugIn.Render("← "+first)
		case account.LogSIPOut:
			line = s.DebugLog.Render(ts) + " " + s.DebugOut.Render("→ "+first)
		case account.LogError, account.LogWarn:
			line = s.DebugLog.Render(ts) + " " + s.DebugError.Render(first)
		default:
			line = s.DebugLog.Render(ts + " " + first)
		}
		lines = append(lines, line)
	}
	return padLines(strings.Join(lines, "\n"), w, h)
}
