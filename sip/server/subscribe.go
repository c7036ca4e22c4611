package server

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// allowEvents is the Allow-Events value of 489 answers to SUBSCRIBE.
const allowEvents = "presence, presence.winfo, xcap-diff"

// Subscription caps (issue 11 F5). RFC 6665 leaves the answer to policy:
// a user over its own cap gets 403 (retrying cannot help until it ends some
// of its subscriptions), a presentity over its cap 503 with Retry-After (the
// server's capacity, RFC 3261 §21.5.4).
const (
	// MaxSubscriptionsPerWatcher bounds the presence subscriptions one
	// subscriber user holds over all presentities.
	MaxSubscriptionsPerWatcher = 1024
	// MaxWinfoPerPresentity bounds a user's watcher-info subscriptions.
	MaxWinfoPerPresentity = 8
)

// MaxGoneWatchers bounds the recently terminated watchers a presentity keeps
// for its watcher-info documents; goneWatcherTTL is how long they are shown.
const (
	MaxGoneWatchers = 16
	goneWatcherTTL  = time.Minute
)

type eventKind uint8

const (
	kindPresence eventKind = iota
	kindWinfo
	kindXcapDiff // the owner's XCAP documents (RFC 5875), xcapdiff.go
	kindList     // a resource list of presentities (RFC 4662), rls.go
)

type subState uint8

const (
	subPending subState = iota
	subActive
	subTerminated
)

// decision is the outcome of watcher authorization.
type decision uint8

const (
	decPending decision = iota // confirm, or no rule matched
	decAllow
	decPolite // polite-block: active, but with the neutral document
	decBlock
)

// subscription is the notifier side of one SUBSCRIBE dialog. Fields above mu
// never change after creation.
type subscription struct {
	kind eventKind
	pres *presentity // watched presentity (for winfo: the owner)
	// key is the dialog key in Server.dialogs (dialogKey: Call-ID, our
	// To-tag, the subscriber's From-tag), a string of its own: keeping a
	// part of the request would keep the whole SUBSCRIBE alive.
	key     string
	event   string // Event value echoed in NOTIFYs (with its id)
	watcher string // canonical watcher AOR, "sip:bob@example.test"
	// dialogHdrs are the NOTIFY's From, To, Call-ID, Max-Forwards and
	// Event lines, serialised once (the presentity URI as the subscriber
	// wrote it, the subscriber's From URI).
	dialogHdrs string
	// slotFlow is the flow whose slot the NOTIFY in flight holds; guarded
	// by the scheduler's mutex.
	slotFlow string

	mu sync.Mutex
	// reqLine is "NOTIFY <target> SIP/2.0\r\n", the target being the
	// subscriber's Contact (see target).
	reqLine    string
	transport  string         // "UDP" or "TCP"
	dest       string         // host:port NOTIFYs are sent to (part of flowKey)
	udp        netip.AddrPort // dest of a UDP subscriber, parsed once
	flowKey    string         // transport and dest: the scheduler's flow
	cseq       uint32         // last NOTIFY CSeq
	remoteCSeq uint32
	expires    time.Time
	state      subState
	polite     bool
	reason     string // terminated: the reason parameter (and any retry-after)
	withBody   bool   // terminated: the final NOTIFY carries the state
	winfoEvent string // presence: the watcher's event attribute in winfo
	winfoVer   int    // winfo: version of the next document
	queued     bool   // waiting in the NOTIFY queue
	inflight   bool   // a NOTIFY transaction is running
	dirty      bool   // changed while inflight: NOTIFY again afterwards
	// sentDoc is the composed document the last NOTIFY carried: a change
	// notification for the document the watcher already has is skipped
	// (the PUBLISH that made it may be notified after the SUBSCRIBE that
	// already sent it).
	sentDoc *[]byte
	final   bool // the terminating NOTIFY has been built: nothing more
	timer   timerEntry
	tx      notifyTx   // the NOTIFY in flight (see notifytx.go)
	diff    *diffState // xcap-diff: what the subscriber knows
	list    *listState // resource list: its members and versions
}

// setTarget records where NOTIFYs go. The caller holds sub.mu or owns sub.
func (sub *subscription) setTarget(target sip.Uri, transport, dest string) {
	sub.flowKey = transport + " " + dest
	sub.transport, sub.dest = transport, sub.flowKey[len(transport)+1:]
	sub.udp = netip.AddrPort{}
	if transport == "UDP" {
		// An unparsable address leaves sub.udp invalid: the write fails and
		// the subscription ends as for any transport failure.
		if ap, err := netip.ParseAddrPort(dest); err == nil {
			sub.udp = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	sub.reqLine = requestLine(target)
}

// target is the Request-URI of sub's NOTIFYs, as written in reqLine. The
// caller holds sub.mu or owns sub.
func (sub *subscription) target() string {
	return sub.reqLine[len(notifyLinePrefix) : len(sub.reqLine)-len(notifyLineSuffix)]
}

type goneWatcher struct {
	id, uri, event string
	at             time.Time
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

// splitDialogKey returns the parts of a key made by dialogKey, sharing its
// bytes. Call-IDs and tags never hold a NUL (RFC 3261 §25.1: word, token).
func splitDialogKey(key string) (callID, localTag, remoteTag string) {
	callID, rest, _ := strings.Cut(key, "\x00")
	localTag, remoteTag, _ = strings.Cut(rest, "\x00")
	return callID, localTag, remoteTag
}

func (s *Server) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	from, to, callID, cseq := req.From(), req.To(), req.CallID(), req.CSeq()
	if from == nil || to == nil || callID == nil || cseq == nil {
		s.respond(req, tx, 400, "Missing From, To, Call-ID or CSeq", nil)
		return
	}
	fromTag, _ := from.Params.Get("tag")
	if fromTag == "" {
		s.respond(req, tx, 400, "Missing From tag", nil)
		return
	}
	var ev header.Event
	var err error
	if h := req.GetHeader("Event"); h != nil {
		ev, err = header.ParseEvent(h.Value())
	} else {
		err = errors.New("no Event header")
	}
	if err != nil || (ev.Package != header.EventPresence && ev.Package != header.EventPresenceWinfo && ev.Package != xcapdiff.Event) {
		s.respond(req, tx, 489, "Bad Event", []sip.Header{sip.NewHeader("Allow-Events", allowEvents)})
		return
	}
	if ev.Package == xcapdiff.Event && s.opts.NoXcapDiff {
		s.respond(req, tx, 489, "Bad Event", []sip.Header{sip.NewHeader("Allow-Events", "presence, presence.winfo")})
		return
	}
	if toTag, _ := to.Params.Get("tag"); toTag != "" {
		s.subscribeInDialog(req, tx, dialogKey(string(*callID), toTag, fromTag), ev)
		return
	}
	s.subscribeNew(req, tx, ev, fromTag)
}

// transportFor picks how NOTIFYs reach the subscriber: back to the source
// of the SUBSCRIBE on its transport, or over TCP to the Contact when the
// Contact asks for TCP and the SUBSCRIBE came over UDP.
func (s *Server) transportFor(req *sip.Request, contact sip.Uri) (transport, dest string) {
	transport = strings.ToUpper(req.Transport())
	dest = req.Source()
	if transport == "UDP" {
		if tp, ok := contact.UriParams.Get("transport"); ok && strings.EqualFold(tp, "tcp") && s.hasTCP() {
			return "TCP", hostPort(contact, 5060)
		}
	}
	return transport, dest
}

func (s *Server) hasTCP() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcpAddr != ""
}

func hostPort(u sip.Uri, defPort int) string {
	port := u.Port
	if port == 0 {
		port = defPort
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

func (s *Server) subscribeNew(req *sip.Request, tx sip.ServerTransaction, ev header.Event, fromTag string) {
	contact := req.Contact()
	if contact == nil || contact.Address.Wildcard || contact.Address.Host == "" {
		s.respond(req, tx, 400, "Missing Contact", nil)
		return
	}
	presUser, ok := s.localUser(req.Recipient)
	if !ok {
		presUser, ok = s.localUser(req.To().Address)
	}
	if !ok {
		s.respond(req, tx, 404, "Not Found", nil)
		return
	}
	watcherUser, ok := s.localUser(req.From().Address)
	if !ok {
		s.respond(req, tx, 403, "Watcher is not of this domain", nil)
		return
	}
	if !s.checkAuth(req, tx, watcherUser, true) {
		return
	}
	var list *listState
	if ev.Package == header.EventPresence && wantsEventlist(req) && !s.opts.NoListServer {
		// Only the owner's own services: whose list it is decides who
		// may read it.
		list = s.resolveList(watcherUser, s.aor(presUser))
	}
	if list == nil && !s.userExists(presUser) {
		s.respond(req, tx, 404, "Not Found", nil)
		return
	}
	kind := kindPresence
	if list != nil {
		kind, presUser = kindList, watcherUser
	}
	switch ev.Package {
	case header.EventPresenceWinfo:
		kind = kindWinfo
		if presUser != watcherUser {
			s.respond(req, tx, 403, "Watcher info is only for its owner", nil)
			return
		}
	case xcapdiff.Event:
		kind = kindXcapDiff
		if presUser != watcherUser {
			s.respond(req, tx, 403, "XCAP changes are only for the documents' owner", nil)
			return
		}
	}
	exp, ok := s.requestedExpiry(req, tx, s.opts.DefaultExpires, "")
	if !ok {
		return
	}

	p := s.presentityFor(presUser)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	localTag, _ := res.To().Params.Get("tag") // a random UUID from sipgo
	transport, dest := s.transportFor(req, contact.Address)
	sub := &subscription{
		kind:       kind,
		pres:       p,
		event:      ev.String(),
		watcher:    s.aor(watcherUser),
		transport:  transport,
		dest:       dest,
		remoteCSeq: req.CSeq().SeqNo,
		winfoEvent: "subscribe",
	}
	sub.key = dialogKey(string(*req.CallID()), localTag, fromTag)
	callID, _, _ := splitDialogKey(sub.key)
	sub.dialogHdrs = dialogLines(req.To().Address, req.From().Address, localTag, fromTag, callID, sub.event)
	if list != nil {
		sub.list = list
		list.boundary = "rlmi-" + strings.ReplaceAll(localTag, "-", "")
		sub.dialogHdrs += "Require: eventlist\r\n"
		res.AppendHeader(sip.NewHeader("Require", "eventlist"))
	}
	sub.setTarget(contact.Address, transport, dest)
	if len(sub.dialogHdrs)+len(sub.reqLine) > maxDialogHeaders {
		// Our NOTIFYs repeat these lines: they must leave room for the
		// largest document within ClientMaxMessage.
		s.respond(req, tx, 400, "From, To, Contact or Call-ID too long", nil)
		return
	}

	dec := decAllow
	if kind == kindPresence && watcherUser != presUser {
		dec = s.policyFor(presUser)(sub.watcher)
	}
	if dec == decBlock {
		if wait, soon := s.blockedTooSoon(p.aor, sub.watcher); soon {
			s.respond(req, tx, 503, "Blocked; ask again later", []sip.Header{sip.NewHeader("Retry-After", strconv.Itoa(max(1, seconds(wait))))})
			return
		}
		s.noteBlocked(p.aor, sub.watcher)
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(seconds(exp))))
	res.AppendHeader(&sip.ContactHeader{Address: s.contactURI(req.Transport())})

	if exp == 0 || dec == decBlock {
		// A fetch (RFC 6665 §4.4.3) or a blocked watcher: one terminated
		// NOTIFY and no subscription state.
		sub.state = subTerminated
		sub.reason = header.ReasonTimeout
		sub.withBody = dec == decAllow || dec == decPolite
		sub.polite = dec == decPolite
		if dec == decBlock {
			sub.reason = s.blockedReason()
			sub.withBody = false
		}
		s.send(tx, res)
		if kind == kindXcapDiff {
			s.xcapDiffSnapshot(sub)
		}
		if dec == decBlock && kind == kindPresence {
			s.rememberGone(p, sub, header.ReasonRejected)
			s.winfoChanged(p)
		}
		s.push(sub)
		return
	}

	switch dec {
	case decAllow:
		sub.state = subActive
	case decPolite:
		sub.state, sub.polite = subActive, true
	default:
		sub.state = subPending
	}
	sub.expires = time.Now().Add(exp)

	if kind == kindPresence && !s.countWatcher(sub.watcher, 1) {
		s.respond(req, tx, 403, "Too many subscriptions of this user", nil)
		return
	}
	p.mu.Lock()
	full := ""
	switch {
	case kind == kindPresence && len(p.watchers) >= MaxWatchersPerPresentity:
		full = "Too many watchers"
	case kind == kindWinfo && len(p.winfo) >= MaxWinfoPerPresentity:
		full = "Too many watcher-info subscriptions"
	case kind == kindXcapDiff && len(p.xcapDiff) >= MaxXcapDiffPerUser:
		full = "Too many xcap-diff subscriptions"
	case kind == kindList && len(p.ownLists) >= MaxListsPerUser:
		full = "Too many resource list subscriptions"
	}
	if full != "" {
		p.mu.Unlock()
		if kind == kindPresence {
			s.countWatcher(sub.watcher, -1)
			s.respond(req, tx, 503, full, []sip.Header{sip.NewHeader("Retry-After", "300")})
		} else {
			s.respond(req, tx, 403, full, nil)
		}
		return
	}
	if kind == kindPresence {
		p.watchers[sub] = struct{}{}
		p.forgetGoneLocked(sub.watcher)
	} else if kind == kindWinfo {
		p.winfo[sub] = struct{}{}
	} else if kind == kindList {
		p.ownLists[sub] = struct{}{}
	} else {
		p.xcapDiff[sub] = struct{}{}
	}
	p.mu.Unlock()
	if kind == kindList {
		s.attachList(sub, list.members)
	}
	s.dialogs.put(sub.key, sub)
	s.timers.schedule(&sub.timer, sub.expires, func() { s.expireSubscription(sub) })

	if kind == kindXcapDiff {
		// After registering: a change from now on is either in this
		// listing or reported after it (xcapDiffChanged skips until ready).
		s.xcapDiffSnapshot(sub)
	}
	s.send(tx, res)
	s.log.Debug("SUBSCRIBE", "presentity", p.aor, "watcher", sub.watcher, "event", sub.event,
		"state", stateName(sub.state), "expires", seconds(exp), "transport", transport, "dest", dest)
	s.push(sub)
	if kind == kindPresence {
		s.winfoChanged(p)
	}
}

func (s *Server) subscribeInDialog(req *sip.Request, tx sip.ServerTransaction, key string, ev header.Event) {
	sub, ok := s.dialogs.get(key)
	if !ok || sub.event != ev.String() {
		s.respond(req, tx, 481, "Subscription Does Not Exist", nil)
		return
	}
	exp, ok := s.requestedExpiry(req, tx, s.opts.DefaultExpires, "")
	if !ok {
		return
	}
	sub.mu.Lock()
	if sub.state == subTerminated {
		sub.mu.Unlock()
		s.respond(req, tx, 481, "Subscription Does Not Exist", nil)
		return
	}
	if seq := req.CSeq().SeqNo; seq <= sub.remoteCSeq {
		sub.mu.Unlock()
		s.respond(req, tx, 500, "Out of order request", []sip.Header{sip.NewHeader("Retry-After", "1")})
		return
	} else {
		sub.remoteCSeq = seq
	}
	// Target refresh (RFC 6665 §4.1.2.1), and follow the subscriber to a
	// new connection or address.
	if c := req.Contact(); c != nil && !c.Address.Wildcard && c.Address.Host != "" {
		target := *c.Address.Clone()
		transport, dest := s.transportFor(req, target)
		sub.setTarget(target, transport, dest)
	}
	if exp > 0 {
		sub.expires = time.Now().Add(exp)
		s.timers.schedule(&sub.timer, sub.expires, func() { s.expireSubscription(sub) })
	}
	sub.mu.Unlock()

	// Naming the dialog's random To-tag is as good as a password here
	// (see the package doc): the connection counts as authenticated.
	s.authenticatedFrom(req.Source())
	s.respond(req, tx, 200, "OK", []sip.Header{
		sip.NewHeader("Expires", strconv.Itoa(seconds(exp))),
		&sip.ContactHeader{Address: s.contactURI(req.Transport())},
	})
	if exp == 0 {
		// Unsubscribe: Kamailio also says "timeout" here.
		s.terminate(sub, header.ReasonTimeout)
		return
	}
	s.push(sub)
}

func (s *Server) expireSubscription(sub *subscription) {
	sub.mu.Lock()
	due := sub.state != subTerminated && !time.Now().Before(sub.expires)
	sub.mu.Unlock()
	if due {
		s.terminate(sub, header.ReasonTimeout)
	}
}

// terminate ends a subscription with a final NOTIFY carrying reason.
func (s *Server) terminate(sub *subscription, reason string) {
	s.end(sub, reason, reason, reason != header.ReasonRejected)
}

// blockedReason is the Subscription-State reason and retry-after a blocked
// watcher's subscription ends with: probation (RFC 6665 §4.2.2: the
// subscriber should subscribe again later, not before retry-after), so
// that once unblocked the watcher's client comes back by itself within
// BlockedRetryAfter. "rejected" would tell it never to ask again, and an
// unblock could not reach it; a watcher still blocked when it asks again
// gets this answer again.
func (s *Server) blockedReason() string {
	return header.ReasonProbation + ";retry-after=" + strconv.Itoa(seconds(s.opts.BlockedRetryAfter))
}

// block ends a blocked watcher's subscription (blockedReason) without
// showing it my state; the owner's watcher info says rejected.
func (s *Server) block(sub *subscription) {
	s.noteBlocked(sub.pres.aor, sub.watcher)
	s.end(sub, s.blockedReason(), header.ReasonRejected, false)
}

// end terminates sub: the final NOTIFY says "terminated;reason=" + wire
// (with the state when the subscription was active and body is true);
// winfoEvent is the event watcher info reports.
func (s *Server) end(sub *subscription, wire, winfoEvent string, body bool) {
	sub.mu.Lock()
	if sub.state == subTerminated {
		sub.mu.Unlock()
		return
	}
	sub.withBody = sub.state == subActive && body
	sub.state = subTerminated
	sub.reason = wire
	sub.mu.Unlock()
	s.detach(sub, winfoEvent)
	s.push(sub)
}

// drop removes a subscription whose subscriber is gone (481, timeout or
// transport failure on a NOTIFY) without notifying it again.
func (s *Server) drop(sub *subscription, why string) {
	sub.mu.Lock()
	already := sub.state == subTerminated
	sub.state = subTerminated
	sub.final = true
	sub.mu.Unlock()
	if !already {
		s.log.Info("subscription removed", "presentity", sub.pres.aor, "watcher", sub.watcher, "event", sub.event, "why", why)
		s.detach(sub, header.ReasonTimeout)
	}
}

// detach removes a terminated subscription from every index.
func (s *Server) detach(sub *subscription, reason string) {
	s.dialogs.deleteIf(sub.key, func(v *subscription) bool { return v == sub })
	s.timers.cancel(&sub.timer)
	p := sub.pres
	if sub.kind != kindPresence {
		p.mu.Lock()
		delete(p.winfo, sub)
		delete(p.xcapDiff, sub)
		delete(p.ownLists, sub)
		p.mu.Unlock()
		if sub.kind == kindList {
			sub.mu.Lock()
			members := sub.list.members
			sub.mu.Unlock()
			s.detachList(sub, members)
		}
		return
	}
	p.mu.Lock()
	_, listed := p.watchers[sub]
	delete(p.watchers, sub)
	p.mu.Unlock()
	if listed {
		s.countWatcher(sub.watcher, -1)
	}
	s.rememberGone(p, sub, reason)
	s.winfoChanged(p)
}

// countWatcher adds delta to the presence subscriptions of watcher; an
// increase beyond MaxSubscriptionsPerWatcher is refused (false).
func (s *Server) countWatcher(watcher string, delta int) bool {
	s.watcherMu.Lock()
	defer s.watcherMu.Unlock()
	n := s.watcherSubs[watcher] + delta
	if delta > 0 && n > MaxSubscriptionsPerWatcher {
		return false
	}
	if n <= 0 {
		delete(s.watcherSubs, watcher)
	} else {
		s.watcherSubs[watcher] = n
	}
	return true
}

func (s *Server) rememberGone(p *presentity, sub *subscription, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetGoneLocked(sub.watcher)
	if len(p.gone) >= MaxGoneWatchers {
		p.gone = p.gone[1:]
	}
	p.gone = append(p.gone, goneWatcher{id: watcherID(sub), uri: sub.watcher, event: reason, at: time.Now()})
}

func (p *presentity) forgetGoneLocked(watcher string) {
	now := time.Now()
	keep := p.gone[:0]
	for _, g := range p.gone {
		if g.uri != watcher && now.Sub(g.at) < goneWatcherTTL {
			keep = append(keep, g)
		}
	}
	clear(p.gone[len(keep):])
	p.gone = keep
}

// watcherID is the watcher's id in winfo documents: stable per dialog and
// not revealing our dialog tags.
func watcherID(sub *subscription) string {
	callID, _, remoteTag := splitDialogKey(sub.key)
	return callID + "." + remoteTag
}

func stateName(st subState) string {
	switch st {
	case subActive:
		return header.StateActive
	case subPending:
		return header.StatePending
	}
	return header.StateTerminated
}
