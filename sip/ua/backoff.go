package ua

import (
	"math/rand/v2"
	"time"
)

// backoff computes bounded, jittered waits after consecutive failures:
// Min, 2·Min, 4·Min ... up to Max, each drawn uniformly from [d/2, d] so
// that many clients restarted by the same server outage do not come back in
// lock-step.
type backoff struct {
	Min, Max time.Duration
	failures int
}

// next records a failure and returns the wait before the next attempt,
// at least retryAfter (the server's Retry-After, 0 when absent).
func (b *backoff) next(retryAfter time.Duration) time.Duration {
	d := b.Min
	for i := 0; i < b.failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.failures++
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

// reset forgets past failures after a success.
func (b *backoff) reset() { b.failures = 0 }

// refreshAfter returns when to refresh something the server granted for
// granted: at a fraction in [lo, hi] of it, never later than margin before
// the end, never sooner than minRefresh.
func refreshAfter(granted time.Duration, lo, hi float64) time.Duration {
	f := lo
	if hi > lo {
		f = lo + rand.Float64()*(hi-lo)
	}
	d := time.Duration(float64(granted) * f)
	if granted-d > maxRefreshMargin {
		d = granted - maxRefreshMargin
	}
	return max(d, minRefresh)
}

const (
	// minRefresh keeps a server granting tiny expiries from making us spin.
	minRefresh = 500 * time.Millisecond
	// maxRefreshMargin: with long expiries refresh this long before the
	// end rather than at a fixed fraction (80% of an hour would leave 12
	// minutes unused).
	maxRefreshMargin = 2 * time.Minute
)

// sleep waits for d (forever when d < 0), a wake-up or stop, the wait of
// every refresh loop (registration, publication, subscriptions). It
// reports false when stop closed.
func sleep(d time.Duration, wake <-chan struct{}, stop <-chan struct{}) bool {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-stop:
		return false
	case <-wake:
	case <-timer:
	}
	return true
}
