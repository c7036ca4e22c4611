// Package ua is sipbuddy's SIP SIMPLE user agent: it registers one account,
// publishes its presence (PUBLISH, RFC 3903), watches buddies (SUBSCRIBE /
// NOTIFY dialogs, RFC 6665 and RFC 3856) and its own watchers
// (presence.winfo, RFC 3857), keeps all of it refreshed, recovers from
// server restarts by itself, and reports everything as typed events on one
// channel.
//
// One sipgo user agent serves one account. It listens on UDP and TCP on
// Options.ListenAddr and sends every request to the outbound proxy
// (Options.Proxy), over TCP by default: a PIDF document with an icon URL and
// a note easily passes sipgo's 1300-byte UDP limit.
//
// sipgo has no subscription dialogs (only INVITE ones), so this package
// keeps its own (subscription.go): dialogs are keyed by Call-ID and local
// tag, so a NOTIFY that overtakes the 200 to its SUBSCRIBE still finds its
// subscription.
//
// Logging goes to Options.Logger (default: discard). sipgo still writes a
// few messages (connection reference counting, unhandled responses) to its
// process-wide sip.DefaultLogger(), which falls back to slog.Default(): an
// application that owns the terminal should call sip.SetDefaultLogger once
// at start-up.
package ua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/sip/header"
)

// Defaults for Options.
const (
	DefaultExpires           = 600 * time.Second
	DefaultListenAddr        = "127.0.0.1:0"
	DefaultUserAgent         = "sipbuddy"
	DefaultRetryMin          = 1 * time.Second
	DefaultRetryMax          = 30 * time.Second
	DefaultNotifyTimeout     = 32 * time.Second // Timer N = 64·T1 (RFC 6665 §4.1.2.4)
	DefaultProbationRetry    = 30 * time.Second // probation/giveup without retry-after
	DefaultEventBuffer       = 256
	DefaultFlowCheckInterval = 1 * time.Second
	// DefaultUnsubscribeLinger is how long an unsubscribe waits for the
	// notifier's final NOTIFY, so that it is answered 200 rather than 481.
	DefaultUnsubscribeLinger = 2 * time.Second
)

// Limits.
const (
	// MaxSubscriptions bounds the buddies one UA watches.
	MaxSubscriptions = 1000
	// MaxNotifyBody bounds the body of a NOTIFY we parse (a PIDF is
	// limited further by pidf.MaxDocumentSize).
	MaxNotifyBody = 256 << 10
	// MaxRouteSet bounds the Record-Route entries a dialog keeps.
	MaxRouteSet = 16
)

// Options configures a UA. AOR, Password and Proxy are required.
type Options struct {
	// AOR is the account, "sip:alice@example.test".
	AOR         string
	DisplayName string
	// Username is the digest user name; default: the user part of AOR.
	Username string
	Password string
	// Proxy is the outbound proxy every request goes to,
	// "sip:127.0.0.1:5060;transport=tcp".
	Proxy string
	// Transport is "tcp" (default) or "udp". When empty, a transport
	// parameter of Proxy decides, then "tcp".
	Transport string
	// ListenAddr is where NOTIFYs are received, on UDP and TCP; default
	// "127.0.0.1:0" (the ports learned go into Contact).
	ListenAddr string
	// Requested lifetimes; default 600 s each. The server's grant wins.
	RegisterExpires, PublishExpires, SubscribeExpires time.Duration
	// Logger receives the UA's (and this UA's sipgo layers') logs;
	// default: discard.
	Logger *slog.Logger
	// Trace, if set, receives every SIP message this UA sends (in=false)
	// and receives (in=true), as text. It is called on network goroutines
	// and must not block.
	Trace func(in bool, msg string)

	// UserAgent is the User-Agent header; default "sipbuddy".
	UserAgent string
	// RetryMin and RetryMax bound the back-off after failures: RetryMin,
	// doubling up to RetryMax, jittered. Defaults 1 s and 30 s.
	RetryMin, RetryMax time.Duration
	// NotifyTimeout is Timer N: a subscription whose 2xx is not followed
	// by a NOTIFY within it is retried. Default 32 s.
	NotifyTimeout time.Duration
	// EventBuffer is the capacity of the Events channel; default 256.
	// Unused with a Sink.
	EventBuffer int
	// Sink, if set, receives every event instead of the Events channel
	// (which then stays empty and is closed by Close). It is called on the
	// goroutine that produced the event, one call at a time, never after
	// Close returned, sometimes with the UA's own locks held: it must not
	// block and must not call the UA. A consumer that keeps its own queue
	// (sipbuddy's account package) uses it so that no second buffer and
	// goroutine sit between the network and the queue.
	Sink func(Event)
	// FlowCheckInterval is how often the TCP connection to the proxy is
	// checked; when it dies, everything is refreshed at once. Default 1 s.
	FlowCheckInterval time.Duration
	// UnsubscribeLinger bounds the wait for the final NOTIFY after an
	// unsubscribe; default 2 s.
	UnsubscribeLinger time.Duration
}

// Presence is what we publish about ourselves.
type Presence struct {
	// Open is basic "open" (reachable) or "closed".
	Open bool
	// Activities are RPID activities: "away", "busy", "on-the-phone" ...
	Activities []string
	Note       string
	// IconURL is the XCAP URL of our icon; IconSHA1 (hex) becomes its
	// fragment so watchers can cache the image.
	IconURL, IconSHA1 string
}

// UA is one account's user agent. Its methods are safe for concurrent use.
type UA struct {
	opts      Options
	log       *slog.Logger
	aor       sip.Uri
	proxy     sip.Uri
	proxyAddr string // host:port the requests go to
	transport string // "TCP" or "UDP"

	events   chan Event
	evMu     sync.Mutex
	evClosed bool
	dropped  int

	auth  authCache
	sends atomic.Int64 // requests sent, for the flow watcher

	mu      sync.Mutex
	state   uaState
	subs    map[string]*subscription // presence subscriptions by subKey of the URI
	winfo   *subscription            // nil when not watching watchers
	list    *subscription            // the resource list subscription (rls.go), or nil
	dialogs map[dialogKey]*subscription
	pub     *publication
	reg     *registration

	// set by Start
	sipUA    *sipgo.UserAgent
	client   *sipgo.Client
	server   *sipgo.Server
	udpConn  net.PacketConn
	tcpLn    net.Listener
	contact  sip.ContactHeader
	stopping chan struct{}      // closed by Close: loops wind down
	runCtx   context.Context    // bounds every request; cancelled at the end of Close
	cancel   context.CancelFunc //
	loops    sync.WaitGroup     // publication and subscription loops
	bg       sync.WaitGroup     // serve loops, flow watcher, registration
}

type uaState int

const (
	stateNew uaState = iota
	stateStarted
	stateClosing
	stateClosed
)

// New checks the options and returns a UA that does nothing until Start.
func New(o Options) (*UA, error) {
	u := &UA{opts: o, subs: make(map[string]*subscription), dialogs: make(map[dialogKey]*subscription)}
	if o.AOR == "" {
		return nil, errors.New("ua: Options.AOR is required")
	}
	if err := sip.ParseUri(o.AOR, &u.aor); err != nil {
		return nil, fmt.Errorf("ua: bad AOR %q: %w", o.AOR, err)
	}
	if u.aor.Scheme != "sip" && u.aor.Scheme != "sips" || u.aor.User == "" || u.aor.Host == "" {
		return nil, fmt.Errorf("ua: AOR %q must be sip:user@domain", o.AOR)
	}
	u.aor = sip.Uri{Scheme: u.aor.Scheme, User: u.aor.User, Host: u.aor.Host, Port: u.aor.Port}
	if o.Proxy == "" {
		return nil, errors.New("ua: Options.Proxy is required")
	}
	if !strings.Contains(o.Proxy, ":") || !strings.HasPrefix(strings.ToLower(o.Proxy), "sip") {
		o.Proxy = "sip:" + o.Proxy
	}
	if err := sip.ParseUri(o.Proxy, &u.proxy); err != nil {
		return nil, fmt.Errorf("ua: bad Proxy %q: %w", o.Proxy, err)
	}
	if u.proxy.Host == "" {
		return nil, fmt.Errorf("ua: Proxy %q has no host", o.Proxy)
	}
	tp := strings.ToLower(o.Transport)
	if tp == "" {
		tp, _ = u.proxy.UriParams.Get("transport")
		tp = strings.ToLower(tp)
	}
	switch tp {
	case "", "tcp":
		u.transport = "TCP"
	case "udp":
		u.transport = "UDP"
	default:
		return nil, fmt.Errorf("ua: unsupported transport %q (tcp or udp)", tp)
	}
	port := u.proxy.Port
	if port == 0 {
		port = 5060
	}
	u.proxyAddr = net.JoinHostPort(u.proxy.Host, strconv.Itoa(port))

	if o.Username == "" {
		o.Username = u.aor.User
	}
	if o.ListenAddr == "" {
		o.ListenAddr = DefaultListenAddr
	}
	if _, _, err := net.SplitHostPort(o.ListenAddr); err != nil {
		return nil, fmt.Errorf("ua: bad ListenAddr %q: %w", o.ListenAddr, err)
	}
	for _, d := range []*time.Duration{&o.RegisterExpires, &o.PublishExpires, &o.SubscribeExpires} {
		if *d <= 0 {
			*d = DefaultExpires
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = DefaultNotifyTimeout
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.FlowCheckInterval <= 0 {
		o.FlowCheckInterval = DefaultFlowCheckInterval
	}
	if o.UnsubscribeLinger <= 0 {
		o.UnsubscribeLinger = DefaultUnsubscribeLinger
	}
	u.opts = o
	u.log = o.Logger.With("aor", u.aor.String())
	u.events = make(chan Event, o.EventBuffer)
	u.stopping = make(chan struct{})
	u.runCtx, u.cancel = context.WithCancel(context.Background())
	u.pub = newPublication(u)
	u.reg = newRegistration(u)
	return u, nil
}

// AOR returns the account's address of record, "sip:alice@example.test".
func (u *UA) AOR() string { return u.aor.String() }

// Events is the channel every state change comes out of when there is no
// Options.Sink. It is buffered (Options.EventBuffer) and never blocks the
// network: when the consumer falls behind, the OLDEST queued event is
// dropped to make room (the newest state of everything is what a buddy list
// needs). It is closed at the end of Close.
func (u *UA) Events() <-chan Event { return u.events }

// Dropped returns how many events were dropped because the consumer was
// too slow.
func (u *UA) Dropped() int {
	u.evMu.Lock()
	defer u.evMu.Unlock()
	return u.dropped
}

// ContactURI returns the Contact URI in use (after Start).
func (u *UA) ContactURI() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.contact.Address.String()
}

func (u *UA) emit(ev Event) {
	u.evMu.Lock()
	defer u.evMu.Unlock()
	if u.evClosed {
		return
	}
	if u.opts.Sink != nil {
		u.opts.Sink(ev)
		return
	}
	for {
		select {
		case u.events <- ev:
			return
		default:
		}
		select {
		case old := <-u.events:
			u.dropped++
			u.log.Warn("event consumer too slow: dropped oldest event", "event", old.String())
		default:
		}
	}
}

func (u *UA) trace(in bool, msg sip.Message) {
	if u.opts.Trace != nil {
		u.opts.Trace(in, msg.String())
	}
}

// Start listens, registers and starts publishing (if SetPresence was
// called) and subscribing (if Subscribe was called); from then on
// everything is kept refreshed until Close. ctx bounds the start-up only.
func (u *UA) Start(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch u.state {
	case stateStarted:
		return errors.New("ua: already started")
	case stateClosing, stateClosed:
		return ErrClosed
	}
	if err := u.listen(ctx); err != nil {
		return err
	}
	u.state = stateStarted
	u.bg.Add(1)
	go func() { defer u.bg.Done(); u.reg.run() }()
	u.loops.Add(1)
	go func() { defer u.loops.Done(); u.pub.run() }()
	for _, s := range u.subs {
		u.startSubLocked(s)
	}
	if u.list != nil {
		u.startSubLocked(u.list)
	}
	if u.winfo != nil {
		u.startSubLocked(u.winfo)
	}
	if u.transport == "TCP" {
		u.bg.Add(1)
		go func() { defer u.bg.Done(); u.watchFlow() }()
	}
	return nil
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
	sipUA, err := sipgo.NewUA(
		sipgo.WithUserAgent(u.opts.UserAgent),
		sipgo.WithUserAgentHostname(u.aor.Host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(l)),
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

	u.sipUA, u.client, u.server = sipUA, client, server
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
		contactHost = outboundIP(u.proxyAddr)
	}
	var port int
	if u.transport == "TCP" {
		port = tcpLn.Addr().(*net.TCPAddr).Port
	} else {
		port = udpConn.LocalAddr().(*net.UDPAddr).Port
	}
	u.contact = sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: u.aor.User, Host: contactHost, Port: port},
	}
	if u.transport == "TCP" {
		// Without it Kamailio sends NOTIFYs to the Contact over UDP.
		u.contact.Address.UriParams = sip.NewParams()
		u.contact.Address.UriParams.Add("transport", "tcp")
	}
	u.log.Info("listening", "udp", udpConn.LocalAddr().String(), "tcp", tcpLn.Addr().String(), "contact", u.contact.Address.String())
	return nil
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

// SetPresence publishes p: an initial PUBLISH the first time, then a
// modify. It never blocks; changes made while a PUBLISH is in flight are
// coalesced into the next one.
func (u *UA) SetPresence(p Presence) {
	p.Activities = append([]string(nil), p.Activities...)
	u.pub.set(p)
}

// subKey is the key of a presence subscription: the AOR of uri (sipuri),
// so that two spellings of one buddy share one dialog, or uri itself when
// it does not parse (Subscribe then reports it as bad).
func subKey(uri string) string {
	if key, err := sipuri.AORKey(uri); err == nil {
		return key
	}
	return uri
}

// Subscribe starts watching uri's presence. It never blocks and is
// idempotent: another spelling of the same AOR ("SIP:Ada@Example.Test" for
// "sip:ada@example.test") is the same subscription, and its events carry
// the spelling first subscribed.
func (u *UA) Subscribe(uri string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state >= stateClosing {
		return
	}
	key := subKey(uri)
	if old, ok := u.subs[key]; ok && !old.stopped.Load() {
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil || target.User == "" || target.Host == "" {
		u.log.Warn("not subscribing to a bad URI", "uri", uri, "error", err)
		u.emit(SubscriptionEvent{URI: uri, Package: header.EventPresence, State: Terminated, Reason: "bad URI", Err: fmt.Errorf("ua: bad buddy URI %q", uri)})
		return
	}
	if len(u.subs) >= MaxSubscriptions {
		u.emit(SubscriptionEvent{URI: uri, Package: header.EventPresence, State: Terminated, Reason: "too many subscriptions",
			Err: fmt.Errorf("ua: more than %d subscriptions", MaxSubscriptions)})
		return
	}
	s := newSubscription(u, uri, target, header.EventPresence)
	u.subs[key] = s
	if u.state == stateStarted {
		u.startSubLocked(s)
	}
}

// Unsubscribe stops watching uri, however spelled (an in-dialog SUBSCRIBE
// with Expires: 0).
func (u *UA) Unsubscribe(uri string) {
	u.mu.Lock()
	key := subKey(uri)
	s, ok := u.subs[key]
	delete(u.subs, key)
	started := u.state == stateStarted
	u.mu.Unlock()
	if ok && started {
		s.unsubscribe()
	}
}

// RefreshWatchers refreshes the presence.winfo subscription now, so that the
// next WatchersEvent carries the server's current list. Call it after
// changing pres-rules: Kamailio re-evaluates the watcher but sends the
// owner no winfo NOTIFY until the next refresh, which may be minutes away.
func (u *UA) RefreshWatchers() {
	u.mu.Lock()
	s := u.winfo
	started := u.state == stateStarted
	u.mu.Unlock()
	if s != nil && started {
		s.kick()
	}
}

// WatchWatchers turns the presence.winfo subscription to our own AOR on or
// off; watcher lists arrive as WatchersEvent.
func (u *UA) WatchWatchers(on bool) {
	u.mu.Lock()
	if u.state >= stateClosing {
		u.mu.Unlock()
		return
	}
	s := u.winfo
	if on {
		if s == nil || s.stopped.Load() {
			s = newSubscription(u, u.aor.String(), u.aor, header.EventPresenceWinfo)
			u.winfo = s
			if u.state == stateStarted {
				u.startSubLocked(s)
			}
		}
		u.mu.Unlock()
		return
	}
	u.winfo = nil
	started := u.state == stateStarted
	u.mu.Unlock()
	if s != nil && started {
		s.unsubscribe()
	}
}

func (u *UA) startSubLocked(s *subscription) {
	u.loops.Add(1)
	go func() { defer u.loops.Done(); s.run() }()
}

// Close ends everything in order: the publication is removed, every
// subscription is ended, the registration is removed, then the sockets
// close. ctx bounds the whole; when it expires the remaining requests are
// abandoned (and ctx's error returned), but Close still returns only after
// every goroutine of the UA has ended.
func (u *UA) Close(ctx context.Context) error {
	u.mu.Lock()
	switch u.state {
	case stateClosing, stateClosed:
		u.mu.Unlock()
		return nil
	}
	started := u.state == stateStarted
	u.state = stateClosing
	u.mu.Unlock()

	var err error
	if started {
		// Publication removal and unsubscribes run in parallel, each in
		// its own loop; the registration goes last.
		close(u.stopping)
		if !waitCtx(ctx, &u.loops) {
			err = ctx.Err()
			u.cancel() // abandon in-flight requests; loops then exit quickly
			u.loops.Wait()
		}
		u.reg.stopNow(ctx)
		if err == nil {
			err = ctx.Err()
		}
		// The flow watcher and the registration have ended; the serve
		// loops end when the sockets close.
		u.cancel()
		u.closeTransport()
		u.bg.Wait()
	} else {
		u.cancel()
	}

	u.mu.Lock()
	u.state = stateClosed
	u.mu.Unlock()
	u.evMu.Lock()
	u.evClosed = true
	close(u.events)
	u.evMu.Unlock()
	return err
}

// waitCtx waits for wg, or for ctx; it reports whether wg finished.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchFlow notices when the TCP connection to the proxy closes (server
// restart, network change) and makes everything refresh at once instead of
// waiting for the next refresh timers: the registration is renewed, the
// publication refreshed (a restarted server answers 412 and gets a fresh
// one) and every subscription refreshed (481, then a new dialog).
func (u *UA) watchFlow() {
	pool := u.sipUA.TransportLayer().Pool("tcp")
	key := u.proxyAddr
	if ip := net.ParseIP(u.proxy.Host); ip == nil {
		if addrs, err := net.DefaultResolver.LookupHost(u.runCtx, u.proxy.Host); err == nil && len(addrs) > 0 {
			_, p, _ := net.SplitHostPort(u.proxyAddr)
			key = net.JoinHostPort(addrs[0], p)
		}
	}
	t := time.NewTicker(u.opts.FlowCheckInterval)
	defer t.Stop()
	var last sip.Connection
	var lastSends int64
	for {
		select {
		case <-u.stopping:
			return
		case <-t.C:
		}
		sends := u.sends.Load()
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

// kickAll makes the publication and every subscription refresh now (after
// a re-registration that followed a failure or a lost connection).
func (u *UA) kickAll() {
	u.pub.kick()
	u.mu.Lock()
	subs := make([]*subscription, 0, len(u.subs)+1)
	for _, s := range u.subs {
		subs = append(subs, s)
	}
	if u.list != nil {
		subs = append(subs, u.list)
	}
	if u.winfo != nil {
		subs = append(subs, u.winfo)
	}
	u.mu.Unlock()
	for _, s := range subs {
		s.kick()
	}
}

// onOptions answers keep-alive and capability probes.
func (u *UA) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	u.trace(true, req)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", "application/pidf+xml, application/watcherinfo+xml"))
	u.respond(tx, res)
}

// onOther answers every method we do not handle.
func (u *UA) onOther(req *sip.Request, tx sip.ServerTransaction) {
	u.trace(true, req)
	if req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	u.respond(tx, res)
}

const allowMethods = "NOTIFY, OPTIONS"

func (u *UA) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		u.log.Warn("sending response failed", "response", res.Short(), "error", err)
		return
	}
	u.trace(false, res)
}

func newCallID() string { return uuid.NewString() }

func newTag() string { return sip.GenerateTagN(16) }
