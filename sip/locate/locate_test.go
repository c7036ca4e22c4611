package locate

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sipbuddy/sipbuddy/sip/locate/dnstest"
)

func newTestResolver(t *testing.T, records ...string) (*Resolver, *dnstest.Server) {
	t.Helper()
	srv := dnstest.Start(t, records...)
	r, err := NewResolver(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return r, srv
}

func addrs(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Transport+" "+t.Addr)
	}
	return out
}

// wantTargets resolves example.test with q and checks the targets it
// gives, in order ("TCP 127.0.0.2:5060").
func wantTargets(t *testing.T, r *Resolver, q Query, want ...string) []Target {
	t.Helper()
	ts, err := r.SIP(context.Background(), "example.test", q)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, addrs(ts), want)
	return ts
}

// wantAsked checks how many times the resolver asked srv for name's rtype
// records (when says at what point of the test).
func wantAsked(t *testing.T, srv *dnstest.Server, name, rtype string, want int, when string) {
	t.Helper()
	if n := srv.Asked(name, rtype); n != want {
		t.Fatalf("%s %s asked %d times %s, want %d", name, rtype, n, when, want)
	}
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestNAPTRThenSRVThenA(t *testing.T) {
	r, _ := newTestResolver(t,
		`example.test. 60 IN NAPTR 20 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
		`example.test. 60 IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
		`example.test. 60 IN NAPTR 30 10 "s" "SIP+D2U" "" _sip._udp.example.test.`,
		`_sips._tcp.example.test. 60 IN SRV 10 0 5061 tls.example.test.`,
		`_sip._tcp.example.test. 60 IN SRV 10 0 5060 tcp.example.test.`,
		`_sip._udp.example.test. 60 IN SRV 10 0 5060 udp.example.test.`,
		`tls.example.test. 60 IN A 127.0.0.3`,
		`tcp.example.test. 60 IN A 127.0.0.2`,
		`udp.example.test. 60 IN A 127.0.0.4`,
		`udp.example.test. 60 IN AAAA ::1`,
	)
	ts := wantTargets(t, r, Query{}, "TLS 127.0.0.3:5061", "TCP 127.0.0.2:5060", "UDP 127.0.0.4:5060", "UDP [::1]:5060")
	if ts[0].Host != "tls.example.test" {
		t.Errorf("host %q", ts[0].Host)
	}
	// A transport asked for keeps only its NAPTR.
	wantTargets(t, r, Query{Transport: "tcp"}, "TCP 127.0.0.2:5060")
	wantTargets(t, r, Query{Secure: true}, "TLS 127.0.0.3:5061")
}

func TestSRVWithoutNAPTR(t *testing.T) {
	r, _ := newTestResolver(t,
		`_sip._tcp.example.test. 60 IN SRV 20 0 5070 backup.example.test.`,
		`_sip._tcp.example.test. 60 IN SRV 10 0 5060 primary.example.test.`,
		`_sip._udp.example.test. 60 IN SRV 10 0 5060 primary.example.test.`,
		`primary.example.test. 60 IN A 127.0.0.2`,
		`backup.example.test. 60 IN A 127.0.0.3`,
	)
	wantTargets(t, r, Query{}, "TCP 127.0.0.2:5060", "TCP 127.0.0.3:5070", "UDP 127.0.0.2:5060")
}

func TestADirectWithoutSRV(t *testing.T) {
	r, _ := newTestResolver(t, `example.test. 60 IN A 127.0.0.5`)
	wantTargets(t, r, Query{}, "TCP 127.0.0.5:5060")
	wantTargets(t, r, Query{Secure: true}, "TLS 127.0.0.5:5061")
	// An explicit port skips SRV (RFC 3263 §4.2).
	wantTargets(t, r, Query{Port: 5099, Transport: "udp"}, "UDP 127.0.0.5:5099")
}

func TestNothingFoundSaysSo(t *testing.T) {
	r, _ := newTestResolver(t)
	_, err := r.SIP(context.Background(), "nowhere.test", Query{})
	if err == nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}

func TestOrderSRVPriorityAndWeight(t *testing.T) {
	mk := func(prio, weight uint16, target string) *dns.SRV {
		return &dns.SRV{Priority: prio, Weight: weight, Target: target}
	}
	srvs := []*dns.SRV{mk(20, 0, "c"), mk(10, 10, "b"), mk(10, 90, "a"), mk(5, 0, "z")}
	// The random draw decides within priority 10: a pick of 0 takes the
	// first in the running sum (b, weight 10), a pick past 10 takes a.
	names := func(s []*dns.SRV) []string {
		var out []string
		for _, r := range s {
			out = append(out, r.Target)
		}
		return out
	}
	equal(t, names(OrderSRV(srvs, func(n uint32) uint32 { return 0 })), []string{"z", "b", "a", "c"})
	equal(t, names(OrderSRV(srvs, func(n uint32) uint32 { return n - 1 })), []string{"z", "a", "b", "c"})
	// With the real random source, weight 90 comes first about 90% of the time.
	first := map[string]int{}
	const rounds = 2000
	for range rounds {
		first[OrderSRV(srvs, nil)[1].Target]++
	}
	if a := first["a"]; a < rounds*80/100 || a > rounds*97/100 {
		t.Errorf("weight 90 of 100 came first %d times in %d", a, rounds)
	}
	// Weight 0 with a weighted peer is rarely first (only on a draw of 0).
	zeroFirst := 0
	zero := []*dns.SRV{mk(1, 100, "heavy"), mk(1, 0, "zero")}
	for range rounds {
		if OrderSRV(zero, nil)[0].Target == "zero" {
			zeroFirst++
		}
	}
	if zeroFirst > rounds*3/100 {
		t.Errorf("weight 0 came first %d times in %d", zeroFirst, rounds)
	}
}

func TestCacheHonoursTTL(t *testing.T) {
	r, srv := newTestResolver(t,
		`_sip._tcp.example.test. 30 IN SRV 10 0 5060 sip.example.test.`,
		`sip.example.test. 300 IN A 127.0.0.2`,
	)
	now := time.Now()
	r.now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if _, err := r.SIP(ctx, "example.test", Query{Transport: "tcp"}); err != nil {
			t.Fatal(err)
		}
	}
	wantAsked(t, srv, "_sip._tcp.example.test", "SRV", 1, "within its TTL")
	wantAsked(t, srv, "example.test", "NAPTR", 1, "within the SOA minimum (30 s) of the negative answer")
	now = now.Add(31 * time.Second)
	if _, err := r.SIP(ctx, "example.test", Query{Transport: "tcp"}); err != nil {
		t.Fatal(err)
	}
	wantAsked(t, srv, "_sip._tcp.example.test", "SRV", 2, "after its TTL ran out")
	wantAsked(t, srv, "sip.example.test", "A", 1, "within its TTL (300 s)")
}

func TestFailoverSkipsDownTargetsThenReturns(t *testing.T) {
	f := NewFailover(time.Minute)
	now := time.Now()
	f.now = func() time.Time { return now }
	a, b := Target{Transport: TCP, Addr: "127.0.0.1:1"}, Target{Transport: TCP, Addr: "127.0.0.1:2"}
	f.Set([]Target{a, b})
	if got, _ := f.Pick(); got != a {
		t.Fatalf("pick %v", got)
	}
	f.MarkDown(a)
	if got, _ := f.Pick(); got != b {
		t.Fatalf("pick after a failed: %v", got)
	}
	f.MarkDown(b)
	if got, _ := f.Pick(); got != a {
		t.Fatalf("all down: %v, want a (back first)", got)
	}
	now = now.Add(61 * time.Second)
	if got, _ := f.Pick(); got != a {
		t.Fatalf("after the hold: %v, want a again", got)
	}
}

func TestXCAPRoots(t *testing.T) {
	r, _ := newTestResolver(t,
		`xcap.example.test. 60 IN TXT "https://xcap.example.test/xcap-root/"`,
		`xcap.example.test. 60 IN TXT "v=spf1 -all"`,
		`xcap.example.test. 60 IN TXT "http://127.0.0.1:8080/xcap-root"`,
	)
	roots, err := r.XCAPRoots(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, roots, []string{"https://xcap.example.test/xcap-root/", "http://127.0.0.1:8080/xcap-root"})
	if _, err := r.XCAPRoots(context.Background(), "other.test"); err == nil {
		t.Fatal("no TXT: no error")
	}
	if _, err := r.XCAPRoots(context.Background(), "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "IP address") {
		t.Fatalf("an IP domain: %v", err)
	}
}

func TestLimits(t *testing.T) {
	var records []string
	for i := range MaxTargets + 8 {
		records = append(records, "many.test. 60 IN A 127.0.1."+itoa(i+1))
	}
	for i := range 60 { // an answer over EDNSBufferSize: truncated, then TCP
		records = append(records, `xcap.many.test. 60 IN TXT "http://127.0.0.1:`+itoa(8000+i)+`/xcap-root"`)
	}
	r, srv := newTestResolver(t, records...)
	ts, err := r.SIP(context.Background(), "many.test", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != MaxTargets {
		t.Errorf("%d targets, want MaxTargets = %d", len(ts), MaxTargets)
	}
	roots, err := r.XCAPRoots(context.Background(), "many.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != MaxXCAPRoots || roots[MaxXCAPRoots-1] != "http://127.0.0.1:"+itoa(8000+MaxXCAPRoots-1)+"/xcap-root" {
		t.Errorf("%d XCAP roots (%v), want the first MaxXCAPRoots = %d", len(roots), roots, MaxXCAPRoots)
	}
	if srv.AskedTCP("xcap.many.test", "TXT") != 1 {
		t.Error("the truncated TXT answer was not asked again over TCP")
	}
	for i := range MaxCacheEntries + 10 {
		_, _ = r.lookup(context.Background(), "n"+itoa(i)+".many.test", dns.TypeA)
	}
	r.mu.Lock()
	n := len(r.cache)
	r.mu.Unlock()
	if n > MaxCacheEntries {
		t.Errorf("%d cache entries, over MaxCacheEntries = %d", n, MaxCacheEntries)
	}
	if _, ok := XCAPRootFromTXT([]string{"http://x.test/" + strings.Repeat("a", MaxXCAPRootLength)}); ok {
		t.Error("a root over MaxXCAPRootLength was accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// When the name server stops answering, the expired answers are still
// used (serve-stale) rather than failing every relocation.
func TestServeStaleWhenDNSIsDown(t *testing.T) {
	srv := dnstest.Start(t,
		`_sip._tcp.example.test. 1 IN SRV 10 0 5060 sip.example.test.`,
		`sip.example.test. 1 IN A 127.0.0.2`,
	)
	r, err := NewResolver(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	r.client.Timeout = 200 * time.Millisecond
	now := time.Now()
	r.now = func() time.Time { return now }
	if _, err := r.SIP(context.Background(), "example.test", Query{Transport: "tcp"}); err != nil {
		t.Fatal(err)
	}
	// The server is gone (its port answers nothing) and the TTLs ran out.
	dead, err := NewResolver(closedUDPAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	r.servers = dead.servers
	now = now.Add(time.Minute)
	ts, err := r.SIP(context.Background(), "example.test", Query{Transport: "tcp"})
	if err != nil || len(ts) != 1 || ts[0].Addr != "127.0.0.2:5060" {
		t.Fatalf("with the DNS down: %v, %v; want the stale answer", ts, err)
	}
}

func closedUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}
