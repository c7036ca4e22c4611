package ua

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/server"
)

// blackholeProxy forwards TCP to a target until Freeze: from then on the
// connections it had keep open but carry nothing, in either direction (a
// NAT binding that expired, a router that lost its state). Connections
// made after Freeze work.
type blackholeProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	pairs []*proxyPair
	wg    sync.WaitGroup
}

type proxyPair struct {
	frozen atomic.Bool
	a, b   net.Conn
}

func startBlackholeProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, pp := range p.pairs {
			pp.a.Close()
			pp.b.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *blackholeProxy) addr() string { return p.ln.Addr().String() }

func (p *blackholeProxy) accept() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		pp := &proxyPair{a: a, b: b}
		p.mu.Lock()
		p.pairs = append(p.pairs, pp)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pp, a, b)
		go p.pipe(pp, b, a)
	}
}

// pipe copies src to dst, dropping everything once the pair is frozen.
func (p *blackholeProxy) pipe(pp *proxyPair, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pp.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

// freeze silences every connection open now.
func (p *blackholeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.pairs {
		pp.frozen.Store(true)
	}
}

// A TCP flow that dies silently (no FIN, no RST) is noticed by the
// keep-alive within one interval, not at the next refresh a minute later:
// registration, publication and both subscriptions recover on a new flow,
// and the CRLF CRLF ping / CRLF pong exchange shows in the trace.
func TestKeepAliveNoticesSilentlyDeadFlow(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	proxy := startBlackholeProxy(t, e.tcp)
	const keepAlive = 400 * time.Millisecond
	long := func(o Options) Options {
		// Nothing refreshes on its own during the test.
		o.RegisterExpires, o.PublishExpires, o.SubscribeExpires = 60*time.Second, 60*time.Second, 60*time.Second
		return o
	}
	ao := long(e.options(aliceAOR, "alicepw"))
	ao.Proxy = "sip:" + proxy.addr() + ";transport=tcp"
	ao.KeepAliveInterval, ao.KeepAliveTimeout = keepAlive, keepAlive/2
	alice := startUA(t, "alice", ao)
	bob := startUA(t, "bob", long(e.options(bobAOR, "bobpw")))

	alice.SetPresence(Presence{Open: true, Note: "before"})
	bob.SetPresence(Presence{Open: true, Note: "bob before"})
	alice.Subscribe(bobAOR)
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "alice before", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "before" }))
	alice.waitFor(t, "bob before", presenceOf(bobAOR, func(p PresenceEvent) bool { return p.State.Note == "bob before" }))
	eventually(t, "a keep-alive pong", func() bool { return alice.rec.count(tracePong) > 0 })
	registers := alice.rec.count(">>> REGISTER")

	frozen := time.Now()
	proxy.freeze()
	eventually(t, "re-registered on a new flow", func() bool { return alice.rec.count(">>> REGISTER") > registers })
	took := time.Since(frozen)
	t.Logf("dead flow noticed and REGISTER sent %v after the freeze (keep-alive interval %v)", took, keepAlive)
	if took > 10*keepAlive {
		t.Errorf("the dead flow was noticed after %v, not within about one keep-alive interval (%v)", took, keepAlive)
	}

	alice.SetPresence(Presence{Open: true, Note: "after"})
	bob.waitFor(t, "alice after (publication recovered)", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "after" }))
	bob.SetPresence(Presence{Open: true, Note: "bob after"})
	alice.waitFor(t, "bob after (subscription recovered)", presenceOf(bobAOR, func(p PresenceEvent) bool { return p.State.Note == "bob after" }))
	if alice.rec.count(tracePing) == 0 {
		t.Error("no keep-alive ping in the trace")
	}
}

// The registrar's Flow-Timer caps the keep-alive interval, and REGISTER
// carries the instance and reg-id.
func TestOutboundRegister(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	e.stop()
	e.opts.FlowTimer = 2 * time.Second
	e.start("127.0.0.1:0", "127.0.0.1:0")
	o := e.options(aliceAOR, "alicepw")
	o.InstanceID = "urn:uuid:00000000-0000-4000-8000-000000000001"
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "registered", isRegistered)
	if got := alice.keepAliveInterval(); got != 2*time.Second {
		t.Errorf("keep-alive interval %v, want the Flow-Timer 2s", got)
	}
	b := e.srv.Bindings("alice")
	if len(b) != 1 || !strings.Contains(b[0].Contact, "127.0.0.1") {
		t.Fatalf("bindings %+v", b)
	}
}

// eventually polls cond until it holds (or fails the test after
// waitTimeout, a safety net, not a speed assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On UDP the keep-alive is a CRLF CRLF to the proxy that keeps the NAT
// binding open; nothing answers it and the registration stays as it is.
func TestKeepAliveUDP(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	o := e.options(aliceAOR, "alicepw")
	o.Proxy, o.Transport = "sip:"+e.udp, "udp"
	o.RegisterExpires = 60 * time.Second
	o.KeepAliveInterval = 200 * time.Millisecond
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "registered", isRegistered)
	eventually(t, "three keep-alive pings", func() bool { return alice.rec.count(tracePing) >= 3 })
	if n := alice.rec.count(">>> REGISTER"); n > 2 {
		t.Errorf("%d REGISTERs: an unanswered UDP ping was taken for a dead flow", n)
	}
}
