package server

import (
	"slices"
	"sync"
)

// NOTIFY scheduling limits. A flow is one destination (transport and
// address); a share is one subscriber user. Every NOTIFY waits only behind
// its own flow and its own user, so a silent or slow subscriber (each of its
// NOTIFYs held for Timer F) never delays anyone else's.
const (
	// initialFlowWindow is how many NOTIFYs a flow may have in flight when
	// it starts: a sipgo UA's default UDP receive buffer holds this many
	// (larger windows lost datagrams there and paid T1 per loss).
	initialFlowWindow = 64
	// maxFlowWindow bounds the window a flow grows to while its subscriber
	// answers without retransmissions.
	maxFlowWindow = 256
	// MaxInflightPerWatcher is the fair share of one subscriber user: its
	// NOTIFYs in flight over all its flows at once; the rest wait in the
	// user's own queue.
	MaxInflightPerWatcher = 256
)

// fifo is a queue of subscriptions waiting for a slot.
type fifo struct {
	items []*subscription
	head  int
}

func (q *fifo) push(sub *subscription) { q.items = append(q.items, sub) }

func (q *fifo) len() int { return len(q.items) - q.head }

func (q *fifo) pop() *subscription {
	sub := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		q.items = slices.Delete(q.items, 0, q.head)
		q.head = 0
	}
	return sub
}

// flow is the NOTIFY traffic to one destination. Its window adapts to the
// subscriber as TCP's congestion avoidance does: one more per window's worth
// of answered NOTIFYs (one round trip) up to maxFlowWindow, half on a
// retransmission (a lost datagram or a silent peer), down to 1.
type flow struct {
	waiting  fifo
	inflight int
	window   int
	acked    int // answers since the window last grew
}

// share is one subscriber user's NOTIFYs in flight and waiting.
type share struct {
	waiting  fifo
	inflight int
}

// scheduler grants NOTIFY slots per flow and per user. One mutex guards it:
// each operation is a few counter updates, far cheaper than the send.
type scheduler struct {
	mu     sync.Mutex
	flows  map[string]*flow
	users  map[string]*share
	closed bool
}

func newScheduler() *scheduler {
	return &scheduler{flows: make(map[string]*flow), users: make(map[string]*share)}
}

func (sc *scheduler) flowLocked(key string) *flow {
	f := sc.flows[key]
	if f == nil {
		f = &flow{window: initialFlowWindow}
		sc.flows[key] = f
	}
	return f
}

func (sc *scheduler) shareLocked(user string) *share {
	u := sc.users[user]
	if u == nil {
		u = &share{}
		sc.users[user] = u
	}
	return u
}

// admit queues subs, appending to start those that may be sent now.
func (sc *scheduler) admit(start []*subscription, subs ...*subscription) []*subscription {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return start
	}
	for _, sub := range subs {
		start = sc.admitLocked(start, sub)
	}
	return start
}

func (sc *scheduler) admitLocked(start []*subscription, sub *subscription) []*subscription {
	sub.mu.Lock()
	key := sub.flowKey
	sub.mu.Unlock()
	f := sc.flowLocked(key)
	if f.inflight >= f.window {
		f.waiting.push(sub)
		return start
	}
	u := sc.shareLocked(sub.watcher)
	if u.inflight >= MaxInflightPerWatcher {
		u.waiting.push(sub)
		return start
	}
	f.inflight++
	u.inflight++
	sub.slotFlow = key
	return append(start, sub)
}

// release returns sub's slot; answered tells whether its subscriber
// answered without a retransmission (the window grows). It appends to start
// the NOTIFYs that may now be sent.
func (sc *scheduler) release(start []*subscription, sub *subscription, answered bool) []*subscription {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	key := sub.slotFlow
	f, u := sc.flows[key], sc.users[sub.watcher]
	if f == nil || u == nil {
		return start // Close dropped the tables
	}
	f.inflight--
	u.inflight--
	if answered && f.window < maxFlowWindow {
		if f.acked++; f.acked >= f.window {
			f.window++
			f.acked = 0
		}
	}
	if !sc.closed {
		for f.inflight < f.window && f.waiting.len() > 0 {
			start = sc.admitLocked(start, f.waiting.pop())
		}
		for u.inflight < MaxInflightPerWatcher && u.waiting.len() > 0 {
			start = sc.admitLocked(start, u.waiting.pop())
		}
	}
	// Idle entries go: a flow's next burst starts at initialFlowWindow
	// again, and churning subscribers leave nothing behind.
	if f.inflight == 0 && f.waiting.len() == 0 {
		delete(sc.flows, key)
	}
	if u.inflight == 0 && u.waiting.len() == 0 {
		delete(sc.users, sub.watcher)
	}
	return start
}

// shrink halves a flow's window at its first retransmission.
func (sc *scheduler) shrink(key string) {
	sc.mu.Lock()
	if f := sc.flows[key]; f != nil {
		f.window = max(1, f.window/2)
	}
	sc.mu.Unlock()
}

// close refuses further work and forgets everything waiting.
func (sc *scheduler) close() {
	sc.mu.Lock()
	sc.closed = true
	sc.flows, sc.users = map[string]*flow{}, map[string]*share{}
	sc.mu.Unlock()
}

// sizes reports the number of flows and users with work, for tests.
func (sc *scheduler) sizes() (flows, users int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.flows), len(sc.users)
}
