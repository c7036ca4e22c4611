package ua

import (
	"errors"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/server"
)

func isFailed(ev Event) bool {
	r, ok := ev.(RegistrationEvent)
	return ok && r.State == RegistrationFailed
}

// slowRetry is a back-off far longer than the tests' waits: only a probe,
// RetryNow or SetPassword can bring a registration back within them.
func slowRetry(o Options) Options {
	o.RetryMin, o.RetryMax = 10*waitTimeout, 20*waitTimeout
	return o
}

// A server that comes back ends the back-off: the probe sees it accept
// connections and the UA registers again at once.
func TestRegistrationProbesServerDuringBackoff(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", slowRetry(e.options(aliceAOR, "alicepw")))
	alice.waitFor(t, "registered", isRegistered)
	udp, tcp := e.udp, e.tcp
	e.stop()
	ev := alice.waitFor(t, "failed", isFailed).(RegistrationEvent)
	if !errors.Is(ev.Err, ErrTransport) || ev.RetryIn < waitTimeout {
		t.Fatalf("failure = %v, retry in %s; want no response and the slow back-off", ev.Err, ev.RetryIn)
	}
	e.start(udp, tcp)
	alice.waitFor(t, "registered again without waiting out the back-off", isRegistered)
}

// RetryNow tries again at once, even after an authentication failure
// (the password was fixed on the server's side meanwhile).
func TestRetryNow(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	alice := startUA(t, "alice", slowRetry(e.options(aliceAOR, "newpw")))
	alice.waitFor(t, "failed", isFailed)
	if err := e.store.SetPassword("alice", "newpw"); err != nil {
		t.Fatal(err)
	}
	alice.RetryNow()
	alice.waitFor(t, "registered after retry now", isRegistered)
}

// A wrong password is not retried (that would lock the account): one
// failure, then nothing until SetPassword, which registers.
func TestWrongPasswordWaitsForSetPassword(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	o := e.options(aliceAOR, "wrong")
	o.RetryMin, o.RetryMax = 20*time.Millisecond, 50*time.Millisecond
	alice := startUA(t, "alice", o)
	ev := alice.waitFor(t, "failed", isFailed).(RegistrationEvent)
	if !errors.Is(ev.Err, ErrAuthFailed) || ev.RetryIn != 0 {
		t.Fatalf("failure = %v, retry in %s; want an authentication failure, no retry", ev.Err, ev.RetryIn)
	}
	sent := alice.rec.count("REGISTER sip:")
	// Many back-off periods: the old loop would have sent more.
	time.Sleep(40 * o.RetryMax)
	if n := alice.rec.count("REGISTER sip:"); n != sent {
		t.Fatalf("%d REGISTERs after the authentication failure, want none", n-sent)
	}
	alice.SetPassword("alicepw")
	alice.waitFor(t, "registered with the new password", isRegistered)
}
