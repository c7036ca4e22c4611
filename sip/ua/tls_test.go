package ua

import (
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

// serveTLS adds a SIP-over-TLS listener to the embedded server with a
// certificate from a throw-away CA made for names; it returns the CA file
// and the TLS address.
func (e *embedded) serveTLS(ca tlsconf.ThrowAway) (caFile, addr string) {
	e.t.Helper()
	files, err := tlsconf.MakeThrowAway(e.t.TempDir(), ca)
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := server.ListenTLS("127.0.0.1:0", files.Cert, files.Key)
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.ServeTLS(ln) }()
	e.t.Cleanup(func() { ln.Close(); <-done })
	return files.CA, ln.Addr().String()
}

func (e *embedded) tlsOptions(aor, password, addr, caFile string) Options {
	o := e.options(aor, password)
	o.Proxy = "sip:" + addr + ";transport=tls"
	o.TLS = tlsconf.Options{CAFile: caFile}
	return o
}

// REGISTER, PUBLISH, SUBSCRIBE and the NOTIFYs all over TLS, the server's
// certificate verified with a CA made here for example.test.
func TestTLSPresence(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	ca, addr := e.serveTLS(tlsconf.ThrowAway{Names: []string{"example.test"}})
	alice := startUA(t, "alice", e.tlsOptions(aliceAOR, "alicepw", addr, ca))
	bobOpts := e.tlsOptions(bobAOR, "bobpw", addr, ca)
	var viaTLS, notifies int
	bobOpts.Trace = func(in bool, msg string) {
		if in && strings.HasPrefix(msg, "NOTIFY ") {
			notifies++
			if strings.Contains(msg, "SIP/2.0/TLS") {
				viaTLS++
			}
		}
	}
	bob, err := New(bobOpts)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testUA{UA: bob, name: "bob", rec: &recorder{}}
	if err := bob.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer bob.Close(t.Context())
	if !strings.HasSuffix(bob.ContactURI(), ";transport=tls") {
		t.Errorf("Contact %s, want transport=tls", bob.ContactURI())
	}
	alice.waitFor(t, "alice registered over TLS", isRegistered)
	alice.SetPresence(Presence{Open: true, Note: "over TLS"})
	alice.waitFor(t, "published over TLS", isPublished)
	bob.Subscribe(aliceAOR)
	tb.waitFor(t, "alice's note over TLS", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && p.State.Note == "over TLS"
	}))
	bob.Close(t.Context())
	if notifies == 0 || viaTLS != notifies {
		t.Errorf("%d of %d NOTIFYs came over TLS", viaTLS, notifies)
	}
}

// A certificate that must not be trusted: the REGISTER fails with an error
// naming the certificate, the domain and the reason, and no SIP message is
// exchanged.
func TestTLSRefusesBadCertificates(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	otherCA, err := tlsconf.MakeThrowAway(t.TempDir(), tlsconf.ThrowAway{Names: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		cert  tlsconf.ThrowAway
		ca    string // "" = the server's own CA
		wants []string
	}{
		{"wrong CA", tlsconf.ThrowAway{Names: []string{"example.test"}}, otherCA.CA,
			[]string{"certificate for example.test is not valid for example.test", "not trusted"}},
		{"expired", tlsconf.ThrowAway{Names: []string{"example.test"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}, "",
			[]string{"certificate for example.test is not valid for example.test", "expired"}},
		{"name mismatch", tlsconf.ThrowAway{Names: []string{"other.test", "127.0.0.1"}}, "",
			[]string{"certificate for other.test, 127.0.0.1 is not valid for example.test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ca, addr := e.serveTLS(c.cert)
			if c.ca != "" {
				ca = c.ca
			}
			o := e.tlsOptions(aliceAOR, "alicepw", addr, ca)
			o.RetryMin, o.RetryMax = time.Second, time.Second
			alice := startUA(t, "alice", o)
			ev := alice.waitFor(t, "registration failed", func(ev Event) bool {
				r, ok := ev.(RegistrationEvent)
				return ok && (r.State == RegistrationFailed || r.State == Registered)
			}).(RegistrationEvent)
			if ev.State != RegistrationFailed {
				t.Fatalf("registered through a bad certificate")
			}
			t.Logf("%s: %v", c.name, ev.Err)
			for _, w := range c.wants {
				if !strings.Contains(ev.Err.Error(), w) {
					t.Errorf("error %q does not say %q", ev.Err, w)
				}
			}
			if n := alice.rec.count("<<<"); n != 0 {
				t.Errorf("%d SIP messages received over a refused connection", n)
			}
		})
	}
}

// The explicit opt-out accepts a certificate nobody vouches for.
func TestTLSInsecureSkipVerify(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	_, addr := e.serveTLS(tlsconf.ThrowAway{Names: []string{"other.test"}})
	o := e.tlsOptions(aliceAOR, "alicepw", addr, "")
	o.TLS = tlsconf.Options{InsecureSkipVerifyTLS: true}
	alice := startUA(t, "alice", o)
	alice.waitFor(t, "registered despite the certificate", isRegistered)
}
