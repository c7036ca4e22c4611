package ua

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// BenchmarkHandleNotify measures one presence NOTIFY through the dialog
// matcher: CSeq check, PIDF parse, PresenceEvent (drained by a consumer).
func BenchmarkHandleNotify(b *testing.B) {
	u, err := New(Options{AOR: "sip:bob@example.test", Proxy: "sip:127.0.0.1:9"})
	if err != nil {
		b.Fatal(err)
	}
	carolDialog(u, "presence")
	body := pidfDoc(carol, "open", "benchmarking")
	raw := "NOTIFY sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:carol@example.test>;tag=n1\r\n" +
		"To: <sip:bob@example.test>;tag=bobtag\r\nCall-ID: call-1\r\nCSeq: 1 NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\nEvent: presence\r\n" +
		"Subscription-State: active;expires=600\r\nContent-Type: application/pidf+xml\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + string(body)
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	done := make(chan struct{})
	go func() {
		for range u.Events() {
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req.CSeq().SeqNo++
		if res := u.handleNotify(req); res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	b.StopTimer()
	_ = u.Close(b.Context())
	<-done
}

// BenchmarkPresenceLatency measures what a watcher waits for: from alice's
// SetPresence to the PresenceEvent on bob's channel, through the embedded
// server on loopback TCP (PUBLISH with its digest round trip, compose,
// NOTIFY, parse).
func BenchmarkPresenceLatency(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for _, u := range []string{"alice", "bob"} {
		if err := st.SetPassword(u, u+"pw"); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := server.New(server.Options{Domain: "example.test", Store: st})
	if err != nil {
		b.Fatal(err)
	}
	pc, ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), pc, ln) }()
	defer func() { srv.Close(); <-done }()

	start := func(aor, pw string) *UA {
		u, err := New(Options{AOR: aor, Password: pw, Proxy: "sip:" + ln.Addr().String() + ";transport=tcp"})
		if err != nil {
			b.Fatal(err)
		}
		if err := u.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		return u
	}
	alice, bob := start(aliceAOR, "alicepw"), start(bobAOR, "bobpw")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = alice.Close(ctx)
		_ = bob.Close(ctx)
	}()
	waitNote := func(note string) {
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-bob.Events():
				if p, ok := ev.(PresenceEvent); ok && p.URI == aliceAOR && p.State.Note == note {
					return
				}
			case <-alice.Events(): // keep alice's channel from filling
			case <-deadline:
				b.Fatalf("no presence with note %q", note)
			}
		}
	}
	alice.SetPresence(Presence{Open: true, Note: "warm-up"})
	bob.Subscribe(aliceAOR)
	waitNote("warm-up")

	b.ResetTimer()
	for i := range b.N {
		note := "note " + itoa(i)
		alice.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: note, IconURL: iconURL, IconSHA1: iconSHA1})
		waitNote(note)
	}
}
