package server

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Issue 15: subscriptions that unsubscribe and resubscribe while the
// presentity changes leave nothing behind: the server's tables return to
// their size and its goroutines to their number (goleak checks the rest
// when the package's tests end).
func TestChurnLeavesNothingBehind(t *testing.T) {
	const subs, churn, rounds = 40, 10, 6
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			alice := e.newUA("alice", tp)
			bob := e.newUA("bob", tp)
			bob.onNotify = func(*sip.Request) {}
			var live []*dialog
			for range subs {
				d := bob.subscribe("alice", "presence", 60)
				wantStatus(t, d.res, 200)
				live = append(live, d)
			}
			etag := ""
			settled := func() bool {
				flows, users := e.srv.sched.sizes()
				return e.srv.dialogs.len() == subs && e.srv.pending.len() == 0 && flows == 0 && users == 0
			}
			waitFor(t, settled)
			goroutines := runtime.NumGoroutine()
			for r := range rounds {
				for i := range churn {
					wantStatus(t, live[i].refresh(0), 200)
					live[i] = bob.subscribe("alice", "presence", 60)
					wantStatus(t, live[i].res, 200)
				}
				live = append(live[churn:], live[:churn]...)
				res := alice.publish(etag, pidfDoc("alice", fmt.Sprint("round ", r), "", true), 60)
				wantStatus(t, res, 200)
				etag = hv(res, "SIP-ETag")
			}
			waitFor(t, settled)
			e.srv.writersMu.Lock()
			writers := len(e.srv.writers)
			e.srv.writersMu.Unlock()
			e.srv.watcherMu.Lock()
			counted := e.srv.watcherSubs["sip:bob@"+testDomain]
			e.srv.watcherMu.Unlock()
			if writers != 0 || counted != subs {
				t.Fatalf("after churn: %d stream writers, bob counted with %d subscriptions (want 0, %d)", writers, counted, subs)
			}
			// Goroutines of sipgo's transactions end with their timers.
			deadline := time.Now().Add(waitTime)
			for runtime.NumGoroutine() > goroutines+2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines+2 {
				t.Fatalf("%d goroutines after churn, %d before", n, goroutines)
			}
		})
	}
}
