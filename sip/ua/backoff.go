package ua

import (
	"math/rand/v2"
	"time"
)

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
