package ua

import (
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/server"
)

// RefreshWatchers makes the winfo subscription refresh at once, and the
// server's answer arrives as a new WatchersEvent with a newer version.
func TestRefreshWatchers(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	o := e.options(aliceAOR, "alicepw")
	o.SubscribeExpires = 600e9 // no refresh of its own during the test
	alice := startUA(t, "alice", o)
	alice.WatchWatchers(true)
	first := alice.waitFor(t, "watcher list", func(ev Event) bool { _, ok := ev.(WatchersEvent); return ok }).(WatchersEvent)

	alice.RefreshWatchers()
	alice.waitFor(t, "a newer watcher list", func(ev Event) bool {
		w, ok := ev.(WatchersEvent)
		return ok && w.Info.Version > first.Info.Version
	})
}
