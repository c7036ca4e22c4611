// Package backoff computes the waits between attempts of something that
// keeps failing: a registration, a subscription, an icon download, the
// buddy list. It is the project's one retry schedule.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff computes bounded, jittered waits after consecutive failures:
// Min, 2·Min, 4·Min ... up to Max, each drawn uniformly from [d/2, d] so
// that many clients failed by the same server outage do not come back in
// lock-step. The zero value waits 0; set Min and Max. It is not safe for
// concurrent use: each retry loop owns one.
type Backoff struct {
	Min, Max time.Duration
	failures int
}

// Next records a failure and returns the wait before the next attempt, at
// least retryAfter (a server's Retry-After; 0 when absent).
func (b *Backoff) Next(retryAfter time.Duration) time.Duration {
	d := b.Min
	for i := 0; i < b.failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.failures++
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	return max(d, retryAfter)
}

// Failed records a failure without asking for a wait: the caller retries
// at once this time, and the next wait is the one after it.
func (b *Backoff) Failed() { b.failures++ }

// Failures returns the failures recorded since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

// Reset forgets past failures after a success.
func (b *Backoff) Reset() { b.failures = 0 }
