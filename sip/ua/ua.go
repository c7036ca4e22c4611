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
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/locate"
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
	// MaxSubscriptions bounds the buddies one UA watches (its own AOR,
	// self-presence, comes on top).
	MaxSubscriptions = 1000
	// MaxNotifyBody bounds the body of a NOTIFY we parse (a PIDF is
	// limited further by pidf.MaxDocumentSize).
	MaxNotifyBody = 256 << 10
	// MaxNotifyMessage bounds a whole SIP message we read (sipgo's parser
	// limit, 65,535 bytes by default, would drop the connection under a
	// NOTIFY carrying the largest document a server may accept): the
	// largest body plus room for headers.
	MaxNotifyMessage = MaxNotifyBody + 32<<10
	// MaxRouteSet bounds the Record-Route entries a dialog keeps.
	MaxRouteSet = 16
)

// Options configures a UA. AOR and Password are required.
type Options struct {
	// AOR is the account, "sip:alice@example.test".
	AOR         string
	DisplayName string
	// Username is the digest user name; default: the user part of AOR.
	Username string
	Password string
	// Proxy is the outbound proxy every request goes to,
	// "sip:127.0.0.1:5060;transport=tcp" or "sips:proxy.example.com".
	// Empty: the AOR's domain is located in DNS (RFC 3263: NAPTR, SRV,
	// A/AAAA) with Resolver, and the UA fails over between the targets.
	Proxy string
	// Resolver locates the servers when Proxy is empty; default: the
	// name servers of /etc/resolv.conf.
	Resolver *locate.Resolver
	// Transport is "tcp" (default), "udp" or "tls". When empty, a
	// transport parameter of Proxy (or a sips: scheme) decides, then DNS
	// when locating, then "tcp".
	Transport string
	// TLS verifies the server's certificate on TLS flows: system roots by
	// default, a CA file, or (for test servers only) no verification.
	TLS tlsconf.Options
	// ListenAddr is where NOTIFYs are received, on UDP and TCP; default
	// "127.0.0.1:0" (the ports learned go into Contact).
	ListenAddr string
	// Requested lifetimes; default 600 s each. The server's grant wins.
	RegisterExpires, PublishExpires, SubscribeExpires time.Duration
	// Logger receives the UA's (and this UA's sipgo layers') logs;
	// default: discard.
	Logger *slog.Logger
	// Trace, if set, receives every SIP message this UA sends (in=false)
	// and receives (in=true), as text; RFC 5626 keep-alives appear as the
	// lines "CRLF CRLF (RFC 5626 keep-alive ping)" and "CRLF (RFC 5626
	// keep-alive pong)". It is called on network goroutines and must not
	// block.
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
	// InstanceID is this device's RFC 5626 +sip.instance, "urn:uuid:..."
	// (LoadInstanceID keeps one per account in the data directory); it
	// also names our PIDF tuple, so each device of an account publishes
	// its own. Default: a new one for this UA.
	InstanceID string
	// KeepAliveInterval is the RFC 5626 keep-alive period (pings go at
	// 80-100% of it); default DefaultKeepAliveStream on TCP/TLS and
	// DefaultKeepAliveUDP on UDP, and never longer than the registrar's
	// Flow-Timer.
	KeepAliveInterval time.Duration
	// KeepAliveTimeout bounds the wait for a pong before the flow is
	// declared dead; default DefaultKeepAliveTimeout (at most the
	// interval).
	KeepAliveTimeout time.Duration
	// FailoverHold is how long a located server that did not answer is
	// passed over; default locate.DefaultHold.
	FailoverHold time.Duration
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
	proxy     sip.Uri // zero when located in DNS
	transport string  // "TCP", "UDP" or "TLS"; "" until located
	tlsConf   *tls.Config

	// Where requests go: a configured proxy (proxyAddr, fixed) or the
	// located targets (failover, resolver).
	destMu    sync.Mutex
	proxyAddr string // host:port the requests go to now
	failover  *locate.Failover
	resolver  *locate.Resolver

	events   chan Event
	evMu     sync.Mutex
	evClosed bool
	dropped  int

	auth authCache
	// credMu guards password: SetPassword replaces it while requests go.
	credMu   sync.Mutex
	password string
	ka       keepAlive
	sends    atomic.Int64 // requests sent, for the flow watcher

	mu      sync.Mutex
	state   uaState
	subs    map[string]*subscription // presence subscriptions by subKey of the URI
	winfo   *subscription            // nil when not watching watchers
	list    *subscription            // the resource list subscription (rls.go), or nil
	xdiff   *subscription            // the xcap-diff subscription (xcapdiff.go), or nil
	dialogs map[dialogKey]*subscription
	pub     *publication
	reg     *registration

	// set by Start
	sipUA  *sipgo.UserAgent
	client *sipgo.Client
	// streamClient sends the requests of a UDP UA that are too large for
	// UDP over TCP (client is bound to the UDP socket's address).
	streamClient *sipgo.Client
	server       *sipgo.Server
	udpConn      net.PacketConn
	tcpLn        net.Listener
	contact      sip.ContactHeader  // guarded by destMu (a TLS flow changes its port)
	stopping     chan struct{}      // closed by Close: loops wind down
	runCtx       context.Context    // bounds every request; cancelled at the end of Close
	cancel       context.CancelFunc //
	loops        sync.WaitGroup     // publication and subscription loops
	bg           sync.WaitGroup     // serve loops, flow watcher, registration
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
	tp := strings.ToLower(o.Transport)
	if o.Proxy != "" {
		if err := u.setProxy(o.Proxy, &tp); err != nil {
			return nil, err
		}
	} else {
		u.failover = locate.NewFailover(o.FailoverHold)
		u.resolver = o.Resolver
		if u.resolver == nil {
			r, err := locate.NewResolver("")
			if err != nil {
				return nil, fmt.Errorf("ua: no proxy configured and no DNS: %w", err)
			}
			u.resolver = r
		}
	}
	switch tp {
	case "":
		if o.Proxy != "" {
			u.transport = "TCP"
		}
	case "tcp", "udp", "tls":
		u.transport = strings.ToUpper(tp)
	default:
		return nil, fmt.Errorf("ua: unsupported transport %q (tcp, udp or tls)", tp)
	}
	if u.aor.Scheme == "sips" && u.transport != "" && u.transport != "TLS" {
		return nil, fmt.Errorf("ua: a sips: account needs TLS, not %s", u.transport)
	}
	tlsName := u.aor.Host
	if u.proxy.Host != "" && net.ParseIP(u.proxy.Host) == nil {
		tlsName = u.proxy.Host // RFC 5922 §4.1: the name we asked for
	}
	conf, err := tlsconf.Client(tlsName, o.TLS)
	if err != nil {
		return nil, fmt.Errorf("ua: %w", err)
	}
	u.tlsConf = conf

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
	if o.InstanceID == "" {
		o.InstanceID = NewInstanceID()
	} else {
		id, err := parseInstanceID(o.InstanceID)
		if err != nil {
			return nil, err
		}
		o.InstanceID = id
	}
	if o.KeepAliveTimeout <= 0 {
		o.KeepAliveTimeout = DefaultKeepAliveTimeout
	}
	u.ka.heard = make(chan struct{}, 1)
	if o.UnsubscribeLinger <= 0 {
		o.UnsubscribeLinger = DefaultUnsubscribeLinger
	}
	u.opts = o
	u.password = o.Password
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

// InstanceID is this device's instance id (Options.InstanceID, or the one
// New made); its published tuple id is pidf.StableID("t", InstanceID()).
func (u *UA) InstanceID() string { return u.opts.InstanceID }

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
	c := u.contactURI()
	return c.String()
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
	if u.failover != nil {
		if err := u.locate(ctx); err != nil {
			return err
		}
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
	if u.xdiff != nil {
		u.startSubLocked(u.xdiff)
	}
	u.bg.Add(1)
	go func() { defer u.bg.Done(); u.runKeepAlive() }()
	if u.transport != "UDP" {
		u.bg.Add(1)
		go func() { defer u.bg.Done(); u.watchFlow() }()
	}
	return nil
}

// SetPresence publishes p: an initial PUBLISH the first time, then a
// modify. It never blocks; changes made while a PUBLISH is in flight are
// coalesced into the next one.
func (u *UA) SetPresence(p Presence) {
	p.Activities = append([]string(nil), p.Activities...)
	u.pub.set(p)
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
	if u.xdiff != nil {
		subs = append(subs, u.xdiff)
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
