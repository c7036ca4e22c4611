package ua

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Proxy: "sip:127.0.0.1:5060"},
		{AOR: "alice", Proxy: "sip:127.0.0.1:5060"},
		{AOR: "sip:example.test", Proxy: "sip:127.0.0.1:5060"},
		{AOR: "sip:alice@example.test", Proxy: "sip:127.0.0.1:5060", Transport: "sctp"},
		{AOR: "sips:alice@example.test", Proxy: "sip:127.0.0.1:5060", Transport: "tcp"},
		{AOR: "sip:alice@example.test", Proxy: "sip:127.0.0.1:5060", TLS: tlsconf.Options{CAFile: "/nonexistent/ca.pem"}},
		{AOR: "sip:alice@example.test", Proxy: "sip:127.0.0.1:5060", ListenAddr: "nowhere"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		}
	}
}

// The consumer falls behind: the oldest events go, the newest stay.
func TestEventsDropOldest(t *testing.T) {
	u, err := New(Options{AOR: "sip:alice@example.test", Proxy: "sip:127.0.0.1:9", EventBuffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		u.emit(PresenceEvent{URI: "sip:b" + itoa(i) + "@example.test"})
	}
	if err := u.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for ev := range u.Events() {
		got = append(got, ev.(PresenceEvent).URI)
	}
	if want := []string{"sip:b3@example.test", "sip:b4@example.test"}; !slices.Equal(got, want) || u.Dropped() != 3 {
		t.Errorf("events %v (dropped %d), want %v (dropped 3)", got, u.Dropped(), want)
	}
}

// Over UDP (the contract's other transport) with a document that fits.
func TestEmbeddedUDP(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	o := e.options(aliceAOR, "alicepw")
	o.Proxy, o.Transport = "sip:"+e.udp, "udp"
	alice := startUA(t, "alice", o)
	ob := e.options(bobAOR, "bobpw")
	ob.Proxy, ob.Transport = "sip:"+e.udp, "udp"
	bob := startUA(t, "bob", ob)
	if c := alice.ContactURI(); c == "" || strings.Contains(c, "transport=tcp") {
		t.Errorf("Contact %q, want a UDP contact", c)
	}
	alice.SetPresence(Presence{Open: true, Note: "udp"})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "udp note", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Note == "udp" }))
}

// A server that accepts the connection and never answers: Close still
// returns, bounded by its context, and leaves no goroutine (goleak).
func TestCloseBoundedByContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	u, err := New(Options{AOR: "sip:alice@example.test", Password: "x", Proxy: "sip:" + ln.Addr().String() + ";transport=tcp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	u.SetPresence(Presence{Open: true})
	u.Subscribe("sip:bob@example.test")
	// Wait until the REGISTER is on the wire and unanswered.
	for ev := range u.Events() {
		if r, ok := ev.(RegistrationEvent); ok && r.State == Registering {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := u.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the context's deadline error", err)
	}
	for range u.Events() { // closed by Close
	}
}

// FuzzHandleNotify throws arbitrary messages at the NOTIFY matcher of a UA
// with one pending subscription (Call-ID call-1, our tag bobtag): it must
// answer every request with a valid status and never panic.
func FuzzHandleNotify(f *testing.F) {
	f.Add([]byte("NOTIFY sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:carol@example.test>;tag=n1\r\nTo: <sip:bob@example.test>;tag=bobtag\r\nCall-ID: call-1\r\nCSeq: 2 NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\nSubscription-State: active;expires=60\r\nContent-Type: application/pidf+xml\r\nContent-Length: 124\r\n\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:carol@example.test\"><tuple id=\"t\"><status><basic>open</basic></status></tuple></presence>"))
	f.Add([]byte("NOTIFY sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:carol@example.test>;tag=n1\r\nTo: <sip:bob@example.test>;tag=bobtag\r\nCall-ID: call-1\r\nCSeq: 3 NOTIFY\r\nEvent: presence\r\nSubscription-State: terminated;reason=probation;retry-after=5\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("NOTIFY sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK3\r\nFrom: <sip:carol@example.test>;tag=n1\r\nTo: <sip:bob@example.test>;tag=bobtag\r\nCall-ID: call-1\r\nCSeq: 4 NOTIFY\r\nRecord-Route: <sip:p1;lr>,<sip:p2;lr>\r\nEvent: presence;id=7\r\nSubscription-State: pending\r\nContent-Type: application/pidf+xml\r\nContent-Length: 5\r\n\r\n<bad>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := sip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		u, err := New(Options{AOR: "sip:bob@example.test", Proxy: "sip:127.0.0.1:9", Logger: nil})
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range []string{"presence", "presence.winfo"} {
			carolDialog(u, pkg)
			res := u.handleNotify(req)
			if res == nil || res.StatusCode < 200 || res.StatusCode > 699 {
				t.Fatalf("response %v", res)
			}
		}
		_ = u.Close(context.Background())
	})
}
