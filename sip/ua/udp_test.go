package ua

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/server"
)

// startEmbeddedPair serves the embedded server on one port for UDP and
// TCP, as a real SIP server does.
func startEmbeddedPair(t *testing.T) *embedded {
	t.Helper()
	e := startEmbedded(t, server.AllowDomain)
	e.stop()
	pc, ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.udp, e.tcp = srv, pc.LocalAddr().String(), ln.Addr().String()
	done := make(chan error, 1)
	e.done = done
	go func() { done <- srv.Serve(context.Background(), pc, ln) }()
	t.Cleanup(e.stop)
	return e
}

// wireLog keeps the first line and the Via of every request sent.
type wireLog struct {
	mu   sync.Mutex
	sent []string // "PUBLISH TCP", "REGISTER UDP"
	at   []time.Time
	size []int
}

func (w *wireLog) trace(in bool, msg string) {
	if in {
		return
	}
	method, _, _ := strings.Cut(msg, " ")
	tp := "?"
	for _, t := range []string{"UDP", "TCP", "TLS"} {
		if strings.Contains(msg, "Via: SIP/2.0/"+t) {
			tp = t
		}
	}
	w.mu.Lock()
	w.sent = append(w.sent, method+" "+tp)
	w.at = append(w.at, time.Now())
	w.size = append(w.size, len(msg))
	w.mu.Unlock()
}

// count is how many requests of what ("PUBLISH TCP", or "REGISTER" for
// any transport) were sent in [from, to).
func (w *wireLog) count(what string, from, to time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for i, s := range w.sent {
		if strings.HasPrefix(s, what) && !w.at[i].Before(from) && w.at[i].Before(to) {
			n++
		}
	}
	return n
}

// A note that makes the PUBLISH about 1,400 bytes, over the 1,300 of UDP.
var bigNote = strings.TrimSpace(strings.Repeat("a long note that does not fit in a datagram ", 5))

// F6: with --transport udp a PUBLISH of about 1,400 bytes goes over TCP
// to the same address (RFC 3261 §18.1.1) and reaches the watcher; the
// small requests stay on UDP.
func TestUDPLargeRequestGoesOverTCP(t *testing.T) {
	e := startEmbeddedPair(t)
	w := &wireLog{}
	o := e.options(aliceAOR, "alicepw")
	o.Proxy, o.Transport, o.Trace = "sip:"+e.udp+";transport=udp", "udp", w.trace
	alice := startUA(t, "alice", o)
	bob := startUA(t, "bob", e.options(bobAOR, "bobpw"))
	alice.waitFor(t, "registered over UDP", isRegistered)
	alice.SetPresence(Presence{Open: true, Note: bigNote})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "the big note", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == bigNote }))
	now := time.Now()
	w.mu.Lock()
	for i, m := range w.sent {
		if m == "PUBLISH TCP" {
			t.Logf("PUBLISH of %d bytes went over TCP", w.size[i])
		}
	}
	w.mu.Unlock()
	if n := w.count("PUBLISH TCP", time.Time{}, now); n == 0 {
		t.Errorf("no PUBLISH over TCP; sent %v", w.sent)
	}
	if n := w.count("PUBLISH UDP", time.Time{}, now); n != 0 {
		t.Errorf("%d PUBLISHes over UDP", n)
	}
	if n := w.count("REGISTER UDP", time.Time{}, now); n == 0 {
		t.Errorf("REGISTER left UDP; sent %v", w.sent)
	}
}

// F6: when even TCP cannot carry it (the server has no TCP on that port)
// the failing PUBLISH makes the UA recover, with back-off: a bounded
// number of REGISTERs and PUBLISHes on the wire in a 3 s window, not
// hundreds.
func TestUDPFailingRequestNoStorm(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain) // UDP and TCP on different ports
	w := &wireLog{}
	o := e.options(aliceAOR, "alicepw")
	o.Proxy, o.Transport, o.Trace = "sip:"+e.udp+";transport=udp", "udp", w.trace
	o.RetryMin, o.RetryMax = 100*time.Millisecond, time.Second
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "registered over UDP", isRegistered)
	alice.SetPresence(Presence{Open: true, Note: bigNote})
	alice.waitFor(t, "the PUBLISH failing", func(ev Event) bool {
		p, ok := ev.(PublicationEvent)
		return ok && p.State == PublicationFailed
	})
	from := time.Now()
	const window = 3 * time.Second
	time.Sleep(window)
	to := from.Add(window)
	registers, publishes := w.count("REGISTER", from, to), w.count("PUBLISH", from, to)
	t.Logf("in %v: %d REGISTERs, %d PUBLISHes", window, registers, publishes)
	// Back-off 0.1 s doubling to 1 s: about 7 recoveries in 3 s.
	if registers > 20 || publishes > 30 {
		t.Errorf("%d REGISTERs and %d PUBLISHes in %v: a storm", registers, publishes, window)
	}
	if registers == 0 {
		t.Errorf("no recovery at all in %v", window)
	}
}
