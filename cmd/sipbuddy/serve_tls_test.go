package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
)

var sipTLSLine = regexp.MustCompile(`^SIP TLS: (127\.0\.0\.1:\d+), proxy (sip:\S+;transport=tls)$`)

// `sipbuddy serve --tls-cert --tls-key`: XCAP over HTTPS and a SIP TLS port
// beside UDP/TCP; a UA registers and publishes over TLS and an XCAP client
// writes over HTTPS, both verifying the certificate with its CA.
func TestServeTLS(t *testing.T) {
	bin := buildSipbuddy(t)
	files, err := tlsconf.MakeThrowAway(t.TempDir(), tlsconf.ThrowAway{Names: []string{"example.test", "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, sc := runServe(t, bin, "--domain", "example.test", "--xcap", "127.0.0.1:0", "--sip", "127.0.0.1:0",
		"--data", t.TempDir(), "--user", "alice:alicepw", "--tls-cert", files.Cert, "--tls-key", files.Key)
	var root, proxy string
	for sc.Scan() && (root == "" || proxy == "") {
		line := sc.Text()
		if r, ok := strings.CutPrefix(line, "XCAP root: "); ok {
			root = r
		}
		if m := sipTLSLine.FindStringSubmatch(line); m != nil {
			proxy = m[2]
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if !strings.HasPrefix(root, "https://127.0.0.1:") || proxy == "" {
		t.Fatalf("root %q, TLS proxy %q", root, proxy)
	}
	trust := tlsconf.Options{CAFile: files.CA}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	xc, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "alicepw", TLS: trust})
	if err != nil {
		t.Fatal(err)
	}
	defer xc.CloseIdleConnections()
	if _, err := xc.Put(ctx, xcap.AUIDResourceLists, "index", []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`), "application/resource-lists+xml", xcap.Condition{}); err != nil {
		t.Fatalf("PUT over HTTPS: %v", err)
	}
	u := apptest.StartUA(t, ctx, ua.Options{AOR: "sip:alice@example.test", Password: "alicepw", Proxy: proxy, TLS: trust})
	u.SetPresence(ua.Presence{Open: true, Note: "over TLS"})
	registered, published := false, false
	for !registered || !published {
		select {
		case ev := <-u.Events():
			switch e := ev.(type) {
			case ua.RegistrationEvent:
				if e.Err != nil {
					t.Fatalf("REGISTER over TLS: %v", e.Err)
				}
				registered = registered || e.State == ua.Registered
			case ua.PublicationEvent:
				published = published || e.State == ua.Published
			}
		case <-ctx.Done():
			t.Fatalf("registered %v, published %v", registered, published)
		}
	}
}
