package sshserver

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Bounds of connections that have not logged in yet. Idle TCP connections
// must not keep real users out: when a bound is reached, the connection
// that has sent the fewest bytes (the oldest of those) is closed to make
// room, so a client in the middle of its handshake outlives any number of
// connections that send nothing.
const (
	// HandshakeTimeout bounds the time from TCP accept to logged in (a
	// person typing a password at the prompt included), unless
	// Options.HandshakeTimeout says otherwise.
	HandshakeTimeout = 60 * time.Second
	// MaxPreAuthConnections bounds the connections that have not logged in.
	MaxPreAuthConnections = 32
	// MaxPreAuthPerSource bounds them per remote IP address.
	MaxPreAuthPerSource = 8
)

// preAuthKey is the ssh.Context key of a connection's *trackedConn.
type preAuthKey struct{}

// trackedConn is one SSH connection: counted among the pre-auth
// connections until its first channel opens (only a logged-in client can
// open one), then among the MaxConnections logged-in ones.
type trackedConn struct {
	net.Conn
	t      *connTracker
	source string
	since  time.Time
	read   atomic.Int64 // bytes read while pre-auth: how far the handshake got

	// guarded by t.mu
	preAuth, loggedIn, closed bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *trackedConn) Close() error {
	c.t.forget(c)
	return c.Conn.Close()
}

// connTracker counts connections before and after login.
type connTracker struct {
	maxLoggedIn int

	mu       sync.Mutex
	preAuth  map[*trackedConn]struct{}
	bySource map[string]int
	loggedIn int
}

func newConnTracker(maxLoggedIn int) *connTracker {
	return &connTracker{maxLoggedIn: maxLoggedIn, preAuth: map[*trackedConn]struct{}{}, bySource: map[string]int{}}
}

// admit registers a new connection, closing others that have not logged
// in when a bound is reached; it returns the closed ones' count.
func (t *connTracker) admit(c net.Conn) (*trackedConn, int) {
	source := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	tc := &trackedConn{Conn: c, t: t, source: source, since: time.Now(), preAuth: true}
	var victims []*trackedConn
	t.mu.Lock()
	for t.bySource[source] >= MaxPreAuthPerSource {
		victims = append(victims, t.evictLocked(source))
	}
	for len(t.preAuth) >= MaxPreAuthConnections {
		victims = append(victims, t.evictLocked(""))
	}
	t.preAuth[tc] = struct{}{}
	t.bySource[source]++
	t.mu.Unlock()
	for _, v := range victims {
		_ = v.Conn.Close() // the handshake fails; charm's close calls forget
	}
	return tc, len(victims)
}

// evictLocked drops the pre-auth connection (of source, or any when "")
// that got least far, the oldest of equals, from the counts.
func (t *connTracker) evictLocked(source string) *trackedConn {
	var victim *trackedConn
	for c := range t.preAuth {
		if source != "" && c.source != source {
			continue
		}
		if victim == nil || c.read.Load() < victim.read.Load() ||
			c.read.Load() == victim.read.Load() && c.since.Before(victim.since) {
			victim = c
		}
	}
	t.dropPreAuthLocked(victim)
	return victim
}

func (t *connTracker) dropPreAuthLocked(c *trackedConn) {
	if !c.preAuth {
		return
	}
	c.preAuth = false
	delete(t.preAuth, c)
	if t.bySource[c.source]--; t.bySource[c.source] <= 0 {
		delete(t.bySource, c.source)
	}
}

// logIn moves c to the logged-in connections; false when MaxConnections
// are logged in already.
func (t *connTracker) logIn(c *trackedConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.loggedIn {
		return true
	}
	if c.closed || t.loggedIn >= t.maxLoggedIn {
		return false
	}
	t.dropPreAuthLocked(c)
	c.loggedIn = true
	t.loggedIn++
	return true
}

func (t *connTracker) forget(c *trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	t.dropPreAuthLocked(c)
	if c.loggedIn {
		t.loggedIn--
	}
}

// closePreAuth closes every connection that has not logged in: at
// shutdown nobody waits for a handshake to finish.
func (t *connTracker) closePreAuth() {
	t.mu.Lock()
	var open []*trackedConn
	for c := range t.preAuth {
		open = append(open, c)
	}
	t.mu.Unlock()
	for _, c := range open {
		_ = c.Conn.Close()
	}
}

// counts returns the pre-auth and logged-in connections (for tests).
func (t *connTracker) counts() (preAuth, loggedIn int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.preAuth), t.loggedIn
}

// admitConn tracks c from accept. The accept loop calls it before the
// connection's goroutine starts, so connections are admitted in the order
// they arrived: a client that connected last is the newest however the
// goroutines are scheduled, and older silent connections go before it.
func (s *Server) admitConn(c net.Conn) *trackedConn {
	tc, evicted := s.conns.admit(c)
	if evicted > 0 {
		s.logger.Warn("ssh: closed connections that had not logged in, to make room", "closed", evicted, "remote", tc.source)
	}
	return tc
}

// trackConn is the ssh.ConnCallback: it files the connection admitted at
// accept in the session context (and admits one that did not come
// through the accept loop).
func (s *Server) trackConn(ctx ssh.Context, c net.Conn) net.Conn {
	tc, ok := c.(*trackedConn)
	if !ok {
		tc = s.admitConn(c)
	}
	ctx.SetValue(preAuthKey{}, tc)
	return tc
}

// loggedInChannels wraps the channel handlers: the first channel of a
// connection is where it is known to be logged in (the handshake is over),
// so it moves to the logged-in count there, or is refused when that is
// full.
func (s *Server) loggedInChannels(srv *ssh.Server) error {
	wrapped := map[string]ssh.ChannelHandler{}
	for name, h := range ssh.DefaultChannelHandlers {
		wrapped[name] = func(srv *ssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx ssh.Context) {
			if tc, ok := ctx.Value(preAuthKey{}).(*trackedConn); ok && !s.conns.logIn(tc) {
				s.logger.Warn("ssh connection refused: too many", "user", conn.User(), "remote", tc.source)
				_ = ch.Reject(gossh.ResourceShortage, "the server is full; please try again later")
				_ = conn.Close()
				return
			}
			h(srv, conn, ch, ctx)
		}
	}
	srv.ChannelHandlers = wrapped
	srv.HandshakeTimeout = s.opts.HandshakeTimeout
	return nil
}
