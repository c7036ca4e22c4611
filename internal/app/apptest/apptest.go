// Package apptest starts user agents for tests on loopback, each stopped
// again when the test ends, so that every test that needs one sets it up
// the same way. (A demo world: package demo/demotest, which the stack's
// own tests cannot import.)
package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// StopTimeout bounds closing what a test started: a user agent's
// unREGISTER and unSUBSCRIBEs, or a demo world's servers and buddies. It
// is generous because the race detector and parallel builds share the
// machine; Close returns as soon as it is done.
const StopTimeout = 30 * time.Second

// StartUA creates a user agent with o and starts it (REGISTER) within ctx,
// failing the test if either fails; the agent is closed when the test ends.
func StartUA(t testing.TB, ctx context.Context, o ua.Options) *ua.UA {
	t.Helper()
	u, err := ua.New(o)
	if err != nil {
		t.Fatalf("user agent %s: %v", o.AOR, err)
	}
	if err := u.Start(ctx); err != nil {
		t.Fatalf("user agent %s: start: %v", o.AOR, err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		_ = u.Close(cctx)
	})
	return u
}
