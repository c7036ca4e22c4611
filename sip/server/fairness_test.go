package server

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Issue 11 F1: bob subscribes 64 times to himself from UDP sockets that never
// answer. Alice's watcher must still get her change at once, not after the
// silent NOTIFYs' Timer F: it arrives while all 64 silent subscriptions are
// still waiting for their answers (Timer F removes them when it fires).
func TestSilentSubscriberDelaysNoOne(t *testing.T) {
	const silent = 64
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "UDP")
	carol := e.newUA("carol", "UDP")
	d := carol.subscribe("alice", "presence", 60)
	wantStatus(t, d.res, 200)
	carol.nextNotify()

	var bobs []*testUA
	for range silent {
		bob := e.newUA("bob", "UDP")
		bob.silent.Store(true)
		wantStatus(t, bob.subscribe("bob", "presence", 60).res, 200)
		bobs = append(bobs, bob)
	}
	// Every silent subscriber has its NOTIFY: 64 transactions now wait
	// for Timer F.
	waitFor(t, func() bool {
		for _, b := range bobs {
			if b.seen.Load() == 0 {
				return false
			}
		}
		return true
	})

	wantStatus(t, alice.publish("", pidfDoc("alice", "still here", "", true), 60), 200)
	n := carol.nextNotify()
	if !contains(n.Body(), "still here") {
		t.Fatalf("carol got %s", n.Body())
	}
	if got := e.srv.dialogs.len(); got != silent+1 {
		t.Fatalf("carol's NOTIFY came after the silent NOTIFYs timed out: %d of %d subscriptions left", got, silent+1)
	}
	// And the silent ones do end, by Timer F, with retransmissions on the way.
	waitFor(t, func() bool { return e.srv.dialogs.len() == 1 })
	for _, b := range bobs {
		if b.seen.Load() < 2 {
			t.Fatalf("a silent subscriber saw %d NOTIFY datagrams, want retransmissions", b.seen.Load())
		}
	}
}

// rawSilentSubscribe sends a SUBSCRIBE for user to target from a socket of
// its own that then never reads: a subscriber that has gone silent. The
// server must have authentication switched off (checkAuth).
func rawSilentSubscribe(t testing.TB, e *testEnv, user, target string, i int) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	me := pc.LocalAddr().String()
	msg := "SUBSCRIBE sip:" + target + "@" + testDomain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + me + ";branch=z9hG4bK-silent-" + strconv.Itoa(i) + "\r\n" +
		"From: <sip:" + user + "@" + testDomain + ">;tag=s" + strconv.Itoa(i) + "\r\n" +
		"To: <sip:" + target + "@" + testDomain + ">\r\n" +
		"Call-ID: silent-" + strconv.Itoa(i) + "\r\nCSeq: 1 SUBSCRIBE\r\nMax-Forwards: 70\r\n" +
		"Contact: <sip:" + user + "@" + me + ">\r\nEvent: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n"
	raddr, _ := net.ResolveUDPAddr("udp4", e.udpAddr)
	if _, err := pc.WriteTo([]byte(msg), raddr); err != nil {
		t.Fatal(err)
	}
	return pc
}

// BenchmarkNotifyLatencySilent (issue 11 F1 in numbers): carol watches alice
// with 100 dialogs; each iteration alice PUBLISHes and the latency of every
// NOTIFY carol gets (PUBLISH sent to NOTIFY read) is recorded. "silent1000"
// adds 1,000 subscriptions of bob to alice from 1,000 sockets that never
// answer, each NOTIFY pending for a full Timer F (T1 500 ms: 32 s).
func BenchmarkNotifyLatencySilent(b *testing.B) {
	const watchers = 100
	for _, silent := range []int{0, 1000} {
		b.Run(fmt.Sprintf("silent%d", silent), func(b *testing.B) {
			e := newEnv(b, envOptions{max: time.Hour, def: time.Hour, t1: 500 * time.Millisecond, noAuth: silent > 0})
			alice := e.newUA("alice", "UDP")
			carol := e.newUA("carol", "UDP")
			var mu sync.Mutex
			var lat []time.Duration
			var start time.Time
			got := 0
			done := make(chan struct{}, 1)
			carol.onNotify = func(*sip.Request) {
				mu.Lock()
				if !start.IsZero() {
					lat = append(lat, time.Since(start))
				}
				got++
				if got == watchers {
					done <- struct{}{}
				}
				mu.Unlock()
			}
			wait := func() {
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					b.Fatalf("carol got %d of %d NOTIFYs", got, watchers)
				}
			}
			for range watchers {
				wantStatus(b, carol.subscribe("alice", "presence", 3600).res, 200)
			}
			wait()
			if silent > 0 {
				// In small steps: the raw subscribers do not retransmit.
				for i := range silent {
					rawSilentSubscribe(b, e, "bob", "alice", i)
					if i%25 == 24 {
						waitFor(b, func() bool { return e.srv.dialogs.len() == watchers+i+1 })
					}
				}
			}
			etag := ""
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				mu.Lock()
				got, start = 0, time.Now()
				mu.Unlock()
				res := alice.publish(etag, pidfDoc("alice", fmt.Sprint("change ", i), "", true), 3600)
				wantStatus(b, res, 200)
				etag = hv(res, "SIP-ETag")
				wait()
			}
			b.StopTimer()
			mu.Lock()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
			mu.Unlock()
		})
	}
}
