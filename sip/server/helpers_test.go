package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

const (
	testDomain = "example.test"
	waitTime   = 5 * time.Second // upper bound for anything to arrive on loopback
)

var testUsers = map[string]string{"alice": "alicepw", "bob": "bobpw", "carol": "carolpw", "mallory": "mallorypw"}

func TestMain(m *testing.M) {
	// Process globals, set once: quiet sipgo's package logger and shorten
	// transaction timers so timeouts (Timer F = 64*T1) take 1.6 s.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	sip.SetTimers(25*time.Millisecond, 100*time.Millisecond, 125*time.Millisecond)
	goleak.VerifyTestMain(m,
		// sipgo's TCP/UDP readers of closed UAs may take a moment.
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportTCP).readConnection"),
	)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SIPBUDDY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testEnv is a running server on 127.0.0.1 (UDP and TCP) with a store.
type testEnv struct {
	t       testing.TB
	st      store.Store
	srv     *Server
	udpAddr string
	tcpAddr string
}

type envOptions struct {
	policy                 Policy
	min, max, def          time.Duration
	store                  store.Store
	noTCP                  bool
	udpPortFrom, tcpPortTo string
	// t1 and preAuth replace RFC 3261's T1 for NOTIFYs and PreAuthTimeout.
	t1, preAuth time.Duration
	noAuth      bool // every digest check passes (raw test subscribers)
	logger      *slog.Logger
}

func newEnv(t testing.TB, eo envOptions) *testEnv {
	t.Helper()
	st := eo.store
	if st == nil {
		b, err := store.Open(filepath.Join(t.TempDir(), "xcap.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		for u, pw := range testUsers {
			if err := b.SetPassword(u, pw); err != nil {
				t.Fatal(err)
			}
		}
		st = b
	}
	o := Options{Domain: testDomain, Store: st, Policy: eo.policy, MinExpires: eo.min, MaxExpires: eo.max, DefaultExpires: eo.def, Logger: testLogger(t)}
	if eo.logger != nil {
		o.Logger = eo.logger
	}
	if o.MinExpires == 0 {
		o.MinExpires = time.Second
	}
	if o.MaxExpires == 0 {
		o.MaxExpires = 120 * time.Second
	}
	if o.DefaultExpires == 0 {
		o.DefaultExpires = 60 * time.Second
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if eo.t1 > 0 {
		srv.t1, srv.t2 = eo.t1, 8*eo.t1
	}
	if eo.preAuth > 0 {
		srv.preAuthTimeout = eo.preAuth
	}
	if eo.noAuth {
		srv.checkAuth = func(req *sip.Request, _ sip.ServerTransaction, _ string, _ bool) bool {
			srv.authenticatedFrom(req.Source())
			return true
		}
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if !eo.noTCP {
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	e := &testEnv{t: t, st: st, srv: srv, udpAddr: pc.LocalAddr().String()}
	if ln != nil {
		e.tcpAddr = ln.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc, ln) }()
	waitUDPPooled(t, srv.ua, e.udpAddr)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	return e
}

// waitUDPPooled waits until sipgo has put a UDP listener in its pool, so
// the first request sent from (or to) it does not race its registration.
func waitUDPPooled(t testing.TB, ua *sipgo.UserAgent, addr string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil {
			c.TryClose()
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("UDP listener %s never pooled", addr)
}

// testUA is a small SIP user agent for the tests: it sends requests to the
// server with digest authentication and records the NOTIFYs it receives.
type testUA struct {
	t         testing.TB
	user      string
	password  string
	transport string // "UDP" or "TCP"
	server    string // server host:port for that transport
	ua        *sipgo.UserAgent
	cli       *sipgo.Client
	listen    string // our listening host:port
	notifies  chan *sip.Request
	answer    atomic.Int32 // status code for NOTIFYs (200 by default)
	silent    atomic.Bool  // never answer NOTIFYs (they are still counted in seen)
	seen      atomic.Int64
	closer    io.Closer
	// onNotify, when set before the UA receives anything, replaces the
	// NOTIFY queue (benchmarks count instead of keeping messages).
	onNotify func(*sip.Request)
}

func (e *testEnv) newUA(user, transport string) *testUA {
	t := e.t
	t.Helper()
	u := &testUA{t: t, user: user, password: testUsers[user], transport: transport, notifies: make(chan *sip.Request, 256)}
	u.answer.Store(200)
	u.server = e.udpAddr
	if transport == "TCP" {
		u.server = e.tcpAddr
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(testDomain),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger(t))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger(t)),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		t.Fatal(err)
	}
	u.ua = ua
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		if u.onNotify != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			u.onNotify(req)
			return
		}
		u.seen.Add(1)
		if u.silent.Load() {
			return
		}
		select {
		case u.notifies <- req:
		default:
			t.Errorf("%s: NOTIFY queue full", user)
		}
		tx.Respond(sip.NewResponseFromRequest(req, int(u.answer.Load()), "Answer", nil))
	})
	var serveDone sync.WaitGroup
	if transport == "UDP" || transport == "UDP+TCP" {
		// "UDP+TCP": a UDP UA that also accepts TCP on the same port, as
		// RFC 3261 §18 asks of every UA.
		var pc net.PacketConn
		var ln net.Listener
		for range 20 {
			if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			if transport == "UDP" {
				break
			}
			if ln, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
				break
			}
			pc.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		u.transport, u.server = "UDP", e.udpAddr
		u.listen = pc.LocalAddr().String()
		serveDone.Add(1)
		go func() { defer serveDone.Done(); srv.ServeUDP(pc) }()
		u.closer = pc
		if ln != nil {
			serveDone.Add(1)
			go func() { defer serveDone.Done(); srv.ServeTCP(ln) }()
			u.closer = closers{pc, ln}
		}
		waitUDPPooled(t, ua, u.listen)
		u.cli, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(u.listen), sipgo.WithClientHostname("127.0.0.1"))
	} else {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u.listen = ln.Addr().String()
		serveDone.Add(1)
		go func() { defer serveDone.Done(); srv.ServeTCP(ln) }()
		u.closer = ln
		u.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		u.closer.Close()
		ua.Close()
		serveDone.Wait()
	})
	return u
}

type closers []io.Closer

func (cs closers) Close() error {
	for _, c := range cs {
		c.Close()
	}
	return nil
}

func (u *testUA) aor() string { return "sip:" + u.user + "@" + testDomain }

func (u *testUA) contact() *sip.ContactHeader {
	host, port, _ := sip.ParseAddr(u.listen)
	c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: u.user, Host: host, Port: port}}
	if u.transport == "TCP" {
		c.Address.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return c
}

// newRequest builds an out-of-dialog request to target ("alice").
func (u *testUA) newRequest(method sip.RequestMethod, target string) *sip.Request {
	ruri := sip.Uri{Scheme: "sip", User: target, Host: testDomain}
	req := sip.NewRequest(method, ruri)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.user, Host: testDomain}, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(10)}}})
	req.AppendHeader(&sip.ToHeader{Address: ruri})
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: method})
	req.SetTransport(u.transport)
	req.SetDestination(u.server)
	return req
}

func withHeader(req *sip.Request, name, value string) *sip.Request {
	req.AppendHeader(sip.NewHeader(name, value))
	return req
}

// do sends req and answers a digest challenge with the UA's credentials.
func (u *testUA) do(req *sip.Request) *sip.Response {
	u.t.Helper()
	return u.doAs(req, u.user, u.password)
}

func (u *testUA) doAs(req *sip.Request, user, password string) *sip.Response {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	res, err := u.cli.Do(ctx, req)
	if err == nil && res == nil {
		err = errors.New("transaction ended without a response")
	}
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.Recipient.String(), err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = u.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			u.t.Fatalf("%s %s with digest: %v", req.Method, req.Recipient.String(), err)
		}
	}
	return res
}

// noAuth sends req once and returns the answer as it is.
func (u *testUA) noAuth(req *sip.Request) *sip.Response {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	res, err := u.cli.Do(ctx, req)
	if err == nil && res == nil {
		err = errors.New("transaction ended without a response")
	}
	if err != nil {
		u.t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

func (u *testUA) nextNotify() *sip.Request {
	u.t.Helper()
	select {
	case n := <-u.notifies:
		return n
	case <-time.After(waitTime):
		u.t.Fatalf("%s: no NOTIFY within %v", u.user, waitTime)
		return nil
	}
}

// noNotify checks that no NOTIFY arrives within d.
func (u *testUA) noNotify(d time.Duration) {
	u.t.Helper()
	select {
	case n := <-u.notifies:
		u.t.Fatalf("%s: unexpected NOTIFY %s: %s", u.user, hv(n, "Subscription-State"), n.Body())
	case <-time.After(d):
	}
}

func hv(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func wantStatus(t testing.TB, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, code)
	}
}

// dialog is the subscriber side of a subscription made by subscribe.
type dialog struct {
	u      *testUA
	callID string
	from   *sip.FromHeader
	to     *sip.ToHeader
	remote sip.Uri // server Contact
	cseq   uint32
	event  string
	res    *sip.Response
}

func (u *testUA) subscribe(target, event string, expires int) *dialog {
	u.t.Helper()
	req := u.newRequest(sip.SUBSCRIBE, target)
	req.AppendHeader(u.contact())
	withHeader(req, "Event", event)
	withHeader(req, "Expires", strconv.Itoa(expires))
	if event == "presence" {
		withHeader(req, "Accept", "application/pidf+xml")
	} else {
		withHeader(req, "Accept", "application/watcherinfo+xml")
	}
	res := u.do(req)
	d := &dialog{u: u, callID: string(*req.CallID()), from: req.From(), cseq: req.CSeq().SeqNo, event: event, res: res}
	if res.StatusCode == 200 {
		d.to = res.To()
		if c := res.Contact(); c != nil {
			d.remote = *c.Address.Clone()
		}
	}
	return d
}

// refresh sends an in-dialog SUBSCRIBE.
func (d *dialog) refresh(expires int) *sip.Response {
	d.u.t.Helper()
	d.cseq++
	req := sip.NewRequest(sip.SUBSCRIBE, d.remote)
	req.AppendHeader(&sip.FromHeader{Address: d.from.Address, Params: d.from.Params.Clone()})
	req.AppendHeader(&sip.ToHeader{Address: d.to.Address, Params: d.to.Params.Clone()})
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(d.u.contact())
	withHeader(req, "Event", d.event)
	withHeader(req, "Expires", strconv.Itoa(expires))
	req.SetTransport(d.u.transport)
	req.SetDestination(d.u.server)
	return d.u.noAuth(req)
}

// pidfDoc is a PIDF document like Blink publishes: a tuple and a person with
// a note and a CIPID icon.
func pidfDoc(user, note, icon string, open bool) []byte {
	basic := "closed"
	if open {
		basic = "open"
	}
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:cipid="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:%s@%s">
  <tuple id="t-%s"><status><basic>%s</basic></status><contact>sip:%s@%s</contact></tuple>
  <dm:person id="p-%s">
    <rpid:activities><rpid:busy/></rpid:activities>
    <cipid:icon>%s</cipid:icon>
    <dm:note>%s</dm:note>
  </dm:person>
</presence>`, user, testDomain, user, basic, user, testDomain, user, icon, note))
}

// publish sends a PUBLISH (etag "" = initial; body nil = refresh/remove).
func (u *testUA) publish(etag string, body []byte, expires int) *sip.Response {
	u.t.Helper()
	req := u.newRequest(sip.PUBLISH, u.user)
	withHeader(req, "Event", "presence")
	withHeader(req, "Expires", strconv.Itoa(expires))
	if etag != "" {
		withHeader(req, "SIP-If-Match", etag)
	}
	if body != nil {
		withHeader(req, "Content-Type", "application/pidf+xml")
	}
	req.SetBody(body)
	return u.do(req)
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
