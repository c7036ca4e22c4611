package account

import (
	"context"
	"log/slog"
	"time"
)

// MaxLogText bounds the text of one LogEvent (a SIP message with a large
// body is cut).
const MaxLogText = 8 << 10

// logHandler copies log records to the debug pane and passes them on.
type logHandler struct {
	next  slog.Handler
	push  func(Event)
	attrs []slog.Attr
	group string
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		text := r.Message
		add := func(a slog.Attr) bool {
			if a.Equal(slog.Attr{}) {
				return true
			}
			k := a.Key
			if h.group != "" {
				k = h.group + "." + k
			}
			text += " " + k + "=" + a.Value.String()
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		kind := LogInfo
		switch {
		case r.Level >= slog.LevelError:
			kind = LogError
		case r.Level >= slog.LevelWarn:
			kind = LogWarn
		}
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		h.push(LogEvent{Time: t, Kind: kind, Text: cut(text, MaxLogText)})
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	n.next = h.next.WithAttrs(as)
	return &n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	n.next = h.next.WithGroup(name)
	return &n
}

// cut bounds a string to n bytes (at a rune boundary).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + " …[cut]"
}
