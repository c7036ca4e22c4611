package ua

import (
	"net"
	"time"
)

const (
	// ServerProbeInterval is how often a server that did not answer is
	// probed (a TCP connect) while the registration waits out its
	// back-off: when it accepts again, the wait ends and the back-off
	// starts over, so an outage of a minute does not leave us waiting
	// half a minute more after the server is back.
	ServerProbeInterval = 2 * time.Second
	// serverProbeTimeout bounds one probe.
	serverProbeTimeout = time.Second
)

// RetryNow makes the registration try again at once, its back-off reset,
// and everything else refresh after it succeeds: the person's "retry
// now", and the way out of an authentication failure (which is not
// retried by itself).
func (u *UA) RetryNow() {
	u.reg.retryNow.Store(true)
	u.reg.kick(true)
}

// SetPassword replaces the digest password (after an authentication
// failure, when the person typed it again) and retries the registration
// now.
func (u *UA) SetPassword(password string) {
	u.credMu.Lock()
	u.password = password
	u.credMu.Unlock()
	u.RetryNow()
}

// currentPassword is the password requests are authorized with.
func (u *UA) currentPassword() string {
	u.credMu.Lock()
	defer u.credMu.Unlock()
	return u.password
}

// wait sleeps d before the next REGISTER (forever when d < 0) unless
// woken or stopped; it reports false when stopped. After an attempt that
// got no response over a stream transport the server is probed every
// ServerProbeInterval and the wait ends, back-off reset, as soon as it
// accepts a connection.
func (r *registration) wait(d time.Duration) bool {
	var deadline <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	var probe <-chan time.Time
	if r.unreached && r.u.transport != "UDP" && d > ServerProbeInterval {
		t := time.NewTicker(ServerProbeInterval)
		defer t.Stop()
		probe = t.C
	}
	for {
		select {
		case <-r.stop:
			return false
		case <-r.wake:
			if r.retryNow.Swap(false) {
				r.bo.Reset()
			}
			return true
		case <-deadline:
			return true
		case <-probe:
			if r.u.serverAccepts() {
				r.u.log.Info("SIP server reachable again: registering now")
				r.bo.Reset()
				return true
			}
		}
	}
}

// serverAccepts reports whether the server takes a TCP connection now.
func (u *UA) serverAccepts() bool {
	dest := u.destination()
	if dest == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", dest, serverProbeTimeout)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
