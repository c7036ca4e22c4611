package ua

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/locate"
)

// setProxy reads a configured outbound proxy; its transport parameter (or
// a sips: scheme) fills *tp when the options named none.
func (u *UA) setProxy(proxy string, tp *string) error {
	if !strings.Contains(proxy, ":") || !strings.HasPrefix(strings.ToLower(proxy), "sip") {
		proxy = "sip:" + proxy
	}
	if err := sip.ParseUri(proxy, &u.proxy); err != nil {
		return fmt.Errorf("ua: bad Proxy %q: %w", proxy, err)
	}
	if u.proxy.Host == "" {
		return fmt.Errorf("ua: Proxy %q has no host", proxy)
	}
	if *tp == "" {
		v, _ := u.proxy.UriParams.Get("transport")
		*tp = strings.ToLower(v)
		if *tp == "" && u.proxy.Scheme == "sips" {
			*tp = "tls"
		}
	}
	port := u.proxy.Port
	if port == 0 {
		port = 5060
		if *tp == "tls" {
			port = 5061
		}
	}
	u.proxyAddr = net.JoinHostPort(u.proxy.Host, strconv.Itoa(port))
	return nil
}

// locate finds the AOR domain's servers in DNS and picks the best; the
// first location also fixes the transport (the Contact depends on it), so
// later failovers stay among targets of that transport.
func (u *UA) locate(ctx context.Context) error {
	targets, err := u.resolver.SIP(ctx, u.aor.Host, locate.Query{
		Transport: u.transport,
		Secure:    u.aor.Scheme == "sips",
		Port:      u.aor.Port,
	})
	if err != nil {
		return fmt.Errorf("ua: %w", err)
	}
	if u.transport == "" {
		u.transport = targets[0].Transport
	}
	var same []locate.Target
	for _, t := range targets {
		if t.Transport == u.transport {
			same = append(same, t)
		}
	}
	u.failover.Set(same)
	t, _ := u.failover.Pick()
	u.destMu.Lock()
	u.proxyAddr = t.Addr
	u.destMu.Unlock()
	u.log.Info("located the SIP servers in DNS", "domain", u.aor.Host, "targets", fmt.Sprint(same), "using", t.String())
	return nil
}

// relocate refreshes the located targets (from the DNS cache while the
// TTLs last) and moves to the best one that has not failed lately: a
// primary back from an outage gets its client back. Called before each
// REGISTER; it reports whether the destination changed.
func (u *UA) relocate(ctx context.Context, failed bool) bool {
	if u.failover == nil {
		return false
	}
	u.destMu.Lock()
	cur := u.proxyAddr
	u.destMu.Unlock()
	if failed {
		u.failover.MarkDown(locate.Target{Transport: u.transport, Addr: cur})
	}
	if targets, err := u.resolver.SIP(ctx, u.aor.Host, locate.Query{Transport: u.transport, Secure: u.aor.Scheme == "sips", Port: u.aor.Port}); err == nil {
		u.failover.Set(targets)
	} else {
		u.log.Warn("re-locating the SIP servers failed: keeping the last targets", "error", err)
	}
	t, ok := u.failover.Pick()
	if !ok || t.Addr == cur {
		return false
	}
	u.destMu.Lock()
	u.proxyAddr = t.Addr
	u.destMu.Unlock()
	u.log.Info("SIP server changed", "from", cur, "to", t.String())
	return true
}

// destination is where requests go now, "host:port".
func (u *UA) destination() string {
	u.destMu.Lock()
	defer u.destMu.Unlock()
	return u.proxyAddr
}

// failoverTargets is how many located targets there are (0 with a
// configured proxy).
func (u *UA) failoverTargets() int {
	if u.failover == nil {
		return 0
	}
	return u.failover.Len()
}

// listen creates the sipgo user agent, its handlers and both listeners.
// Called with u.mu held.
func (u *UA) listen(ctx context.Context) error {
	host, _, _ := net.SplitHostPort(u.opts.ListenAddr)
	udpConn, tcpLn, err := listenPair(u.opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("ua: listen on %s: %w", u.opts.ListenAddr, err)
	}
	l := u.opts.Logger
	parser := sip.NewParser()
	parser.MaxMessageLength = MaxNotifyMessage
	sipUA, err := sipgo.NewUA(
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgent(u.opts.UserAgent),
		sipgo.WithUserAgentHostname(u.aor.Host),
		sipgo.WithUserAgenTLSConfig(u.tlsConf),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(l), sip.WithTransportLayerReadFilter(u.onRead)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(l),
			sip.WithTransactionLayerTerminateOnConnClose(),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				u.log.Debug("response matching no transaction (retransmission?)", "response", r.Short())
			}),
		),
	)
	if err != nil {
		udpConn.Close()
		tcpLn.Close()
		return fmt.Errorf("ua: sipgo: %w", err)
	}
	clientOpts := []sipgo.ClientOption{sipgo.WithClientLogger(l), sipgo.WithClientNAT()}
	if u.transport == "UDP" {
		// Send from the socket we listen on, so that the Contact port,
		// the Via and the NAT binding agree.
		clientOpts = append(clientOpts, sipgo.WithClientConnectionAddr(udpConn.LocalAddr().String()))
	}
	client, err := sipgo.NewClient(sipUA, clientOpts...)
	if err != nil {
		sipUA.Close()
		udpConn.Close()
		tcpLn.Close()
		return fmt.Errorf("ua: sipgo client: %w", err)
	}
	streamClient, err := sipgo.NewClient(sipUA, sipgo.WithClientLogger(l), sipgo.WithClientNAT())
	if err != nil {
		sipUA.Close()
		udpConn.Close()
		tcpLn.Close()
		return fmt.Errorf("ua: sipgo client: %w", err)
	}
	server, err := sipgo.NewServer(sipUA, sipgo.WithServerLogger(l))
	if err != nil {
		sipUA.Close()
		udpConn.Close()
		tcpLn.Close()
		return fmt.Errorf("ua: sipgo server: %w", err)
	}
	// Every handler is registered before serving: sipgo's handler map is
	// not synchronized.
	server.OnNotify(u.onNotify)
	server.OnOptions(u.onOptions)
	server.OnNoRoute(u.onOther)

	u.sipUA, u.client, u.streamClient, u.server = sipUA, client, streamClient, server
	u.udpConn, u.tcpLn = udpConn, tcpLn
	u.bg.Add(2)
	go func() { defer u.bg.Done(); _ = server.ServeUDP(udpConn) }()
	go func() { defer u.bg.Done(); _ = server.ServeTCP(tcpLn) }()

	if u.transport == "UDP" {
		// The first request would race the UDP listener into sipgo's
		// connection pool ("address already in use"): wait for it.
		addr := udpConn.LocalAddr().String()
		for {
			if c, err := sipUA.TransportLayer().GetConnection("udp", addr); err == nil {
				c.Ref(-1)
				break
			}
			select {
			case <-ctx.Done():
				u.closeTransport()
				return fmt.Errorf("ua: waiting for the UDP listener: %w", ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}

	contactHost := host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		contactHost = outboundIP(u.destination())
	}
	var port int
	if u.transport != "UDP" {
		port = tcpLn.Addr().(*net.TCPAddr).Port
	} else {
		port = udpConn.LocalAddr().(*net.UDPAddr).Port
	}
	contact := sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: u.aor.User, Host: contactHost, Port: port},
	}
	if u.transport != "UDP" {
		// Without it Kamailio sends NOTIFYs to the Contact over UDP.
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", strings.ToLower(u.transport))
	}
	u.destMu.Lock()
	u.contact = contact
	u.destMu.Unlock()
	if u.transport == "TLS" {
		if err := u.syncTLSContact(ctx); err != nil {
			// Not fatal: the registration retries and reports it.
			u.log.Warn("no TLS connection to the proxy yet", "error", err)
		}
	}
	u.log.Info("listening", "udp", udpConn.LocalAddr().String(), "tcp", tcpLn.Addr().String(), "contact", u.ContactURI())
	return nil
}

// syncTLSContact opens (or finds) the TLS flow to the destination and puts
// its local address in our Contact. We listen on no TLS port (a client has
// no certificate to serve), so a proxy that sends NOTIFYs to the Contact,
// as Kamailio's presence module does, must find our open TLS connection
// under that address; a new flow (after a loss or a failover) has a new
// port, and the next REGISTER and refreshes carry it.
func (u *UA) syncTLSContact(ctx context.Context) error {
	dest := u.destination()
	host, port, err := sip.ParseAddr(dest)
	if err != nil {
		return fmt.Errorf("ua: bad destination %q: %w", dest, err)
	}
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: "0.0.0.0", Params: sip.NewParams()}
	req.AppendHeader(via)
	req.SetTransport("TLS")
	req.SetDestination(dest)
	c, err := u.sipUA.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		return fmt.Errorf("ua: %w", err)
	}
	la, ok := c.LocalAddr().(*net.TCPAddr)
	_, _ = c.TryClose() // our reference; the flow stays (idle + reader)
	if !ok {
		return nil
	}
	u.destMu.Lock()
	defer u.destMu.Unlock()
	if u.contact.Address.Port != la.Port {
		u.contact.Address.Port = la.Port
		u.contact.Address.Host = la.IP.String()
	}
	return nil
}

// contactHeader returns a copy of our Contact header.
func (u *UA) contactHeader() *sip.ContactHeader {
	u.destMu.Lock()
	defer u.destMu.Unlock()
	return u.contact.Clone()
}

// contactURI returns our Contact URI.
func (u *UA) contactURI() sip.Uri {
	u.destMu.Lock()
	defer u.destMu.Unlock()
	return *u.contact.Address.Clone()
}

// listenPair opens UDP and TCP on addr; with port 0 it tries to get the same
// port for both (tidier for people reading traces), else any two.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, _ := net.SplitHostPort(addr)
	if port == "0" {
		for range 8 {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, nil, err
			}
			_, p, _ := net.SplitHostPort(ln.Addr().String())
			pc, err := net.ListenPacket("udp", net.JoinHostPort(host, p))
			if err == nil {
				return pc, ln, nil
			}
			ln.Close()
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return pc, ln, nil
}

// outboundIP is the local address the kernel would use towards addr.
func outboundIP(addr string) string {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	h, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return h
}

func (u *UA) closeTransport() {
	if u.sipUA != nil {
		_ = u.sipUA.Close()
	}
	if u.udpConn != nil {
		_ = u.udpConn.Close()
	}
	if u.tcpLn != nil {
		_ = u.tcpLn.Close()
	}
}

// watchFlow notices when the TCP connection to the proxy closes (server
// restart, network change) and makes everything refresh at once instead of
// waiting for the next refresh timers: the registration is renewed, the
// publication refreshed (a restarted server answers 412 and gets a fresh
// one) and every subscription refreshed (481, then a new dialog).
func (u *UA) watchFlow() {
	pool := u.sipUA.TransportLayer().Pool(strings.ToLower(u.transport))
	t := time.NewTicker(u.opts.FlowCheckInterval)
	defer t.Stop()
	var last sip.Connection
	var lastSends int64
	var dest, key string
	for {
		select {
		case <-u.stopping:
			return
		case <-t.C:
		}
		sends := u.sends.Load()
		if d := u.destination(); d != dest {
			dest, key = d, flowKey(u.runCtx, d)
		}
		c := pool.Get(key)
		if c != nil {
			c.Ref(-1) // Get took a reference; we only look
		}
		// Lost: the connection we saw is gone or replaced, or requests
		// went out since the last look but no connection is left (it died
		// between two looks).
		lost := last != nil && c != last || last == nil && c == nil && sends != lastSends
		if lost {
			u.log.Info("connection to the proxy lost: refreshing everything", "proxy", key)
			u.reg.flowLost()
		}
		last, lastSends = c, sends
	}
}

// flowKey is the connection pool's key of the flow to the destination: its
// IP address and port (a configured proxy's name is resolved).
func flowKey(ctx context.Context, dest string) string {
	host, port, err := net.SplitHostPort(dest)
	if err != nil || net.ParseIP(host) != nil {
		return dest
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if addrs, err := net.DefaultResolver.LookupHost(ctx, host); err == nil && len(addrs) > 0 {
		return net.JoinHostPort(addrs[0], port)
	}
	return dest
}
