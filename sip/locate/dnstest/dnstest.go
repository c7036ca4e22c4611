// Package dnstest runs a real DNS server (miekg/dns) on loopback for tests:
// it answers from records given in zone-file syntax, over UDP and TCP, and
// counts the questions it gets.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is an authoritative DNS server on 127.0.0.1:ephemeral.
type Server struct {
	// Addr is "127.0.0.1:port", the same port on UDP and TCP.
	Addr string

	mu      sync.Mutex
	records []dns.RR
	asked   map[string]int // "NAME TYPE" → questions
}

// Start serves records ("_sip._tcp.example.test. 60 IN SRV 10 50 5060
// sip1.example.test.") until the test ends.
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	s := &Server{asked: make(map[string]int)}
	s.Set(t, records...)
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("dnstest: no port free on both UDP and TCP")
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() { defer wg.Done(); _ = srv.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		wg.Wait()
	})
	return s
}

// Set replaces the records served.
func (s *Server) Set(t testing.TB, records ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("dnstest: bad record %q: %v", r, err)
		}
		rrs = append(rrs, rr)
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
}

// Asked returns how many questions for name (any case, with or without
// the final dot) of type qtype ("SRV") reached the server.
func (s *Server) Asked(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[strings.ToLower(dns.Fqdn(name))+" "+qtype]
}

// AskedTCP is Asked for the questions that came over TCP (after a
// truncated UDP answer).
func (s *Server) AskedTCP(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[strings.ToLower(dns.Fqdn(name))+" "+qtype+" tcp"]
}

// ServeDNS answers from the records: the ones of the name and type asked,
// NXDOMAIN for a name with no record at all, an empty answer with an SOA
// (negative TTL 30 s) for a name that has records of other types.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.asked[fmt.Sprintf("%s %s", name, dns.TypeToString[q.Qtype])]++
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
		s.asked[fmt.Sprintf("%s %s tcp", name, dns.TypeToString[q.Qtype])]++
	}
	known := false
	for _, rr := range s.records {
		if strings.ToLower(rr.Header().Name) != name {
			continue
		}
		known = true
		if rr.Header().Rrtype == q.Qtype {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
	s.mu.Unlock()
	if len(m.Answer) == 0 {
		if !known {
			m.Rcode = dns.RcodeNameError
		}
		soa, _ := dns.NewRR(". 30 IN SOA ns.test. hostmaster.test. 1 60 60 60 30")
		m.Ns = append(m.Ns, soa)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		// As a real server does: what does not fit the client's buffer
		// comes truncated (TC), for the client to ask again over TCP.
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
