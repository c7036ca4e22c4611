package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/demo/demotest"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// `sipbuddy demo --tls`: the world's proxy is its SIP-over-TLS port and its
// XCAP root is HTTPS, both verified with the throw-away CA the account
// carries; the simulated buddies reach the user over TLS, icons included.
func TestWorldTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := demotest.Start(t, ctx, demo.Options{Seed: 7, Buddies: 2, TLS: true, MinChange: 200 * time.Millisecond, MaxChange: 400 * time.Millisecond})
	acct, err := w.AddUser(ctx, "you", "You")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(acct.Proxy, ";transport=tls") || !strings.HasPrefix(acct.XCAPRoot, "https://") || acct.TLS.CAFile == "" {
		t.Fatalf("account %+v: want a TLS proxy, an HTTPS root and the CA", acct)
	}
	me := apptest.StartUA(t, ctx, ua.Options{AOR: acct.AOR, Password: acct.Password, Proxy: acct.Proxy, TLS: acct.TLS})
	first := w.Buddies()[0]
	me.Subscribe(first)
	xc, err := xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: acct.Password, TLS: acct.TLS})
	if err != nil {
		t.Fatal(err)
	}
	defer xc.CloseIdleConnections()
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("no presence with an icon from %s over TLS", first)
		case ev := <-me.Events():
			pe, ok := ev.(ua.PresenceEvent)
			if !ok || pe.URI != first || pe.State.IconURL == "" {
				continue
			}
			if !strings.HasPrefix(pe.State.IconURL, "https://") {
				t.Fatalf("icon URL %q is not HTTPS", pe.State.IconURL)
			}
			if _, _, err := xc.FetchIcon(ctx, pe.State.IconURL, ""); err != nil {
				t.Fatalf("icon over HTTPS: %v", err)
			}
			return
		}
	}
}
