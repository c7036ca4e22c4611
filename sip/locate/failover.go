package locate

import (
	"sync"
	"time"
)

// DefaultHold is how long a target that did not answer is passed over
// before it is tried again.
const DefaultHold = 5 * time.Minute

// Failover picks, among located targets, the best one that has not failed
// lately: a target marked down is skipped for Hold, then preferred again
// (a primary server back after a restart takes its clients back). It is
// safe for concurrent use.
type Failover struct {
	hold time.Duration
	now  func() time.Time

	mu      sync.Mutex
	targets []Target
	down    map[string]time.Time // Addr → when it may be tried again
}

// NewFailover returns an empty Failover; hold <= 0 means DefaultHold.
func NewFailover(hold time.Duration) *Failover {
	if hold <= 0 {
		hold = DefaultHold
	}
	return &Failover{hold: hold, now: time.Now, down: make(map[string]time.Time)}
}

// Set replaces the targets (after a new location), keeping what is known
// about the ones still there.
func (f *Failover) Set(ts []Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = append([]Target(nil), ts...)
}

// Pick returns the first target not marked down; when every one is, the
// one whose hold ends first. ok is false without targets.
func (f *Failover) Pick() (t Target, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.targets) == 0 {
		return Target{}, false
	}
	now := f.now()
	best := -1
	for i, t := range f.targets {
		until, isDown := f.down[t.Addr]
		if !isDown || !now.Before(until) {
			delete(f.down, t.Addr)
			return t, true
		}
		if best < 0 || until.Before(f.down[f.targets[best].Addr]) {
			best = i
		}
	}
	return f.targets[best], true
}

// MarkDown records that t did not answer.
func (f *Failover) MarkDown(t Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[t.Addr] = f.now().Add(f.hold)
}

// Len is the number of targets.
func (f *Failover) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.targets)
}
