package ua

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkHandleNotify measures one presence NOTIFY through the dialog
// matcher: CSeq check, PIDF parse, PresenceEvent (drained by a consumer).
func BenchmarkHandleNotify(b *testing.B) {
	u, err := New(Options{AOR: "sip:bob@example.test", Proxy: "sip:127.0.0.1:9"})
	if err != nil {
		b.Fatal(err)
	}
	var target sip.Uri
	_ = sip.ParseUri(carol, &target)
	s := newSubscription(u, carol, target, "presence")
	d := &dialog{callID: "call-1", localTag: "bobtag", ended: make(chan struct{})}
	s.d = d
	u.addDialog(d.key(), s)
	body := pidfDoc(carol, "open", "benchmarking")
	raw := "NOTIFY sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:carol@example.test>;tag=n1\r\n" +
		"To: <sip:bob@example.test>;tag=bobtag\r\nCall-ID: call-1\r\nCSeq: 1 NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\n" +
		"Subscription-State: active;expires=600\r\nContent-Type: application/pidf+xml\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + string(body)
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	done := make(chan struct{})
	go func() {
		for range u.Events() {
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req.CSeq().SeqNo++
		if res := u.handleNotify(req); res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	b.StopTimer()
	_ = u.Close(b.Context())
	<-done
}
