package backoff

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithinJitterUpToMax(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 8 * time.Second}
	for i, want := range []time.Duration{1, 2, 4, 8, 8, 8} {
		want *= time.Second
		d := b.Next(0)
		if d < want/2 || d > want {
			t.Errorf("attempt %d: wait %s, want within [%s, %s]", i+1, d, want/2, want)
		}
	}
	if b.Failures() != 6 {
		t.Errorf("failures %d, want 6", b.Failures())
	}
	b.Reset()
	if d := b.Next(0); d > time.Second {
		t.Errorf("after Reset: %s, want at most Min", d)
	}
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 2 * time.Second}
	if d := b.Next(time.Minute); d != time.Minute {
		t.Errorf("wait %s, want the server's minute", d)
	}
}

func TestBackoffFailedSkipsOneWait(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute}
	b.Failed()
	if d := b.Next(0); d < time.Second || d > 2*time.Second {
		t.Errorf("wait after one free retry %s, want within [1s, 2s]", d)
	}
}

func TestZeroBackoffDoesNotPanic(t *testing.T) {
	var b Backoff
	if d := b.Next(0); d != 0 {
		t.Errorf("zero Backoff waits %s", d)
	}
}
