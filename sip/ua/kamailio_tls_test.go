package ua

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// Environment of the Kamailio TLS interop test (.ci/run starts the
// instance: peers/kamailio/start.sh with SIP_TLS_PORT and HTTPS_PORT).
const (
	KamailioTLSProxyEnv = "SIPBUDDY_KAMAILIO_TLS_PROXY" // "127.0.0.1:5401", SIP over TLS
	KamailioTLSXCAPEnv  = "SIPBUDDY_KAMAILIO_TLS_XCAP"  // "https://127.0.0.1:8401/xcap-root"
	KamailioTLSCAEnv    = "SIPBUDDY_KAMAILIO_TLS_CA"    // the harness's SIP_TLS_CA
)

// REGISTER, PUBLISH, SUBSCRIBE/NOTIFY over TLS and the icon over HTTPS
// against Kamailio 5.6, every certificate verified with the harness's CA
// (by the name example.test for SIP, 127.0.0.1 for HTTPS).
func TestKamailioTLS(t *testing.T) {
	proxy, root, ca := os.Getenv(KamailioTLSProxyEnv), os.Getenv(KamailioTLSXCAPEnv), os.Getenv(KamailioTLSCAEnv)
	if proxy == "" || root == "" || ca == "" {
		msg := KamailioTLSProxyEnv + ", " + KamailioTLSXCAPEnv + " and " + KamailioTLSCAEnv + " not set: start peers/kamailio/start.sh with SIP_TLS_PORT and HTTPS_PORT"
		if os.Getenv(testtool.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	trust := tlsconf.Options{CAFile: ca}
	opts := func(aor, pw string) Options {
		return Options{AOR: aor, Password: pw, Proxy: "sip:" + proxy + ";transport=tls", TLS: trust,
			RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9,
			// Kamailio answers RFC 5626 pings on its TLS connections too.
			KeepAliveInterval: 500 * time.Millisecond, KeepAliveTimeout: 2 * time.Second}
	}
	alice := startUA(t, "alice", opts("sip:alice@example.test", "alicepw"))
	bob := startUA(t, "bob", opts("sip:bob@example.test", "bobpw"))
	alice.waitFor(t, "alice registered over TLS", isRegistered)
	bob.waitFor(t, "bob registered over TLS", isRegistered)

	// The icon goes up over HTTPS; its URL travels in the PIDF over TLS.
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	ax, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "alicepw", TLS: trust})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ax.CloseIdleConnections)
	up, err := ax.UploadIcon(t.Context(), testtool.EncodePNG(t, img), xcap.BlinkIconName)
	if err != nil {
		t.Fatalf("icon upload over HTTPS: %v", err)
	}
	alice.SetPresence(Presence{Open: true, Note: "over TLS", IconURL: up.URL, IconSHA1: up.SHA1})
	alice.waitFor(t, "alice published over TLS", isPublished)
	bob.Subscribe("sip:alice@example.test")
	ev := bob.waitFor(t, "alice's note and icon over TLS", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && p.State.Note == "over TLS" && p.State.IconURL == up.URL
	})).(PresenceEvent)

	bx, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:bob@example.test", Password: "bobpw", TLS: trust})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bx.CloseIdleConnections)
	data, _, err := bx.FetchIcon(t.Context(), ev.State.IconURL, "")
	if err != nil {
		t.Fatalf("icon fetch over HTTPS: %v", err)
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("fetched icon (%d bytes) does not decode: %v", len(data), err)
	}
	eventually(t, "a keep-alive pong from Kamailio over TLS", func() bool { return alice.rec.count(tracePong) > 0 })
	if n := alice.rec.count(">>> REGISTER"); n > 2 {
		t.Errorf("%d REGISTERs: the keep-alive took a live TLS flow for dead", n)
	}
}
