package server

import (
	"sync"
	"time"
)

// A blocked watcher is told to ask again after BlockedRetryAfter
// (blockedReason). One that asks again much sooner ignores that, as
// python-sipsimple does (it subscribes again at once whenever a
// subscription ends): it is answered 503 with the Retry-After left, which
// makes such clients back off, instead of a SUBSCRIBE and NOTIFY at the
// speed of the round trip.
const (
	// MaxBlockedRemembered bounds the (presentity, watcher) pairs whose
	// last block is remembered.
	MaxBlockedRemembered = 4096
)

// blockedCache remembers when each blocked watcher was last told so.
type blockedCache struct {
	mu sync.Mutex
	at map[string]time.Time // presentity AOR + "\x00" + watcher AOR
}

func blockedKey(presentity, watcher string) string { return presentity + "\x00" + watcher }

// noteBlocked records that watcher was just told it is blocked by p.
func (s *Server) noteBlocked(presentity, watcher string) {
	c := &s.blocked
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = make(map[string]time.Time)
	}
	if len(c.at) >= MaxBlockedRemembered {
		for k, t := range c.at {
			if now.Sub(t) >= s.opts.BlockedRetryAfter {
				delete(c.at, k)
			}
		}
		for k := range c.at {
			if len(c.at) < MaxBlockedRemembered {
				break
			}
			delete(c.at, k) // still full: forget any one
		}
	}
	c.at[blockedKey(presentity, watcher)] = now
}

// blockedTooSoon reports whether a blocked watcher asks again before half
// of its retry-after has passed, and how long it should still wait.
func (s *Server) blockedTooSoon(presentity, watcher string) (wait time.Duration, soon bool) {
	c := &s.blocked
	c.mu.Lock()
	at, ok := c.at[blockedKey(presentity, watcher)]
	c.mu.Unlock()
	if !ok {
		return 0, false
	}
	since := time.Since(at)
	if since >= s.opts.BlockedRetryAfter/2 {
		return 0, false
	}
	return s.opts.BlockedRetryAfter - since, true
}
