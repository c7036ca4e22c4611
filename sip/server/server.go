// Package server is sipbuddy's embedded SIP registrar and presence agent:
// REGISTER with digest authentication, PUBLISH (RFC 3903) of PIDF documents,
// SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856) for "presence" and "presence.winfo"
// (RFC 3857/3858), with watcher authorization from the presentity's
// pres-rules document (RFC 5025) in the XCAP store.
//
// All state lives in memory. After a restart clients recover through their
// own refreshes: unknown SIP-If-Match values get 412 and in-dialog requests
// of unknown dialogs get 481, at once.
//
// Authentication follows Kamailio: REGISTER is challenged with 401 and
// WWW-Authenticate, PUBLISH and out-of-dialog SUBSCRIBE with 407 and
// Proxy-Authenticate (the answer is read from Proxy-Authorization or
// Authorization). In-dialog SUBSCRIBEs (refresh, unsubscribe) are not
// challenged: they can only name a dialog by our random 128-bit To-tag, which
// only the authenticated subscriber has seen. The authenticated user must be
// the To user for REGISTER and PUBLISH and the From user for SUBSCRIBE,
// otherwise 403.
//
// Transport: NOTIFYs go to the address the SUBSCRIBE came from, on the same
// transport (a TCP subscriber's NOTIFYs use its connection), with the
// subscriber's Contact as Request-URI; a Contact with ";transport=tcp" gets
// them over TCP. sipgo refuses UDP messages over 1300 bytes (MaxUDPMessage);
// such a NOTIFY is sent over TCP to the Contact instead (RFC 3261 §18.1.1
// makes TCP mandatory for UAs), and if that fails the subscription ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/digest"
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Policy decides watchers of a presentity that has no pres-rules document.
type Policy int

const (
	// AllowDomain (the default) allows watchers of the server's domain at
	// once and leaves others pending.
	AllowDomain Policy = iota
	// Confirm leaves every watcher pending until the presentity allows it.
	Confirm
)

// Defaults and limits.
const (
	// DefaultMinExpires is the smallest expiry granted (423 below it).
	DefaultMinExpires = 60 * time.Second
	// DefaultBlockedRetryAfter is how long a blocked watcher is asked to
	// wait before it subscribes again (Options.BlockedRetryAfter), and so
	// the longest an unblocked watcher waits to see me again.
	DefaultBlockedRetryAfter = 60 * time.Second
	// MinBlockedRetryAfter bounds how often a blocked watcher is invited
	// to ask again.
	MinBlockedRetryAfter = time.Second
	// DefaultMaxExpires caps every expiry.
	DefaultMaxExpires = 3600 * time.Second
	// DefaultDefaultExpires is used when a request carries no Expires.
	DefaultDefaultExpires = 600 * time.Second
	// MaxUDPMessage is the largest message sipgo sends over UDP
	// (sip.UDPMTUSize-200); larger NOTIFYs go over TCP.
	MaxUDPMessage = 1300
	// MaxSIPMessage is the largest SIP message read (sipgo's default is
	// 65535, less than a maximal PIDF body): room for a body of
	// MaxDocumentSize plus headers, so a slightly larger body still arrives
	// and gets its 413 instead of being dropped by the parser.
	MaxSIPMessage = maxDocumentSize + 16<<10
	// udpReadBuffer is the receive buffer asked for the UDP socket.
	udpReadBuffer = 4 << 20
	// MaxContactsPerAOR bounds the bindings of one address-of-record.
	MaxContactsPerAOR = 32
	// MaxPublicationsPerPresentity bounds live publications per presentity.
	MaxPublicationsPerPresentity = 32
	// MaxWatchersPerPresentity bounds subscriptions to one presentity (503
	// beyond it).
	MaxWatchersPerPresentity = 100000
)

// Options configure a Server.
type Options struct {
	// Domain is the SIP domain served and the digest realm, "example.test".
	Domain string
	// Store holds users (digest passwords) and pres-rules documents.
	Store store.Store
	// Policy decides watchers of presentities without pres-rules, and
	// watchers no rule of the presentity's pres-rules matches.
	Policy Policy
	// BlockedRetryAfter is the retry-after of the terminated NOTIFY a
	// blocked watcher gets (reason=probation): how soon its client asks
	// again, so that an unblocked watcher comes back by itself. Default
	// DefaultBlockedRetryAfter; at least MinBlockedRetryAfter.
	BlockedRetryAfter time.Duration
	// MinExpires, MaxExpires and DefaultExpires bound the expiries of
	// registrations, publications and subscriptions.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// FlowTimer is the keep-alive interval asked of RFC 5626 outbound
	// clients (Flow-Timer in the 2xx to a REGISTER with reg-id); default
	// DefaultFlowTimer.
	FlowTimer time.Duration
	// Logger receives everything the server and sipgo log. Default: discard.
	Logger *slog.Logger
	// NoListServer turns the resource list server (rls.go) off: a
	// SUBSCRIBE with Supported: eventlist is answered as any other, so a
	// list service URI that is no user gets 404 (a server without RLS).
	NoListServer bool
	// NoXcapDiff turns the xcap-diff notifier (xcapdiff.go) off: its
	// SUBSCRIBEs get 489 Bad Event (a server that never notifies).
	NoXcapDiff bool
}

// Server is the registrar and presence agent. Create it with New, run it
// with Serve, stop it with Close.
type Server struct {
	opts     Options
	log      *slog.Logger
	ua       *sipgo.UserAgent
	sip      *sipgo.Server
	cli      *sipgo.Client
	verifier *digest.Verifier
	timers   *timerHeap
	sched    *scheduler

	// NOTIFY transactions in flight by branch, the prepared Via and
	// Contact lines, and the TCP writers (notifytx.go).
	pending pendingTable
	wire    atomic.Pointer[wireParts]
	// branchMark is "z9hG4bK" and a random prefix: NOTIFY number n has the
	// branch branchMark + n in base 36 (n from branchNext, never 0).
	branchMark []byte
	branchNext atomic.Uint64
	writersMu  sync.Mutex
	writers    map[string]*streamWriter
	udpConn    net.PacketConn // set by Serve before anything is sent
	udpq       udpQueue       // UDP NOTIFYs waiting for one sendmmsg (udpbatch.go)
	parser     *sip.Parser
	// t1 and t2 are RFC 3261's T1 and T2 for NOTIFY transactions, sipgo's
	// values when New ran.
	t1, t2 time.Duration
	// preAuthTimeout is PreAuthTimeout (tests shorten it).
	preAuthTimeout time.Duration

	regs       shardMap[*aorBindings]
	presentity shardMap[*presentity]
	dialogs    shardMap[*subscription]
	conns      shardMap[*guardConn] // accepted stream connections by remote address
	answered   answeredCache        // 2xx answers to UDP requests, for Timer J

	// xcapRoot is the XCAP root URL of xcap-diff documents (SetXCAPRoot).
	xcapRoot atomic.Pointer[string]

	blocked     blockedCache // when blocked watchers were last told (blocked.go)
	watcherMu   sync.Mutex
	watcherSubs map[string]int // presence subscriptions by subscriber AOR

	etagPrefix string
	etagSeq    atomic.Uint64

	mu      sync.Mutex
	udpAddr string // host:port of the UDP listener ("" when none)
	tcpAddr string // host:port of the TCP listener
	tlsAddr string // host:port of the TLS listener ("" when none)
	served  bool

	// checkAuth is authenticate; the fuzz test replaces it to reach the
	// code behind the digest check.
	checkAuth func(req *sip.Request, tx sip.ServerTransaction, want string, proxy bool) bool

	closeOnce sync.Once
	closed    chan struct{}
	workers   sync.WaitGroup
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("server: closed")

// New checks the options and returns a Server that is not serving yet.
func New(o Options) (*Server, error) {
	if o.Domain == "" {
		return nil, errors.New("server: Options.Domain is required")
	}
	if o.Store == nil {
		return nil, errors.New("server: Options.Store is required")
	}
	if o.MinExpires <= 0 {
		o.MinExpires = DefaultMinExpires
	}
	if o.MaxExpires <= 0 {
		o.MaxExpires = DefaultMaxExpires
	}
	if o.MaxExpires < o.MinExpires {
		return nil, fmt.Errorf("server: MaxExpires %v is below MinExpires %v", o.MaxExpires, o.MinExpires)
	}
	if o.DefaultExpires <= 0 {
		o.DefaultExpires = DefaultDefaultExpires
	}
	o.DefaultExpires = min(max(o.DefaultExpires, o.MinExpires), o.MaxExpires)
	if o.BlockedRetryAfter <= 0 {
		o.BlockedRetryAfter = DefaultBlockedRetryAfter
	}
	o.BlockedRetryAfter = max(o.BlockedRetryAfter, MinBlockedRetryAfter)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger
	sipLog := slog.New(shortLogHandler{log.Handler()}).With("component", "sipgo")

	s := &Server{}
	parser := sip.NewParser()
	parser.MaxMessageLength = MaxSIPMessage
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("sipbuddy"),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentHostname(o.Domain),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(func(p sip.TransportReadProps, data []byte) ([]byte, error) {
				return s.filterNotifyAnswer(parser, p, data), nil
			})),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) { s.onNotifyResponse(r) }),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("server: sipgo user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("server: sipgo server: %w", err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("server: sipgo client: %w", err)
	}
	*s = Server{
		opts:           o,
		answered:       answeredCache{seed: maphash.MakeSeed()},
		log:            log,
		ua:             ua,
		sip:            srv,
		cli:            cli,
		timers:         newTimerHeap(),
		sched:          newScheduler(),
		etagPrefix:     strconv.FormatInt(time.Now().UnixNano(), 36) + "." + sip.GenerateTagN(6) + ".",
		branchMark:     []byte(sip.RFC3261BranchMagicCookie + sip.GenerateTagN(8) + "."),
		t1:             sip.T1,
		t2:             sip.T2,
		preAuthTimeout: PreAuthTimeout,
		writers:        make(map[string]*streamWriter),
		watcherSubs:    make(map[string]int),
		closed:         make(chan struct{}),
		parser:         parser,
	}
	s.checkAuth = s.authenticate
	s.verifier = digest.NewVerifier(digest.Options{Realm: o.Domain, HA1: o.Store.HA1})
	s.regs.init()
	s.presentity.init()
	s.dialogs.init()
	s.pending.init()
	s.conns.init()

	// Every handler is registered before anything serves: sipgo's handler
	// map is not synchronized.
	srv.OnRegister(s.handle(s.onRegister))
	srv.OnPublish(s.handle(s.onPublish))
	srv.OnSubscribe(s.handle(s.onSubscribe))
	srv.OnOptions(s.handle(s.onOptions))
	srv.OnNoRoute(s.handle(s.onNoRoute))

	return s, nil
}

// handle wraps a handler so a panic in one request answers 500 and is
// logged instead of taking the process down.
func (s *Server) handle(h func(req *sip.Request, tx sip.ServerTransaction)) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in SIP handler", "method", req.Method, "panic", r)
				s.respond(req, tx, 500, "Server Internal Error", nil)
			}
		}()
		if s.isClosed() {
			s.respond(req, tx, 503, "Service Unavailable", nil)
			return
		}
		if s.answerAgain(req, tx) {
			return
		}
		h(req, tx)
	}
}

func (s *Server) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Serve answers SIP on the given sockets (either may be nil, not both)
// until ctx ends or Close is called; it closes them before returning.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("server: Serve needs a UDP socket, a TCP listener or both")
	}
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	}
	if s.isClosed() {
		s.mu.Unlock()
		return ErrClosed
	}
	s.served = true
	if udp != nil {
		s.udpAddr = udp.LocalAddr().String()
	}
	if tcp != nil {
		s.tcpAddr = tcp.Addr().String()
	}
	s.udpConn = udp
	var sipUDP net.PacketConn = udp
	if bc, ok := newBatchConn(s, udp, s.parser); ok {
		sipUDP, s.udpq.pc = bc, bc.pc
		defer bc.free() // after sipgo's reader has returned (below)
	}
	s.mu.Unlock()
	s.setWireParts()

	if tcp != nil {
		tcp = s.guard(tcp)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		// The answers to a fan-out's NOTIFYs arrive together: the default
		// buffer (208 KiB) dropped thousands of them, each then costing a
		// T1 retransmission. The kernel caps the size at rmem_max.
		_ = uc.SetReadBuffer(udpReadBuffer)
	}
	errc := make(chan error, 2)
	n := 0
	if udp != nil {
		n++
		go func() { errc <- s.sip.ServeUDP(sipUDP) }()
	}
	if tcp != nil {
		n++
		go func() { errc <- s.sip.ServeTCP(tcp) }()
	}
	s.log.Info("SIP server listening", "udp", s.udpAddr, "tcp", s.tcpAddr, "domain", s.opts.Domain)

	var err error
	select {
	case <-ctx.Done():
	case <-s.closed:
	case err = <-errc:
		n--
	}
	if udp != nil {
		udp.Close()
	}
	if tcp != nil {
		tcp.Close()
	}
	for ; n > 0; n-- {
		<-errc
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("server: serve: %w", err)
	}
	return nil
}

// Close stops the NOTIFY workers and timers and closes sipgo's transports.
// Subscribers are not notified: they recover through their refreshes (481).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.sched.close()
		s.timers.close()
		s.ua.Close() // fails the writes of stream writers still running
		s.workers.Wait()
	})
	return nil
}

// listenAddr is the host:port of our listener for a transport, for Contact
// headers.
func (s *Server) listenAddr(transport string) (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(transport, "TLS") && s.tlsAddr != "" {
		return s.tlsAddr, "tls"
	}
	if (strings.EqualFold(transport, "TCP") || strings.EqualFold(transport, "TLS")) && s.tcpAddr != "" {
		return s.tcpAddr, "tcp"
	}
	if s.udpAddr != "" {
		return s.udpAddr, "udp"
	}
	return s.tcpAddr, "tcp"
}

// contactURI is our Contact for responses and NOTIFYs on a transport.
func (s *Server) contactURI(transport string) sip.Uri {
	addr, tp := s.listenAddr(transport)
	host, port, _ := sip.ParseAddr(addr)
	u := sip.Uri{Scheme: "sip", Host: host, Port: port}
	if tp == "tcp" || tp == "tls" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", tp)
	}
	return u
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs []sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.send(tx, res)
}

func (s *Server) send(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Warn("sending response failed", "response", res.StartLine(), "error", err)
		return
	}
	s.answeredUDP(tx, res)
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 200, "OK", []sip.Header{
		sip.NewHeader("Allow", "REGISTER, PUBLISH, SUBSCRIBE, OPTIONS"),
		sip.NewHeader("Allow-Events", allowEvents),
		sip.NewHeader("Accept", "application/pidf+xml"),
	})
}

func (s *Server) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	s.respond(req, tx, 405, "Method Not Allowed", []sip.Header{
		sip.NewHeader("Allow", "REGISTER, PUBLISH, SUBSCRIBE, OPTIONS"),
	})
}

// authenticate checks the request's digest answer and that the
// authenticated user is want. On failure it has answered the request (401 or
// 407 challenge, or 403) and returns false. proxy selects 407.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, want string, proxy bool) bool {
	var value string
	if h := req.GetHeader("Proxy-Authorization"); h != nil {
		value = h.Value()
	} else if h := req.GetHeader("Authorization"); h != nil {
		value = h.Value()
	}
	user, err := s.verifier.Verify(string(req.Method), value)
	if err != nil {
		if !errors.Is(err, digest.ErrNoCredentials) {
			s.log.Info("digest authentication failed", "method", req.Method, "from", req.Source(), "error", err)
		}
		stale := errors.Is(err, digest.ErrStale) || errors.Is(err, digest.ErrReplay) || errors.Is(err, digest.ErrUnknownNonce)
		chal := s.verifier.Challenge(stale)
		if proxy {
			s.respond(req, tx, 407, "Proxy Authentication Required", []sip.Header{sip.NewHeader("Proxy-Authenticate", chal)})
		} else {
			s.respond(req, tx, 401, "Unauthorized", []sip.Header{sip.NewHeader("WWW-Authenticate", chal)})
		}
		return false
	}
	if key, err := sipuri.AORUser(user); err != nil || key != want {
		s.log.Info("authenticated user does not match", "method", req.Method, "auth_user", user, "want", want)
		s.respond(req, tx, 403, "Auth user does not match", nil)
		return false
	}
	s.authenticatedFrom(req.Source())
	return true
}

// localUser returns the user of a URI of our domain as the AOR keys it
// (sipuri: "Ada" and "%61da" are "ada"), the one name registrations,
// presentities and watchers are kept under. A URI whose host is an IP
// address (a client that addressed the server directly) counts as ours too.
func (s *Server) localUser(u sip.Uri) (string, bool) {
	if u.User == "" {
		return "", false
	}
	if !strings.EqualFold(u.Host, s.opts.Domain) && net.ParseIP(strings.Trim(u.Host, "[]")) == nil {
		return "", false
	}
	user, err := sipuri.AORUser(u.User)
	return user, err == nil
}

// aor is the canonical address-of-record of a local user (a localUser
// name): "sip:ada@example.test".
func (s *Server) aor(user string) string { return "sip:" + user + "@" + strings.ToLower(s.opts.Domain) }

// userExists looks a user up in the store by the name as given, then as
// the AOR keys it ("Ada" finds the store's "ada"). User names in the store
// are meant to be lower-case: the server compares users
// case-insensitively (the store's HA1 does the same for credentials).
func (s *Server) userExists(user string) bool {
	if _, ok := s.opts.Store.HA1(user, s.opts.Domain, digest.MD5); ok {
		return true
	}
	if key, err := sipuri.AORUser(user); err == nil && key != user {
		_, ok := s.opts.Store.HA1(key, s.opts.Domain, digest.MD5)
		return ok
	}
	return false
}

// requestedExpiry reads Expires (or def), returns it capped by MaxExpires.
// ok is false after a 400/423 answer was sent.
func (s *Server) requestedExpiry(req *sip.Request, tx sip.ServerTransaction, def time.Duration, param string) (time.Duration, bool) {
	d := def
	if param != "" {
		n, err := strconv.ParseUint(param, 10, 32)
		if err != nil {
			s.respond(req, tx, 400, "Bad Expires", nil)
			return 0, false
		}
		d = time.Duration(n) * time.Second
	} else if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			s.respond(req, tx, 400, "Bad Expires", nil)
			return 0, false
		}
		d = time.Duration(n) * time.Second
	}
	if d == 0 {
		return 0, true
	}
	if d < s.opts.MinExpires {
		s.respond(req, tx, 423, "Interval Too Brief", []sip.Header{
			sip.NewHeader("Min-Expires", strconv.Itoa(int(s.opts.MinExpires/time.Second))),
		})
		return 0, false
	}
	return min(d, s.opts.MaxExpires), true
}

// seconds rounds up, so a live expiry is never announced as 0.
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func parseIP(host string) net.IP { return net.ParseIP(strings.Trim(host, "[]")) }
