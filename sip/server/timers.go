package server

import (
	"container/heap"
	"sync"
	"time"
)

// timerEntry is one deadline in the shared timer heap. It is embedded in the
// objects that expire (publications, subscriptions, bindings), so scheduling
// allocates nothing and a subscription costs no goroutine and no runtime
// timer of its own.
type timerEntry struct {
	when time.Time
	slot int // 1 + position in the heap; 0 when not scheduled (the zero value)
	fire func()
}

// timerHeap is a min-heap of deadlines served by one goroutine. One heap for
// thousands of expiries keeps the runtime's timer count constant and lets
// Stop cancel everything at once.
type timerHeap struct {
	mu      sync.Mutex
	entries []*timerEntry
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newTimerHeap() *timerHeap {
	t := &timerHeap{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

func (t *timerHeap) Len() int           { return len(t.entries) }
func (t *timerHeap) Less(i, j int) bool { return t.entries[i].when.Before(t.entries[j].when) }
func (t *timerHeap) Swap(i, j int) {
	t.entries[i], t.entries[j] = t.entries[j], t.entries[i]
	t.entries[i].slot = i + 1
	t.entries[j].slot = j + 1
}
func (t *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.slot = len(t.entries) + 1
	t.entries = append(t.entries, e)
}
func (t *timerHeap) Pop() any {
	n := len(t.entries) - 1
	e := t.entries[n]
	t.entries[n] = nil
	t.entries = t.entries[:n]
	e.slot = 0
	return e
}

// schedule sets (or moves) e's deadline. fire runs on the timer goroutine and
// must not block.
func (t *timerHeap) schedule(e *timerEntry, when time.Time, fire func()) {
	t.mu.Lock()
	e.when = when
	e.fire = fire
	if e.slot > 0 {
		heap.Fix(t, e.slot-1)
	} else {
		heap.Push(t, e)
	}
	first := t.entries[0] == e
	t.mu.Unlock()
	if first {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// cancel removes e if it is scheduled.
func (t *timerHeap) cancel(e *timerEntry) {
	t.mu.Lock()
	if e.slot > 0 {
		heap.Remove(t, e.slot-1)
	}
	t.mu.Unlock()
}

func (t *timerHeap) run() {
	defer close(t.done)
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	var due []func()
	for {
		t.mu.Lock()
		now := time.Now()
		for len(t.entries) > 0 && !t.entries[0].when.After(now) {
			e := heap.Pop(t).(*timerEntry)
			due = append(due, e.fire)
		}
		wait := time.Hour
		if len(t.entries) > 0 {
			wait = t.entries[0].when.Sub(now)
		}
		t.mu.Unlock()
		for i, f := range due {
			f()
			due[i] = nil
		}
		due = due[:0]
		tm.Reset(wait)
		select {
		case <-tm.C:
		case <-t.wake:
		case <-t.stop:
			return
		}
	}
}

func (t *timerHeap) close() {
	close(t.stop)
	<-t.done
}
