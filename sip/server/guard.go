package server

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on SIP stream connections (TCP, TLS), enforced by the listener
// wrapper the server hands sipgo: sipgo sets no read timeout of its own and
// buffers whatever a peer sends up to MaxSIPMessage.
const (
	// MaxConnsPerSource bounds the connections open at once from one IP
	// address; more are closed as soon as they are accepted.
	MaxConnsPerSource = 128
	// PreAuthTimeout is how long a connection may stay open without a
	// request of it passing digest authentication.
	PreAuthTimeout = 30 * time.Second
	// PreAuthMaxBytes is how much a connection may send before a request of
	// it passes digest authentication: a maximal request, challenged, and
	// its authenticated repeat. Beyond it, and beyond PreAuthTimeout, an
	// unauthenticated peer holds nothing.
	PreAuthMaxBytes = 2 * MaxSIPMessage
	// idleTimeoutMargin is added to the longest expiry granted: an
	// authenticated connection silent for longer than any refresh interval
	// (plus this) has lost its client.
	idleTimeoutMargin = time.Minute
	// StreamWriteTimeout bounds one write to a connection: a subscriber that
	// stops reading loses its connection instead of holding a writer.
	StreamWriteTimeout = 10 * time.Second
)

var errPreAuthLimit = errors.New("server: connection sent too much before authenticating")

// guardListener applies the connection limits to what sipgo accepts.
type guardListener struct {
	net.Listener
	s      *Server
	idle   time.Duration
	mu     sync.Mutex
	counts map[string]int // open connections by source IP
}

func (s *Server) guard(l net.Listener) net.Listener {
	return &guardListener{Listener: l, s: s, idle: s.opts.MaxExpires + idleTimeoutMargin, counts: make(map[string]int)}
}

// Accept returns the next connection within the limits. It never returns a
// refused connection's error: sipgo stops serving on any Accept error.
func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := sourceIP(c.RemoteAddr())
		l.mu.Lock()
		if l.counts[ip] >= MaxConnsPerSource {
			l.mu.Unlock()
			l.s.log.Info("SIP connection refused: too many from one address", "source", ip, "limit", MaxConnsPerSource)
			c.Close()
			continue
		}
		l.counts[ip]++
		l.mu.Unlock()
		g := &guardConn{Conn: c, l: l, ip: ip, key: c.RemoteAddr().String(), preAuthDeadline: time.Now().Add(l.s.preAuthTimeout)}
		l.s.conns.put(g.key, g)
		return g, nil
	}
}

func sourceIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// guardConn is one accepted connection under the limits.
type guardConn struct {
	net.Conn
	l               *guardListener
	ip, key         string
	preAuthDeadline time.Time
	authed          atomic.Bool
	preAuthRead     int          // only the reading goroutine touches it
	fr              answerFramer // likewise
	closeOnce       sync.Once
}

// Read returns what the peer sent but the answers to our NOTIFYs, which
// are matched here (streamanswer.go).
func (c *guardConn) Read(b []byte) (int, error) {
	for {
		if c.fr.off {
			if len(c.fr.hold) > 0 {
				k := copy(b, c.fr.hold)
				c.fr.hold = c.fr.hold[k:]
				return k, nil
			}
			return c.read(b)
		}
		if len(b) <= len(c.fr.hold) {
			c.fr.off = true // a caller's buffer too small to frame in
			continue
		}
		h := copy(b, c.fr.hold)
		c.fr.hold = c.fr.hold[:0]
		n, err := c.read(b[h:])
		m := c.fr.filter(c.l.s.takeStreamAnswer, b[:h+n])
		if m > 0 || err != nil {
			return m, err
		}
	}
}

func (c *guardConn) read(b []byte) (int, error) {
	if c.authed.Load() {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.l.idle)); err != nil {
			return 0, err
		}
		return c.Conn.Read(b)
	}
	left := PreAuthMaxBytes - c.preAuthRead
	if left <= 0 {
		return 0, errPreAuthLimit
	}
	if len(b) > left {
		b = b[:left]
	}
	if err := c.Conn.SetReadDeadline(c.preAuthDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	c.preAuthRead += n
	return n, err
}

func (c *guardConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(StreamWriteTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *guardConn) Close() error {
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		if c.l.counts[c.ip]--; c.l.counts[c.ip] <= 0 {
			delete(c.l.counts, c.ip)
		}
		c.l.mu.Unlock()
		c.l.s.conns.deleteIf(c.key, func(v *guardConn) bool { return v == c })
	})
	return c.Conn.Close()
}

// authenticatedFrom lifts the pre-authentication limits of the connection a
// request that passed digest authentication came on.
func (s *Server) authenticatedFrom(source string) {
	if c, ok := s.conns.get(source); ok && !c.authed.Swap(true) {
		// sipgo's reader may already wait with the pre-auth deadline.
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.idle))
	}
}
