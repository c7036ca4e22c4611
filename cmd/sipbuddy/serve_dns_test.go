package main

// This file sorts after log_test.go on purpose: TestOpenLog swaps sipgo's
// process-wide logger, which the user agents started here read.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/config"
	"github.com/sipbuddy/sipbuddy/sip/locate/dnstest"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// `sipbuddy --account sip:alice@example.test --password PW` with no proxy
// and no XCAP root: the SIP server is found through NAPTR/SRV/A and the
// XCAP root through the TXT records of xcap.example.test (the first one
// announced is dead, the second answers), on a DNS server on loopback that
// points at `sipbuddy serve`.
func TestClientFindsServersInDNS(t *testing.T) {
	bin := buildSipbuddy(t)
	_, root, sipAddr := startServeSIP(t, bin, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "--user", "alice:PW")
	_, sipPort, _ := net.SplitHostPort(sipAddr)
	dns := dnstest.Start(t,
		`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
		`_sip._tcp.example.test. 60 IN SRV 10 10 `+sipPort+` sip.example.test.`,
		`sip.example.test. 60 IN A 127.0.0.1`,
		`xcap.example.test. 60 IN TXT "http://127.0.0.1:1/xcap-root"`,
		fmt.Sprintf(`xcap.example.test. 60 IN TXT %q`, root),
	)

	fs := flag.NewFlagSet("sipbuddy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var nf netFlags
	nf.register(fs)
	data := t.TempDir()
	if err := fs.Parse([]string{"--dns", dns.Addr, "--data", data}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct, err := config.Resolve(ctx, config.Flags{Account: "sip:alice@example.test", Password: "PW"})
	if err != nil {
		t.Fatal(err)
	}
	bo, err := nf.accountOptions(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if bo.XCAPRoot != root || bo.Proxy != "" {
		t.Fatalf("XCAP root %q (want %q), proxy %q (want none: located by the UA)", bo.XCAPRoot, root, bo.Proxy)
	}
	if want, _ := ua.LoadInstanceID(data, "sip:alice@example.test"); bo.InstanceID != want || want == "" {
		t.Errorf("instance id %q, want the one kept in --data: %q", bo.InstanceID, want)
	}
	bo.CacheDir = t.TempDir()
	b, err := account.New(bo)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cc := context.WithTimeout(context.Background(), 5*time.Second)
		defer cc()
		_ = b.Close(cctx)
	}()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	registered, listed := false, false
	for !registered || !listed {
		evs, err := b.Next(ctx, 64)
		if err != nil {
			t.Fatalf("registered=%v buddy list loaded=%v before the deadline: %v", registered, listed, err)
		}
		for _, ev := range evs {
			switch e := ev.(type) {
			case account.AccountEvent:
				if e.Err != nil {
					t.Fatalf("registration: %v", e.Err)
				}
				registered = registered || e.State == ua.Registered
			case account.BuddiesEvent:
				if e.Err != nil {
					t.Fatalf("buddy list from the discovered XCAP root: %v", e.Err)
				}
				listed = true
			}
		}
	}
	if n := dns.Asked("_sip._tcp.example.test", "SRV"); n == 0 {
		t.Error("the SIP server was not looked up by SRV")
	}
}
