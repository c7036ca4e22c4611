package stack

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

func TestMain(m *testing.M) { testmain.Run(m) }

func startStack(t *testing.T, o Options) *Stack {
	t.Helper()
	if o.Domain == "" {
		o.Domain = "example.test"
	}
	if o.Store == "" {
		o.Store = filepath.Join(t.TempDir(), "xcap.db")
	}
	if o.XCAPAddr == "" {
		o.XCAPAddr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// TestStackServesSIPAndXCAP runs the whole stack on loopback and uses it as
// a client would: a user created at start registers over SIP and writes a
// buddy list over XCAP; after Shutdown neither port answers.
func TestStackServesSIPAndXCAP(t *testing.T) {
	s := startStack(t, Options{SIPAddr: "127.0.0.1:0", Users: []User{{"alice", "secret-a"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	u, err := ua.New(ua.Options{AOR: "sip:alice@example.test", Password: "secret-a", Proxy: s.Proxy()})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(ctx); err != nil {
		t.Fatalf("REGISTER through the stack's SIP server: %v", err)
	}
	if err := u.Close(ctx); err != nil {
		t.Errorf("UA close: %v", err)
	}

	xc, err := xcap.NewClient(xcap.ClientOptions{Root: s.XCAPRoot(), XUI: "sip:alice@example.test", Password: "secret-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resourcelists.Update(ctx, xc, func(d *resourcelists.Document) error {
		return d.Add(resourcelists.BuddiesList, "sip:bob@example.test", "Bob")
	}); err != nil {
		t.Fatalf("PUT through the stack's XCAP server: %v", err)
	}

	xcapAddr, sipAddr := s.XCAPAddr().String(), s.SIPAddr().String()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done is open after Shutdown")
	}
	for _, a := range []string{xcapAddr, sipAddr} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Shutdown", a)
		}
	}
}

// TestStackXCAPOnly runs a stateless XCAP node: no SIP server, and SSH is
// refused because it needs one.
func TestStackXCAPOnly(t *testing.T) {
	s := startStack(t, Options{})
	if s.SIP() != nil || s.SIPAddr() != nil || s.Proxy() != "" {
		t.Errorf("XCAP-only stack runs SIP: %v %v %q", s.SIP(), s.SIPAddr(), s.Proxy())
	}
	res, err := http.Get(s.XCAPRoot() + "/xcap-caps/global/index")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("xcap-caps: %s", res.Status)
	}
}

// TestStartErrors: a bad option or a port in use is a clear error, and the
// parts already started are stopped again (goleak checks).
func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no domain", Options{Store: filepath.Join(dir, "a.db"), XCAPAddr: "127.0.0.1:0"}, "Domain is required"},
		{"ssh without sip", Options{Domain: "example.test", Store: filepath.Join(dir, "b.db"), XCAPAddr: "127.0.0.1:0", FrontEnd: func(Running) (FrontEnd, error) { return nil, nil }}, "needs the SIP server"},
		{"xcap port busy", Options{Domain: "example.test", Store: filepath.Join(dir, "c.db"), XCAPAddr: busy.Addr().String()}, "address already in use"},
		{"sip port busy", Options{Domain: "example.test", Store: filepath.Join(dir, "d.db"), XCAPAddr: "127.0.0.1:0", SIPAddr: busy.Addr().String()}, "address already in use"},
		{"bad user", Options{Domain: "example.test", Store: filepath.Join(dir, "e.db"), XCAPAddr: "127.0.0.1:0", Users: []User{{"a b", "x"}}}, "invalid user name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(context.Background(), tc.o)
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}
