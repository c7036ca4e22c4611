package account

import (
	"context"
	"sync"
)

// MaxQueuedLogs bounds the log lines waiting for the front end; beyond it
// new ones are dropped (state is never pushed out by logs). The other
// events need no bound of their own: state events are coalesced by key,
// so there are at most a few per buddy, and the answers to requests are
// one per request the front end itself made.
const MaxQueuedLogs = 1024

// compactAfter is how many superseded slots the queue tolerates before it
// squeezes them out (and only when they outnumber the live events), so a
// reader that stalls through a flood holds memory for the live state only.
const compactAfter = 1024

// eventKind names the state an event carries, for coalescing.
type eventKind uint8

const (
	keyAccount eventKind = iota + 1
	keyPublication
	keySelf
	keyBuddies
	keyWatchers
	keyWatcherRules
	keyOfflineNote
	keyDevices
	keyList
	keyPresence     // per buddy URI
	keySubscription // per buddy URI
	keyIcon         // per URI: IconEvent and IconFailedEvent
)

// eventKey is what a state event is coalesced by.
type eventKey struct {
	kind eventKind
	uri  string
}

// keyOf returns the coalescing key of ev; ok is false for the events that
// are never coalesced (logs, and the answers to requests).
func keyOf(ev Event) (k eventKey, ok bool) {
	switch ev := ev.(type) {
	case AccountEvent:
		return eventKey{kind: keyAccount}, true
	case PublicationEvent:
		return eventKey{kind: keyPublication}, true
	case SelfEvent:
		return eventKey{kind: keySelf}, true
	case BuddiesEvent:
		return eventKey{kind: keyBuddies}, true
	case WatchersEvent:
		return eventKey{kind: keyWatchers}, true
	case WatcherRulesEvent:
		return eventKey{kind: keyWatcherRules}, true
	case OfflineNoteEvent:
		return eventKey{kind: keyOfflineNote}, true
	case DevicesEvent:
		return eventKey{kind: keyDevices}, true
	case ListEvent:
		return eventKey{kind: keyList}, true
	case PresenceEvent:
		return eventKey{keyPresence, ev.URI}, true
	case SubscriptionEvent:
		return eventKey{keySubscription, ev.URI}, true
	case IconEvent:
		return eventKey{keyIcon, ev.URI}, true
	case IconFailedEvent:
		return eventKey{keyIcon, ev.URI}, true
	}
	return eventKey{}, false
}

// queue is the one queue between the producers (the UA's sink, the icon
// fetcher, requests, log records), which must never block, and the front
// end's reader. It is a FIFO in which a state event replaces the queued one
// of its key: the old slot becomes a hole and the new event goes to the
// end, so what the reader gets is the stream in its order with only the
// superseded states left out.
type queue struct {
	mu    sync.Mutex
	items []Event          // FIFO; nil is a hole left by a superseded event
	base  int              // absolute position of items[0]
	at    map[eventKey]int // key → absolute position of its queued event
	holes int
	logs  int

	superseded, droppedLogs int

	ready  chan struct{} // 1-buffered: something was pushed
	done   chan struct{} // closed by close
	closed bool
}

func newQueue() *queue {
	return &queue{at: map[eventKey]int{}, ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// push adds an event without blocking. After close it does nothing.
func (q *queue) push(ev Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if _, isLog := ev.(LogEvent); isLog {
		if q.logs >= MaxQueuedLogs {
			q.droppedLogs++
			q.mu.Unlock()
			return
		}
		q.logs++
	}
	if k, ok := keyOf(ev); ok {
		if pos, queued := q.at[k]; queued {
			q.items[pos-q.base] = nil
			q.holes++
			q.superseded++
		}
		q.at[k] = q.base + len(q.items)
	}
	q.items = append(q.items, ev)
	if q.holes > compactAfter && q.holes > len(q.items)-q.holes {
		q.compactLocked()
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// compactLocked squeezes the holes out and renumbers the keys.
func (q *queue) compactLocked() {
	live := make([]Event, 0, len(q.items)-q.holes+16)
	for _, ev := range q.items {
		if ev == nil {
			continue
		}
		if k, ok := keyOf(ev); ok {
			q.at[k] = q.base + len(live)
		}
		live = append(live, ev)
	}
	q.items, q.holes = live, 0
}

// takeLocked removes and returns up to max events (max <= 0: all).
func (q *queue) takeLocked(max int) []Event {
	n := len(q.items) - q.holes
	if max > 0 && n > max {
		n = max
	}
	if n == 0 {
		q.base += len(q.items)
		q.items, q.holes = q.items[:0], 0
		return nil
	}
	out := make([]Event, 0, n)
	i := 0
	for ; i < len(q.items) && len(out) < n; i++ {
		ev := q.items[i]
		if ev == nil {
			q.holes--
			continue
		}
		out = append(out, ev)
		if k, ok := keyOf(ev); ok {
			delete(q.at, k)
		} else if _, isLog := ev.(LogEvent); isLog {
			q.logs--
		}
	}
	clear(q.items[:i])
	q.items = q.items[i:]
	q.base += i
	if len(q.items) == 0 {
		// Start over at the front of the array rather than let it creep.
		q.items = q.items[:0:0]
	}
	return out
}

// next waits for events and returns up to max of them; ErrClosed once the
// queue is closed and empty.
func (q *queue) next(ctx context.Context, max int) ([]Event, error) {
	for {
		q.mu.Lock()
		evs := q.takeLocked(max)
		closed := q.closed
		q.mu.Unlock()
		if len(evs) > 0 {
			return evs, nil
		}
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-q.ready:
		case <-q.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// close stops accepting events; those queued are still delivered.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}

// stats returns how many state events were superseded and how many log
// lines were dropped.
func (q *queue) stats() (superseded, droppedLogs int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.superseded, q.droppedLogs
}
