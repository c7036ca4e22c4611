package server

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const fanout = 1000

// BenchmarkFanout1000: one presentity with 1,000 subscriptions (one test UA,
// 1,000 dialogs); each iteration PUBLISHes a change (with its digest round
// trip) and waits until the UA has answered all 1,000 NOTIFYs. Setup also
// measures the heap held per subscription once its transactions are over.
func BenchmarkFanout1000(b *testing.B) {
	for _, tp := range []string{"TCP", "UDP"} {
		b.Run(tp, func(b *testing.B) {
			e := newEnv(b, envOptions{max: time.Hour, def: time.Hour})
			alice := e.newUA("alice", tp)
			watcher := e.newUA("bob", tp)
			var got atomic.Int64
			var want atomic.Int64
			done := make(chan struct{}, 1)
			watcher.onNotify = func(*sip.Request) {
				if got.Add(1) == want.Load() {
					done <- struct{}{}
				}
			}
			// expect arms the wait for n more NOTIFYs; wait blocks for them.
			expect := func(n int64) { want.Store(got.Load() + n) }
			wait := func() {
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					b.Fatalf("%d NOTIFYs answered, waiting for %d", got.Load(), want.Load())
				}
			}
			etag := hv(alice.publish("", pidfDoc("alice", "start", "http://127.0.0.1/icon", true), 3600), "SIP-ETag")

			heapBefore := heapInUse()
			expect(fanout)
			for range fanout {
				if d := watcher.subscribe("alice", "presence", 3600); d.res.StatusCode != 200 {
					b.Fatalf("SUBSCRIBE: %d", d.res.StatusCode)
				}
			}
			wait()
			// Let UDP server transactions (Timer J) of the test UA end.
			time.Sleep(2 * time.Second)
			perSub := float64(heapInUse()-heapBefore) / fanout

			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				expect(fanout)
				res := alice.publish(etag, pidfDoc("alice", fmt.Sprint("change ", i), "http://127.0.0.1/icon", true), 3600)
				if res.StatusCode != 200 {
					b.Fatalf("PUBLISH: %d", res.StatusCode)
				}
				etag = hv(res, "SIP-ETag")
				wait()
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/fanout")
			b.ReportMetric(float64(fanout*b.N)/elapsed.Seconds(), "NOTIFY/s")
			b.ReportMetric(perSub, "B/subscription")
		})
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
