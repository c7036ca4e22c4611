package account

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Bounds of the queue between the network and the UI. The UI reads events as
// fast as it draws; these only matter when it stalls (a frozen SSH session).
const (
	// MaxQueuedEvents bounds the events waiting for the UI; beyond it the
	// oldest are dropped (the newest state is what a buddy list needs).
	MaxQueuedEvents = 8192
	// MaxQueuedLogs bounds how many of those may be log lines: logs are
	// dropped first so they never push state out.
	MaxQueuedLogs = 1024
	// MaxLogText bounds the text of one LogEvent (a SIP message with a
	// large body is cut).
	MaxLogText = 8 << 10
)

// queue is an unbounded-by-design, bounded-by-constant FIFO between
// producers that must never block (network goroutines, sipgo callbacks) and
// the UI's channel.
type queue struct {
	mu      sync.Mutex
	items   []Event
	logs    int
	dropped int
	wake    chan struct{}
	out     chan Event
}

func newQueue() *queue {
	return &queue{wake: make(chan struct{}, 1), out: make(chan Event)}
}

// push adds an event without blocking.
func (q *queue) push(ev Event) {
	q.mu.Lock()
	_, isLog := ev.(LogEvent)
	switch {
	case isLog && q.logs >= MaxQueuedLogs:
		q.dropped++
		q.mu.Unlock()
		return
	case len(q.items) >= MaxQueuedEvents:
		if _, ok := q.items[0].(LogEvent); ok {
			q.logs--
		}
		q.items[0] = nil
		q.items = q.items[1:]
		q.dropped++
	}
	if isLog {
		q.logs++
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, false
	}
	ev := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	if _, ok := ev.(LogEvent); ok {
		q.logs--
	}
	return ev, true
}

// run delivers events to out until stop is closed; then it closes out.
func (q *queue) run(stop <-chan struct{}) {
	defer close(q.out)
	for {
		ev, ok := q.pop()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-stop:
				return
			}
		}
		select {
		case q.out <- ev:
		case <-stop:
			return
		}
	}
}

// Dropped returns how many events were dropped because the UI fell behind.
func (q *queue) droppedCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

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
