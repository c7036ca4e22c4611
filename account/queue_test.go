package account

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

func drain(t *testing.T, q *queue, max int) []Event {
	t.Helper()
	var all []Event
	for {
		q.mu.Lock()
		evs := q.takeLocked(max)
		q.mu.Unlock()
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
	}
}

// A flood of state for a few keys leaves the newest state of each, in the
// order the newest ones were pushed, and every answer to a request.
func TestQueueCoalescesStateByKeyAndKeepsAnswers(t *testing.T) {
	q := newQueue()
	const buddies, rounds = 50, 200
	id := RequestID(0)
	for r := range rounds {
		for b := range buddies {
			uri := fmt.Sprintf("sip:b%d@example.test", b)
			q.push(PresenceEvent{URI: uri, State: pidf.State{Note: fmt.Sprint(r)}})
			q.push(SubscriptionEvent{URI: uri, State: ua.Active, Reason: fmt.Sprint(r)})
		}
		q.push(AccountEvent{State: ua.Registered, Expires: time.Duration(r)})
		id++
		q.push(DoneEvent{ID: id})
		id++
		q.push(ErrorEvent{ID: id, Err: errors.New("no")})
	}
	got := drain(t, q, 7)
	answers := map[RequestID]bool{}
	presence := map[string]int{}
	subs := map[string]int{}
	accounts := 0
	for _, ev := range got {
		switch ev := ev.(type) {
		case DoneEvent:
			answers[ev.ID] = true
		case ErrorEvent:
			answers[ev.ID] = true
		case PresenceEvent:
			presence[ev.URI]++
			if ev.State.Note != fmt.Sprint(rounds-1) {
				t.Errorf("%s: note %q, want the newest %d", ev.URI, ev.State.Note, rounds-1)
			}
		case SubscriptionEvent:
			subs[ev.URI]++
		case AccountEvent:
			accounts++
			if ev.Expires != rounds-1 {
				t.Errorf("account state %v, want the newest", ev.Expires)
			}
		}
	}
	if len(answers) != int(id) {
		t.Errorf("%d of %d answers delivered", len(answers), id)
	}
	if len(presence) != buddies || len(subs) != buddies || accounts != 1 {
		t.Errorf("%d presences, %d subscriptions, %d account events; want %d, %d, 1", len(presence), len(subs), accounts, buddies, buddies)
	}
	for uri, n := range presence {
		if n != 1 || subs[uri] != 1 {
			t.Errorf("%s delivered %d presence and %d subscription events, want one each", uri, n, subs[uri])
		}
	}
	// The order of what is left is the order of the pushes: the last
	// round's state comes after the answers of the rounds before it.
	if _, ok := got[len(got)-1].(ErrorEvent); !ok {
		t.Errorf("last event %T, want the last answer", got[len(got)-1])
	}
	if sup, _ := q.stats(); sup != (rounds-1)*(2*buddies+1) {
		t.Errorf("superseded %d, want %d", sup, (rounds-1)*(2*buddies+1))
	}
}

// IconEvent and IconFailedEvent share a key: the newest outcome wins.
func TestQueueIconOutcomesShareAKey(t *testing.T) {
	q := newQueue()
	q.push(IconFailedEvent{URI: "sip:a@x.test", Err: errors.New("503")})
	q.push(IconEvent{URI: "sip:a@x.test", Hash: "h"})
	got := drain(t, q, 0)
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1: %v", len(got), got)
	}
	if _, ok := got[0].(IconEvent); !ok {
		t.Errorf("got %T, want the newer IconEvent", got[0])
	}
}

// Logs are bounded by MaxQueuedLogs and never push state out.
func TestQueueBoundsLogs(t *testing.T) {
	q := newQueue()
	q.push(PresenceEvent{URI: "sip:a@x.test"})
	for i := range MaxQueuedLogs + 10 {
		q.push(LogEvent{Text: fmt.Sprint(i)})
	}
	q.push(DoneEvent{ID: 1})
	got := drain(t, q, 0)
	if len(got) != MaxQueuedLogs+2 {
		t.Fatalf("%d events queued, want %d logs and 2 others", len(got), MaxQueuedLogs)
	}
	if _, dropped := q.stats(); dropped != 10 {
		t.Errorf("dropped %d logs, want 10", dropped)
	}
	if _, ok := got[0].(PresenceEvent); !ok {
		t.Errorf("first event %T, want the presence", got[0])
	}
	if _, ok := got[len(got)-1].(DoneEvent); !ok {
		t.Errorf("last event %T, want the answer", got[len(got)-1])
	}
	q.push(LogEvent{Text: "after"}) // room again once read
	if got := drain(t, q, 0); len(got) != 1 {
		t.Errorf("after reading, a new log line was not queued: %v", got)
	}
}

// A reader stalled through 100,000 updates of 1,000 buddies leaves a queue
// the size of the live state, not of the flood.
func TestQueueStaysSmallWhileTheReaderStalls(t *testing.T) {
	q := newQueue()
	const buddies = 1000
	for i := range 100 * buddies {
		q.push(PresenceEvent{URI: fmt.Sprintf("sip:b%d@x.test", i%buddies), State: pidf.State{Note: fmt.Sprint(i)}})
	}
	q.mu.Lock()
	n := len(q.items)
	q.mu.Unlock()
	if n > 2*buddies+compactAfter+1 {
		t.Errorf("queue holds %d slots for %d live events", n, buddies)
	}
	got := drain(t, q, 256)
	if len(got) != buddies {
		t.Fatalf("%d events, want %d", len(got), buddies)
	}
	for i, ev := range got {
		want := fmt.Sprint(99*buddies + i)
		if p := ev.(PresenceEvent); p.State.Note != want {
			t.Fatalf("event %d: note %s, want %s (the newest, in push order)", i, p.State.Note, want)
		}
	}
}

// next blocks until something is pushed, hands out what was queued before
// close, then reports ErrClosed.
func TestQueueNextWaitsAndEndsAfterClose(t *testing.T) {
	q := newQueue()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := q.next(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty queue: %v, want the context's deadline", err)
	}
	got := make(chan []Event)
	go func() {
		evs, _ := q.next(context.Background(), 0)
		got <- evs
	}()
	q.push(DoneEvent{ID: 7})
	if evs := <-got; len(evs) != 1 {
		t.Fatalf("woken with %v", evs)
	}
	q.push(DoneEvent{ID: 8})
	q.close()
	q.push(DoneEvent{ID: 9}) // after close: ignored
	evs, err := q.next(context.Background(), 0)
	if err != nil || len(evs) != 1 || evs[0].(DoneEvent).ID != 8 {
		t.Fatalf("after close: %v, %v; want the answer queued before it", evs, err)
	}
	if _, err := q.next(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed and empty: %v, want ErrClosed", err)
	}
}
