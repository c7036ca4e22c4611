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

// debugView renders the debug pane: a title rule with where the log file
// is, and the newest events, one per line, each with the buddy it
// concerns (enter opens them in full).
func (m *Model) debugView(w, h int) string {
	s := m.c.styles
	title := s.Rule.Render("──") + s.DebugTitle.Render(" Debug log ") + s.Hint.Render(fmt.Sprintf("(%d kept, enter opens, D hides) ", m.debug.n))
	if m.opts.LogPath != "" {
		title += s.Hint.Render("file: " + m.opts.LogPath + " ")
	}
	if rest := w - ansi.StringWidth(title); rest > 0 {
		title += s.Rule.Render(strings.Repeat("─", rest))
	}
	lines := []string{fit(title, w)}
	for _, e := range m.debug.last(h - 1) {
		lines = append(lines, eventLine(s, &debugEntry{ev: e, buddy: m.list.buddyOf(e.Text)}, w))
	}
	return padLines(strings.Join(lines, "\n"), w, h)
}
