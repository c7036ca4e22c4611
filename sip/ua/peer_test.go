package ua

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// scriptedPeer is a minimal SIP registrar/notifier on 127.0.0.1 whose
// answers each test scripts: it lets the tests produce what the embedded
// server never does on purpose (a NOTIFY before the 200, probation, 423,
// a silent notifier, forgotten publications).
type scriptedPeer struct {
	t         *testing.T
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	client    *sipgo.Client
	ln        *killListener
	addr      string
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu          sync.Mutex
	onSubscribe func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction)
	onPublish   func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction)
	subscribes  chan *sip.Request
	publishes   chan *sip.Request
}

func newScriptedPeer(t *testing.T) *scriptedPeer {
	t.Helper()
	return newScriptedPeerAt(t, "127.0.0.1:0")
}

// newScriptedPeerAt listens on addr: a "restarted" peer takes the address
// of a closed one.
func newScriptedPeerAt(t *testing.T, addr string) *scriptedPeer {
	t.Helper()
	p := &scriptedPeer{t: t, subscribes: make(chan *sip.Request, 64), publishes: make(chan *sip.Request, 64)}
	var err error
	p.ua, err = sipgo.NewUA(sipgo.WithUserAgent("scripted-peer"))
	if err != nil {
		t.Fatal(err)
	}
	p.srv, _ = sipgo.NewServer(p.ua)
	p.client, _ = sipgo.NewClient(p.ua)
	p.srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if c := req.Contact(); c != nil {
			res.AppendHeader(c.Clone())
		}
		res.AppendHeader(sip.NewHeader("Expires", headerValue(req, "Expires")))
		_ = tx.Respond(res)
	})
	p.srv.OnSubscribe(p.scripted(p.subscribes, &p.onSubscribe))
	p.srv.OnPublish(p.scripted(p.publishes, &p.onPublish))
	p.srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = &killListener{Listener: ln}
	p.addr = p.ln.Addr().String()
	p.wg.Add(1)
	go func() { defer p.wg.Done(); _ = p.srv.ServeTCP(p.ln) }()
	t.Cleanup(p.close)
	return p
}

// scripted returns a handler that records each request on seen and
// hands it to the script *h, read under p.mu when the request arrives so
// that a test may change the script while the peer runs; with no script
// the request is answered 500.
func (p *scriptedPeer) scripted(seen chan<- *sip.Request, h *func(*scriptedPeer, *sip.Request, sip.ServerTransaction)) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		seen <- req
		p.mu.Lock()
		script := *h
		p.mu.Unlock()
		if script == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Not Scripted", nil))
			return
		}
		script(p, req, tx)
	}
}

// close stops the peer the way a dying server process does: every
// connection it accepted is closed at once, whatever sipgo's own
// bookkeeping of them says.
func (p *scriptedPeer) close() {
	p.closeOnce.Do(func() {
		p.ln.Close()
		p.ln.closeAccepted()
		p.ua.Close()
		p.wg.Wait()
	})
}

// killListener remembers the connections it accepted so that they can all
// be closed with the peer: sipgo's Close leaves an accepted connection open
// when its reference count is off, and the client under test would then
// never see the restart (a real process's sockets all close when it dies).
type killListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *killListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *killListener) closeAccepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

func (p *scriptedPeer) script(sub, pub func(p *scriptedPeer, req *sip.Request, tx sip.ServerTransaction)) {
	p.mu.Lock()
	p.onSubscribe, p.onPublish = sub, pub
	p.mu.Unlock()
}

func (p *scriptedPeer) options(aor string) Options {
	return Options{AOR: aor, Password: "x", Proxy: "sip:" + p.addr + ";transport=tcp",
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, UnsubscribeLinger: 200 * time.Millisecond}
}

func headerValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// notifierDialog is the peer's side of one subscription.
type notifierDialog struct {
	sub    *sip.Request
	toTag  string
	cseq   uint32
	source string
}

// accept answers a SUBSCRIBE with 200 (To tag, Contact, Expires).
func (p *scriptedPeer) accept(req *sip.Request, tx sip.ServerTransaction, expires int) *notifierDialog {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	tag, _ := res.To().Params.Get("tag")
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p.ln.Addr().(*net.TCPAddr).Port,
		UriParams: sip.HeaderParams{{K: "transport", V: "tcp"}}}})
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	_ = tx.Respond(res)
	return &notifierDialog{sub: req, toTag: tag, cseq: 1, source: req.Source()}
}

// dialogFor prepares the notifier side without answering (for a NOTIFY
// that is to overtake the 200).
func (p *scriptedPeer) dialogFor(req *sip.Request) *notifierDialog {
	return &notifierDialog{sub: req, toTag: sip.GenerateTagN(8), cseq: 1, source: req.Source()}
}

// notify sends a NOTIFY in d and returns the subscriber's status code.
func (p *scriptedPeer) notify(d *notifierDialog, state, ctype string, body []byte, extra ...sip.Header) int {
	d.cseq++
	return p.notifyCSeq(d, d.cseq, state, ctype, body, "", extra...)
}

func (p *scriptedPeer) notifyCSeq(d *notifierDialog, cseq uint32, state, ctype string, body []byte, callID string, extra ...sip.Header) int {
	p.t.Helper()
	contact := d.sub.Contact()
	req := sip.NewRequest(sip.NOTIFY, contact.Address)
	to := d.sub.From().AsTo()
	fromTo := d.sub.To().AsFrom()
	fromTo.Params = sip.NewParams()
	fromTo.Params.Add("tag", d.toTag)
	req.AppendHeader(&fromTo)
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(d.sub.CallID().Value())
	if callID != "" {
		cid = sip.CallIDHeader(callID)
	}
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p.ln.Addr().(*net.TCPAddr).Port,
		UriParams: sip.HeaderParams{{K: "transport", V: "tcp"}}}})
	req.AppendHeader(sip.NewHeader("Event", headerValue(d.sub, "Event")))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	for _, h := range extra {
		req.AppendHeader(h)
	}
	if body != nil {
		ct := sip.ContentTypeHeader(ctype)
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	req.SetDestination(d.source)
	req.SetTransport("TCP")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil || res == nil {
		// sipgo's Do returns neither when the transaction is terminated
		// without an error (the peer closing at the end of a test); the
		// caller checks the code.
		return 0
	}
	return res.StatusCode
}

// nextSubscribe waits for the next SUBSCRIBE the peer received.
func (p *scriptedPeer) nextSubscribe(t *testing.T) *sip.Request {
	t.Helper()
	return next(t, p.subscribes, "SUBSCRIBE at the peer")
}

// nextPublish waits for the next PUBLISH the peer received.
func (p *scriptedPeer) nextPublish(t *testing.T) *sip.Request {
	t.Helper()
	return next(t, p.publishes, "PUBLISH at the peer")
}

// next waits for the next value on ch; the test fails when none (what)
// comes within waitTimeout.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("no %s within %s", what, waitTimeout)
		var zero T
		return zero
	}
}

func pidfDoc(entity, basic, note string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="%s">
<tuple id="t1"><status><basic>%s</basic></status></tuple>
<dm:person id="p1"><dm:note>%s</dm:note></dm:person>
</presence>`, entity, basic, note))
}
