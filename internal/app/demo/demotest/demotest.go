// Package demotest starts a demo world for tests, closed again when the
// test ends, so that every test that needs one sets it up the same way.
package demotest

import (
	"context"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
)

// Start starts a demo world with o within ctx, failing the test if it
// cannot; the world is closed when the test ends and a failed close fails
// the test.
func Start(t testing.TB, ctx context.Context, o demo.Options) *demo.World {
	t.Helper()
	w, err := demo.Start(ctx, o)
	if err != nil {
		t.Fatalf("demo world: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), apptest.StopTimeout)
		defer cancel()
		if err := w.Close(cctx); err != nil {
			t.Errorf("demo world close: %v", err)
		}
	})
	return w
}
