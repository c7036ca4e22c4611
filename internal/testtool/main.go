package testtool

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

// Main runs a package's tests with QuietSIP and fails the run if any
// goroutine outlives them (goleak), so that a test which leaves a user
// agent, server or timer running is caught where it is written.
func Main(m *testing.M, opts ...goleak.Option) {
	QuietSIP()
	goleak.VerifyTestMain(m, opts...)
}

// MainNoLeakCheck runs a package's tests with QuietSIP only, for packages
// whose tests check goroutine leaks test by test instead (or drive
// subprocesses, where a process-wide check says nothing).
func MainNoLeakCheck(m *testing.M) {
	QuietSIP()
	os.Exit(m.Run())
}
