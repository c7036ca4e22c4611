package server

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// recordTx is a server transaction that keeps the responses.
type recordTx struct {
	mu  sync.Mutex
	res []*sip.Response
}

func (r *recordTx) Terminate()                         {}
func (r *recordTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (r *recordTx) Done() <-chan struct{}              { return nil }
func (r *recordTx) Err() error                         { return nil }
func (r *recordTx) Acks() <-chan *sip.Request          { return nil }
func (r *recordTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (r *recordTx) Respond(res *sip.Response) error {
	r.mu.Lock()
	r.res = append(r.res, res)
	r.mu.Unlock()
	return nil
}

// FuzzHandleRequest feeds raw SIP requests to the handlers, with digest
// authentication accepted, and checks that each gets exactly one final
// answer with a sane status. Nothing is sent: the NOTIFY scheduler is closed.
func FuzzHandleRequest(f *testing.F) {
	const hdr = "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1;rport\r\nFrom: <sip:alice@example.test>;tag=f1\r\nTo: <sip:alice@example.test>\r\nCall-ID: c1\r\n"
	f.Add([]byte("REGISTER sip:example.test SIP/2.0\r\n" + hdr + "CSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.1:5099>;expires=30\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("REGISTER sip:example.test SIP/2.0\r\n" + hdr + "CSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n"))
	body := string(pidfDoc("alice", "note", "http://x/i", true))
	f.Add([]byte("PUBLISH sip:alice@example.test SIP/2.0\r\n" + hdr + "CSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 60\r\nContent-Type: application/pidf+xml\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body))
	f.Add([]byte("PUBLISH sip:alice@example.test SIP/2.0\r\n" + hdr + "CSeq: 1 PUBLISH\r\nEvent: presence\r\nSIP-If-Match: x\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SUBSCRIBE sip:alice@example.test SIP/2.0\r\n" + hdr + "CSeq: 1 SUBSCRIBE\r\nEvent: presence;id=7\r\nExpires: 60\r\nContact: <sip:alice@127.0.0.1:5099;transport=tcp>\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SUBSCRIBE sip:alice@example.test SIP/2.0\r\n" + hdr + "CSeq: 1 SUBSCRIBE\r\nEvent: presence.winfo\r\nExpires: 0\r\nContact: <sip:alice@127.0.0.1:5099>\r\nContent-Length: 0\r\n\r\n"))

	st, err := store.Open(filepath.Join(f.TempDir(), "xcap.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	for u, pw := range testUsers {
		st.SetPassword(u, pw)
	}
	srv, err := New(Options{Domain: testDomain, Store: st, MinExpires: 1e9, Logger: testLogger(f)})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	srv.sched.close() // no NOTIFY leaves the process
	srv.checkAuth = func(*sip.Request, sip.ServerTransaction, string, bool) bool { return true }
	parser := sip.NewParser()

	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := parser.ParseSIP(raw)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil {
			return // sipgo's transaction layer answers these itself
		}
		req.SetSource("127.0.0.1:5099")
		req.SetTransport("UDP")
		tx := &recordTx{}
		var h func(*sip.Request, sip.ServerTransaction)
		switch req.Method {
		case sip.REGISTER:
			h = srv.onRegister
		case sip.PUBLISH:
			h = srv.onPublish
		case sip.SUBSCRIBE:
			h = srv.onSubscribe
		default:
			return
		}
		srv.handle(h)(req, tx)
		if len(tx.res) != 1 {
			t.Fatalf("%d responses to\n%s", len(tx.res), raw)
		}
		if c := tx.res[0].StatusCode; c < 200 || c > 699 {
			t.Fatalf("status %d", c)
		}
		if tx.res[0].StatusCode == 500 && tx.res[0].Reason == "Server Internal Error" {
			t.Fatalf("handler panicked on\n%s", raw)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
