package ua

import (
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RFC 5626 outbound and keep-alive defaults.
const (
	// DefaultKeepAliveStream is the keep-alive interval on TCP and TLS
	// when the registrar sends no Flow-Timer (RFC 5626 §4.4.1: 95-120 s).
	DefaultKeepAliveStream = 120 * time.Second
	// DefaultKeepAliveUDP keeps NAT bindings on UDP open (most expire
	// after 30 s of silence).
	DefaultKeepAliveUDP = 29 * time.Second
	// DefaultKeepAliveTimeout is how long a CRLF CRLF ping waits for its
	// pong before the flow is declared dead (RFC 5626 §4.4.1: 10 s).
	DefaultKeepAliveTimeout = 10 * time.Second
	// regID is our one flow per instance (RFC 5626 reg-id).
	regID = "1"
)

// The keep-alive messages as they appear in the trace.
const (
	tracePing = "CRLF CRLF (RFC 5626 keep-alive ping)"
	tracePong = "CRLF (RFC 5626 keep-alive pong)"
)

var (
	ping = []byte("\r\n\r\n")
	pong = []byte("\r\n")
)

// keepAlive is the state of the RFC 5626 keep-alive of the flow to the
// proxy.
type keepAlive struct {
	flowTimer atomic.Int64           // the registrar's Flow-Timer, ns (0: none)
	flowAddr  atomic.Pointer[string] // remote "ip:port" of the watched flow
	heard     chan struct{}          // something was read on that flow
}

// onRead sees every read of sipgo's transports before parsing: anything
// from the watched flow proves it alive, and a bare CRLF is the pong.
func (u *UA) onRead(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if info.RemoteAddr == nil {
		return data, nil
	}
	if p := u.ka.flowAddr.Load(); p != nil && *p == info.RemoteAddr.String() {
		if string(data) == string(pong) && u.opts.Trace != nil {
			u.opts.Trace(true, tracePong)
		}
		select {
		case u.ka.heard <- struct{}{}:
		default:
		}
	}
	return data, nil
}

// keepAliveInterval is the base interval: the option, else the
// transport's default; never longer than the registrar's Flow-Timer.
func (u *UA) keepAliveInterval() time.Duration {
	d := u.opts.KeepAliveInterval
	if d <= 0 {
		d = DefaultKeepAliveStream
		if u.transport == "UDP" {
			d = DefaultKeepAliveUDP
		}
	}
	if ft := time.Duration(u.ka.flowTimer.Load()); ft > 0 && ft < d {
		d = ft
	}
	return d
}

// setFlowTimer records the Flow-Timer of a REGISTER's 2xx.
func (u *UA) setFlowTimer(res *sip.Response) {
	if n, ok := headerInt(res, "Flow-Timer"); ok && n > 0 {
		u.ka.flowTimer.Store(int64(time.Duration(n) * time.Second))
	}
}

// runKeepAlive pings the proxy at 80-100% of the interval (RFC 5626
// §4.4.1): CRLF CRLF on TCP and TLS, answered by a CRLF, and on UDP a
// CRLF CRLF that keeps the NAT binding open. A stream flow that stays
// silent for the keep-alive timeout is dead: it is closed and the
// registration, publication and subscriptions are renewed at once on a
// new one, instead of at their next refresh.
func (u *UA) runKeepAlive() {
	var dest, key string
	for {
		d := u.keepAliveInterval()
		d = d*4/5 + rand.N(d/5+1)
		if !sleep(d, nil, u.stopping) {
			return
		}
		if dd := u.destination(); dd != dest {
			dest, key = dd, flowKey(u.runCtx, dd)
		}
		if u.transport == "UDP" {
			u.pingUDP(key)
			continue
		}
		u.pingStream(key)
	}
}

func (u *UA) pingUDP(key string) {
	addr, err := net.ResolveUDPAddr("udp", key)
	if err != nil {
		return
	}
	if _, err := u.udpConn.WriteTo(ping, addr); err != nil {
		u.log.Debug("keep-alive ping failed", "to", key, "error", err)
		return
	}
	if u.opts.Trace != nil {
		u.opts.Trace(false, tracePing)
	}
}

func (u *UA) pingStream(key string) {
	c := u.sipUA.TransportLayer().Pool(strings.ToLower(u.transport)).Get(key)
	if c == nil {
		return // no flow: the next request opens one
	}
	defer c.Ref(-1) // Get took a reference
	tc, ok := c.(*sip.TCPConnection)
	if !ok {
		return
	}
	u.ka.flowAddr.Store(&key)
	select { // forget what was heard before this ping
	case <-u.ka.heard:
	default:
	}
	timeout := min(u.opts.KeepAliveTimeout, u.keepAliveInterval())
	if u.opts.Trace != nil {
		u.opts.Trace(false, tracePing) // before the write: the pong may beat us
	}
	if _, err := tc.Write(ping); err != nil {
		u.flowDead(tc, key, err.Error())
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-u.ka.heard:
	case <-t.C:
		u.flowDead(tc, key, "no pong within "+timeout.String())
	case <-u.stopping:
	}
}

// flowDead closes a flow that no longer carries anything (sipgo then
// forgets it and fails its transactions) and renews everything on a new
// one.
func (u *UA) flowDead(c *sip.TCPConnection, key, why string) {
	u.log.Warn("the flow to the proxy is dead: renewing everything on a new one", "proxy", key, "why", why)
	_ = c.Close()
	u.reg.flowLost()
}
