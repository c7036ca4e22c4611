package server

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The soak of issue 15 at a size a test can hold: soakSubs subscriptions,
// soakTicks ticks each unsubscribing and resubscribing soakChurn of them,
// refreshing as many others (over the ticks every subscription is
// refreshed or replaced: a full refresh cycle) and fanning a PUBLISH out
// to all. After the warm-up ticks and at the end the server's tables, its
// goroutines and its own live heap are compared: a subscription
// left behind per churn (a dialog, its timer, its cached answer, a
// goroutine) shows as growth beyond the named tolerances. goleak checks
// the rest when the package's tests end.
const (
	soakSubs   = 500
	soakChurn  = soakSubs / 10 // 10 % per tick
	soakWarmup = 3
	soakTicks  = soakWarmup + 2*soakSubs/soakChurn // then two cycles: every subscription refreshed or replaced twice
	// soakHeapSlack is the growth of the server's live heap (serverHeap)
	// tolerated between the warm-up and the end: digest nonces still
	// within their lifetime, maps that grew once (50-140 KB in trials).
	// A subscription kept per churn would add
	// (soakTicks-soakWarmup)*soakChurn = 1,000 of them: 0.5-1 MB in a
	// trial that kept them on purpose.
	soakHeapSlack = 256 << 10
	// soakGoroutineSlack covers sipgo's readers and timers still winding
	// down at the moment of counting.
	soakGoroutineSlack = 2
	// soakT1 is a short T1, so that Timer J (64*T1), for which the 2xx
	// answers to UDP requests are kept, ends within the test.
	soakT1 = 50 * time.Millisecond
	// soakProfileRate is the memory profile's sampling (one sample per so
	// many bytes allocated) while the soak runs: fine enough to measure
	// the server's heap to a few KB, cheaper than profiling every
	// allocation.
	soakProfileRate = 256
)

func TestSoakChurnMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	if raceDetector {
		t.Skip("soak: the heap comparison needs a build without -race (.ci/run runs it so)")
	}
	// Allocations profiled finely enough for serverHeap to see the server's own.
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = soakProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			e := newEnv(t, envOptions{t1: soakT1})
			alice := e.newUA("alice", tp)
			bob := e.newUA("bob", tp)
			bob.onNotify = func(*sip.Request) {}
			live := make([]*dialog, 0, soakSubs)
			for range soakSubs {
				d := bob.subscribe("alice", "presence", 60)
				wantStatus(t, d.res, 200)
				d.res = nil // the test's own bookkeeping stays small and flat
				live = append(live, d)
			}
			// drained waits until the 2xx answers kept for Timer J are
			// released, as they are a Timer J or two after the last.
			drained := func(t *testing.T) {
				t.Helper()
				deadline := time.Now().Add(4*64*soakT1 + waitTime)
				for e.srv.answered.len() > 0 {
					if time.Now().After(deadline) {
						t.Fatalf("%d answers still kept for Timer J (64*T1 = %v) after %v", e.srv.answered.len(), 64*soakT1, 4*64*soakT1+waitTime)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			settled := func() bool {
				flows, users := e.srv.sched.sizes()
				return e.srv.dialogs.len() == soakSubs && e.srv.pending.len() == 0 && flows == 0 && users == 0
			}
			etag := ""
			var heapWarm int64
			var goroutinesWarm int
			for tick := range soakTicks {
				for i := range soakChurn {
					wantStatus(t, live[i].refresh(0), 200)
					live[i] = bob.subscribe("alice", "presence", 60)
					wantStatus(t, live[i].res, 200)
					live[i].res = nil
				}
				for i := soakChurn; i < 2*soakChurn; i++ {
					wantStatus(t, live[i].refresh(60), 200)
				}
				// The churned and the refreshed go to the back: the next
				// tick takes the next tenths.
				live = append(live[2*soakChurn:], live[:2*soakChurn]...)
				res := alice.publish(etag, pidfDoc("alice", fmt.Sprint("tick ", tick), "", true), 60)
				wantStatus(t, res, 200)
				etag = hv(res, "SIP-ETag")
				waitFor(t, settled)
				if tick == soakWarmup-1 {
					drained(t)
					heapWarm, goroutinesWarm = serverHeap(), runtime.NumGoroutine()
				}
			}
			drained(t)
			waitFor(t, settled)
			e.srv.watcherMu.Lock()
			counted := e.srv.watcherSubs["sip:bob@"+testDomain]
			e.srv.watcherMu.Unlock()
			if counted != soakSubs {
				t.Fatalf("after the soak bob is counted with %d subscriptions, want %d", counted, soakSubs)
			}
			deadline := time.Now().Add(waitTime)
			for runtime.NumGoroutine() > goroutinesWarm+soakGoroutineSlack && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			heapEnd, goroutinesEnd := serverHeap(), runtime.NumGoroutine()
			t.Logf("%d subscriptions, %d churned and %d refreshed per tick, %d ticks: the server's live heap %d -> %d B, goroutines %d -> %d",
				soakSubs, soakChurn, soakChurn, soakTicks, heapWarm, heapEnd, goroutinesWarm, goroutinesEnd)
			if goroutinesEnd > goroutinesWarm+soakGoroutineSlack {
				t.Errorf("goroutines grew from %d after the warm-up to %d at the end (tolerance %d)", goroutinesWarm, goroutinesEnd, soakGoroutineSlack)
			}
			if heapEnd > heapWarm+soakHeapSlack {
				t.Errorf("the server's live heap grew from %d B after the warm-up to %d B at the end (tolerance %d B)", heapWarm, heapEnd, soakHeapSlack)
			}
		})
	}
}

// serverHeap is the live heap allocated by the server's code, from the
// memory profile after full collections: allocations whose stack passes
// through this package but not through the test's own subscriber (the
// test UA's sipgo client keeps transactions for a while, and the
// runtime keeps goroutine records: neither is the server's).
func serverHeap() int64 {
	for range 3 { // the profile is up to two cycles old
		runtime.GC()
	}
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+n/4+64)
	}
	var sum int64
	for i := range recs {
		if byServer(recs[i].Stack()) {
			sum += recs[i].InUseBytes()
		}
	}
	return sum
}

func byServer(stack []uintptr) bool {
	const pkg = "github.com/sipbuddy/sipbuddy/sip/server."
	server := false
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		if name, ok := strings.CutPrefix(f.Function, pkg); ok {
			if strings.Contains(name, "testUA") || strings.Contains(name, "newUA") || strings.Contains(name, "(*dialog)") ||
				strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "serverHeap") {
				return false
			}
			server = true
		}
		if !more {
			return server
		}
	}
}
