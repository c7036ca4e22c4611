package ua

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/locate"
	"github.com/sipbuddy/sipbuddy/sip/locate/dnstest"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

// closedPort returns a loopback TCP port nobody listens on (connections
// are refused: a server that is down).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// located returns options without a proxy: the UA finds the server in DNS.
func (e *embedded) located(aor, password string, dns *dnstest.Server) Options {
	o := e.options(aor, password)
	o.Proxy = ""
	r, err := locate.NewResolver(dns.Addr)
	if err != nil {
		e.t.Fatal(err)
	}
	o.Resolver = r
	return o
}

// No proxy configured: the UA finds the registrar through NAPTR → SRV → A
// on a real DNS server, the first SRV target (priority 10) is down, so it
// registers through the second (priority 20), and presence flows.
func TestLocatedFailover(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	down := closedPort(t)
	dns := dnstest.Start(t,
		`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
		fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 10 10 %d primary.example.test.`, down),
		fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 20 10 %s backup.example.test.`, portOf(t, e.tcp)),
		`primary.example.test. 60 IN A 127.0.0.1`,
		`backup.example.test. 60 IN A 127.0.0.1`,
	)
	o := e.located(aliceAOR, "alicepw", dns)
	o.FailoverHold = 2 * time.Second
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "alice registered through the backup", isRegistered)
	if got := alice.destination(); got != e.tcp {
		t.Fatalf("registered through %s, want the backup %s", got, e.tcp)
	}
	if n := dns.Asked("_sip._tcp.example.test", "SRV"); n != 1 {
		t.Errorf("SRV asked %d times, want 1 (cached for its TTL)", n)
	}

	bob := startUA(t, "bob", e.located(bobAOR, "bobpw", dns))
	alice.SetPresence(Presence{Open: true, Note: "via DNS"})
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "alice's note", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && p.State.Note == "via DNS"
	}))

	// The primary comes up (sharing the users): after the hold, the next
	// REGISTER goes back to it and presence still flows.
	primary := &embedded{t: t, store: e.store, opts: e.opts}
	addr := fmt.Sprintf("127.0.0.1:%d", down)
	primary.start(addr, addr)
	deadline := time.Now().Add(waitTimeout)
	for alice.destination() != addr {
		if time.Now().After(deadline) {
			t.Fatalf("alice still on %s, want back on the primary %s", alice.destination(), addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	alice.waitFor(t, "registered on the primary", isRegistered)
	alice.SetPresence(Presence{Open: true, Note: "back on the primary"})
	alice.waitFor(t, "published on the primary", func(ev Event) bool {
		p, ok := ev.(PublicationEvent)
		return ok && p.State == Published
	})
}

// DNS prefers TLS (NAPTR SIPS+D2T first): the UA takes the _sips._tcp
// target and verifies its certificate against the account's domain, not
// the SRV target's name (RFC 5922 §4.1).
func TestLocatedTLS(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	ca, tlsAddr := e.serveTLS(tlsconf.ThrowAway{Names: []string{"example.test"}})
	dns := dnstest.Start(t,
		`example.test. 60 IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
		`example.test. 60 IN NAPTR 20 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
		fmt.Sprintf(`_sips._tcp.example.test. 60 IN SRV 10 10 %s edge1.example.test.`, portOf(t, tlsAddr)),
		fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 10 10 %s edge1.example.test.`, portOf(t, e.tcp)),
		`edge1.example.test. 60 IN A 127.0.0.1`,
	)
	o := e.located(aliceAOR, "alicepw", dns)
	o.TLS = tlsconf.Options{CAFile: ca}
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "registered over TLS found in DNS", isRegistered)
	if alice.transport != "TLS" || alice.destination() != tlsAddr {
		t.Fatalf("registered over %s to %s, want TLS to %s", alice.transport, alice.destination(), tlsAddr)
	}
}
