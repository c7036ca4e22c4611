// Package testmain is the one TestMain of the packages whose tests run
// SIP user agents or servers in-process. It is apart from testtool so
// that tests with no SIP in them (xcap's) do not depend on sipgo.
package testmain

import (
	"log/slog"
	"os"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

// QuietSIP sends sipgo's process-wide logger to nowhere: the user agents
// and servers a test runs in-process log connection bookkeeping through it,
// which would bury a failing test's own output. It is a process global, so
// it is set once from TestMain, never per test.
func QuietSIP() { sipgo.SetDefaultLogger(slog.New(slog.DiscardHandler)) }

// Run runs a package's tests with QuietSIP and fails the run if any
// goroutine outlives them (goleak), so that a test which leaves a user
// agent, server or timer running is caught where it is written.
func Run(m *testing.M, opts ...goleak.Option) {
	QuietSIP()
	goleak.VerifyTestMain(m, opts...)
}

// RunNoLeakCheck runs a package's tests with QuietSIP only, for packages
// whose tests check goroutine leaks test by test instead (or drive
// subprocesses, where a process-wide check says nothing).
func RunNoLeakCheck(m *testing.M) {
	QuietSIP()
	os.Exit(m.Run())
}
