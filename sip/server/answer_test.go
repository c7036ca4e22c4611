package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// answerSeeds are answers as UAs write them.
var answerSeeds = []string{
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc.7f;rport=5060;received=127.0.0.1\r\nFrom: <sip:p@example.test>;tag=a\r\nTo: <sip:w1@example.test>;tag=b\r\nCall-ID: c1@x\r\nCSeq: 12 NOTIFY\r\nContent-Length: 0\r\n\r\n",
	"SIP/2.0 481 Call/Transaction Does Not Exist\r\nv: SIP/2.0/UDP host.example:5060;branch=z9hG4bK.x1\r\ni: c2\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\nCSeq: 2 NOTIFY\r\nl: 0\r\n\r\n",
	"SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\nContent-Length: 4\r\n\r\nbody",
}

func TestReadAnswer(t *testing.T) {
	a, ok := readAnswer([]byte(answerSeeds[0]))
	if !ok || a.status != 200 || string(a.reason) != "OK" || string(a.branch) != "z9hG4bKabc.7f" || a.cseq != 12 {
		t.Fatalf("readAnswer(200 OK) = %+v, %v", a, ok)
	}
	a, ok = readAnswer([]byte(answerSeeds[1]))
	if !ok || a.status != 481 || string(a.reason) != "Call/Transaction Does Not Exist" || string(a.branch) != "z9hG4bK.x1" || a.cseq != 2 {
		t.Fatalf("readAnswer(481, compact headers) = %+v, %v", a, ok)
	}
	for _, s := range answerSeeds {
		checkAnswerLikeSipgo(t, []byte(s))
	}
	declined := []string{
		strings.Replace(answerSeeds[0], "12 NOTIFY", "12 SUBSCRIBE", 1),                                          // not a NOTIFY's answer
		strings.Replace(answerSeeds[0], ";rport", ",SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb;rport", 1),              // two Via values
		strings.Replace(answerSeeds[0], "Call-ID:", "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKb\r\nCall-ID:", 1), // two Via lines
		strings.Replace(answerSeeds[0], "From: <sip:p@example.test>", "From: <sip:p@example.test>\r\n ;x=y", 1),  // folding
		strings.Replace(answerSeeds[3], "Content-Length: 4", "Content-Length: 5", 1),                             // truncated datagram
		strings.Replace(answerSeeds[0], "\r\n\r\n", "\r\n", 1),                                                   // no end of headers
		"SIP/2.0 200 sipgo-reads-a-request\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n",
	}
	for _, s := range declined {
		if a, ok := readAnswer([]byte(s)); ok {
			t.Errorf("readAnswer(%q) = %+v, want declined (left to sipgo's parser)", s, a)
		}
	}
}

// FuzzReadAnswer checks the narrow reader against sipgo's parser: where it
// reads an answer, sipgo reads the same status, reason, top Via branch and
// CSeq from the same start line, Via and CSeq lines, and from the whole
// message too when it accepts it (sipgo may reject a message for the syntax
// of a header the reader has no use for, e.g. a From it cannot parse).
func FuzzReadAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAnswerLikeSipgo(t, data)
	})
}

func checkAnswerLikeSipgo(t *testing.T, data []byte) {
	t.Helper()
	a, ok := readAnswer(data)
	if !ok {
		return
	}
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	reduced := append([]byte(nil), lines[0]...)
	reduced = append(reduced, "\r\n"...)
	for _, l := range lines[1:] {
		name, _, _ := bytes.Cut(l, []byte(":"))
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "via", "v", "cseq":
			reduced = append(reduced, l...)
			reduced = append(reduced, "\r\n"...)
		}
	}
	reduced = append(reduced, "\r\n"...)
	p := sip.NewParser()
	p.MaxMessageLength = MaxSIPMessage
	msg, err := p.ParseSIP(reduced)
	if err != nil {
		t.Fatalf("readAnswer accepted %q; sipgo rejects its lines %q: %v", data, reduced, err)
	}
	agree(t, a, msg, reduced)
	if msg, err := p.ParseSIP(data); err == nil {
		agree(t, a, msg, data)
	}
}

func agree(t *testing.T, a answerFields, msg sip.Message, data []byte) {
	t.Helper()
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("readAnswer read a response from %q; sipgo reads %T", data, msg)
	}
	via := res.Via()
	if via == nil {
		t.Fatalf("readAnswer read a Via from %q; sipgo reads none", data)
	}
	branch, _ := via.Params.Get("branch")
	cseq := res.CSeq()
	switch {
	case res.StatusCode != a.status, res.Reason != string(a.reason):
		t.Fatalf("%q: status %d %q; sipgo %d %q", data, a.status, a.reason, res.StatusCode, res.Reason)
	case branch != string(a.branch):
		t.Fatalf("%q: branch %q; sipgo %q", data, a.branch, branch)
	case len(res.GetHeaders("Via")) != 1:
		t.Fatalf("%q: one Via value; sipgo reads %d", data, len(res.GetHeaders("Via")))
	case cseq == nil || cseq.SeqNo != a.cseq || cseq.MethodName != sip.NOTIFY:
		t.Fatalf("%q: CSeq %d NOTIFY; sipgo %v", data, a.cseq, cseq)
	}
}

// BenchmarkReadAnswer compares the narrow reader with sipgo's parser on a
// typical 200 OK to a NOTIFY.
func BenchmarkReadAnswer(b *testing.B) {
	data := []byte(answerSeeds[0])
	b.Run("narrow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := readAnswer(data); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("sipgo", func(b *testing.B) {
		b.ReportAllocs()
		p := sip.NewParser()
		for b.Loop() {
			if _, err := p.ParseSIP(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
