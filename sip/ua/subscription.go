package ua

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/backoff"
	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
)

// dialogKey finds the subscription a NOTIFY belongs to. The remote tag is
// left out on purpose: a NOTIFY may arrive before the 200 that would tell
// us the notifier's tag (each sipgo message is handled on its own
// goroutine), and our Call-ID plus our tag already name exactly one
// SUBSCRIBE.
type dialogKey struct{ callID, localTag string }

// dialog is the state of one subscription dialog (RFC 6665 §4.1.2,
// RFC 3261 §12), guarded by the owning subscription's mutex.
type dialog struct {
	callID, localTag, remoteTag string
	remoteTarget                *sip.Uri
	routeSet                    []sip.Uri
	localCSeq                   uint32
	remoteCSeq                  uint32
	haveRemoteCSeq              bool

	confirmed     bool      // created, by a 2xx or by a NOTIFY
	gotNotify     bool      // a NOTIFY arrived (Timer N is satisfied)
	timerN        time.Time // zero when not running
	refreshAt     time.Time
	unsubscribing bool          // we sent Expires: 0
	terminated    bool          // the notifier ended it
	ended         chan struct{} // closed when terminated
}

func (d *dialog) key() dialogKey { return dialogKey{d.callID, d.localTag} }

// subscription watches one resource (a buddy's presence, or our own
// watcher list) across as many dialogs as it takes: one goroutine sends the
// SUBSCRIBEs (initial, refresh, unsubscribe) one at a time, NOTIFY handlers
// update the state under mu and wake it.
type subscription struct {
	u      *UA
	uri    string
	target sip.Uri
	pkg    string
	accept string
	wake   chan struct{}
	// stopped is set once the subscription is over for good (refused,
	// unsubscribed); a Subscribe to the same URI then starts a new one.
	stopped atomic.Bool

	mu      sync.Mutex
	wanted  bool
	d       *dialog
	kicked  bool
	retryAt time.Time
	expires time.Duration // requested; a 423 raises it
	bo      backoff.Backoff

	reported   bool
	lastState  SubscriptionState
	lastReason string

	watchers *winfo.Info // merged watcher list (presence.winfo)
	list     *listState  // a resource list subscription (rls.go); nil otherwise

	// body and bodyType are the SUBSCRIBE body (xcap-diff: the documents
	// watched); nil for none.
	body     []byte
	bodyType string
}

func newSubscription(u *UA, uri string, target sip.Uri, pkg string) *subscription {
	s := &subscription{
		u: u, uri: uri, pkg: pkg,
		target:  sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port},
		wake:    make(chan struct{}, 1),
		wanted:  true,
		expires: u.opts.SubscribeExpires,
		bo:      backoff.Backoff{Min: u.opts.RetryMin, Max: u.opts.RetryMax},
	}
	s.accept = "application/pidf+xml"
	if pkg == header.EventPresenceWinfo {
		s.accept = "application/watcherinfo+xml"
	}
	return s
}

func (s *subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// kick refreshes now, or re-subscribes now if waiting out a back-off.
func (s *subscription) kick() {
	s.mu.Lock()
	s.kicked = true
	s.mu.Unlock()
	s.poke()
}

func (s *subscription) unsubscribe() {
	s.mu.Lock()
	s.wanted = false
	s.mu.Unlock()
	s.poke()
}

type subAction int

const (
	actWait subAction = iota
	actSubscribe
	actRefresh
	actTimerN
	actEnd
)

func (s *subscription) run() {
	u := s.u
	for {
		if s.stopped.Load() {
			return
		}
		select {
		case <-u.stopping:
			s.unsubscribe()
		default:
		}
		s.mu.Lock()
		now := time.Now()
		act, wait := actWait, time.Duration(-1)
		d := s.d
		switch {
		case !s.wanted:
			act = actEnd
		case d == nil:
			if s.kicked || !now.Before(s.retryAt) {
				act = actSubscribe
			} else {
				wait = s.retryAt.Sub(now)
			}
		case !d.timerN.IsZero() && !now.Before(d.timerN):
			act = actTimerN
		case s.kicked || !now.Before(d.refreshAt):
			act = actRefresh
		default:
			wait = d.refreshAt.Sub(now)
			if !d.timerN.IsZero() {
				wait = min(wait, d.timerN.Sub(now))
			}
		}
		s.kicked = false
		s.mu.Unlock()

		switch act {
		case actEnd:
			s.end()
			return
		case actSubscribe:
			s.subscribe()
			continue
		case actRefresh:
			s.refresh()
			continue
		case actTimerN:
			s.timerNExpired()
			continue
		}
		sleep(wait, s.wake, u.stopping)
	}
}

// subscribe starts a new dialog with an out-of-dialog SUBSCRIBE.
func (s *subscription) subscribe() {
	u := s.u
	d := &dialog{callID: newCallID(), localTag: newTag(), ended: make(chan struct{})}
	s.mu.Lock()
	s.d = d
	s.watchers = nil // watcherinfo versions restart with the dialog
	if s.list != nil {
		s.list.haveFull, s.list.version, s.list.askedFull = false, 0, false // RLMI versions too
	}
	expires := s.expires
	s.reportLocked(Pending, "subscribing", 0, nil)
	s.mu.Unlock()
	// Registered before sending: the first NOTIFY may beat the 200.
	u.addDialog(d.key(), s)

	res, err := u.send(u.runCtx, s.build(d, expires, true))

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != d {
		return // a NOTIFY already ended this dialog and decided what next
	}
	if err != nil {
		s.failLocked("no response", err, 0)
		return
	}
	switch {
	case res.IsSuccess():
		if !d.confirmed {
			d.confirmed = true
			if tag, ok := res.To().Params.Get("tag"); ok {
				d.remoteTag = tag
			}
			if c := res.Contact(); c != nil {
				t := c.Address.Clone()
				d.remoteTarget = t
			}
			// The route set of a UAC is the Record-Route in reverse.
			rs := recordRoutes(res)
			slices.Reverse(rs)
			d.routeSet = rs
		}
		if d.remoteTarget == nil {
			t := s.target
			d.remoteTarget = &t
		}
		if !s.grantedLocked(d, res, expires) {
			return
		}
		if !d.gotNotify {
			d.timerN = time.Now().Add(u.opts.NotifyTimeout)
		}
	default:
		s.responseFailedLocked(res, false)
	}
}

// grantedLocked schedules the refresh from a 2xx's Expires.
func (s *subscription) grantedLocked(d *dialog, res *sip.Response, requested time.Duration) bool {
	granted := requested
	if n, ok := headerInt(res, "Expires"); ok {
		granted = time.Duration(n) * time.Second
	}
	if granted <= 0 {
		// Accepted but with no lifetime: the notifier ends it at once.
		s.failLocked("granted no lifetime", fmt.Errorf("ua: %s granted our SUBSCRIBE no lifetime", s.uri), 0)
		return false
	}
	d.refreshAt = time.Now().Add(refreshAfter(granted, 0.75, 0.85))
	return true
}

// refresh renews the dialog with an in-dialog SUBSCRIBE.
func (s *subscription) refresh() {
	u := s.u
	s.mu.Lock()
	d := s.d
	expires := s.expires
	s.mu.Unlock()
	if d == nil {
		return
	}
	res, err := u.send(u.runCtx, s.build(d, expires, false))

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != d {
		return
	}
	if err != nil {
		s.failLocked("refresh got no response", err, 0)
		return
	}
	switch {
	case res.IsSuccess():
		if s.grantedLocked(d, res, expires) {
			s.bo.Reset() // it lived a whole refresh period
		}
	case res.StatusCode == 481:
		// The notifier lost the subscription (restart, expiry): a new
		// dialog, now.
		s.dropLocked()
		s.retryNowLocked(-1)
		s.reportLocked(Retrying, "481 subscription does not exist", s.retryAt.Sub(time.Now()), newResponseError(sip.SUBSCRIBE, res))
	default:
		s.responseFailedLocked(res, true)
	}
}

// responseFailedLocked applies the retry table to a final non-2xx.
func (s *subscription) responseFailedLocked(res *sip.Response, inDialog bool) {
	re := newResponseError(sip.SUBSCRIBE, res)
	reason := fmt.Sprintf("response %d", res.StatusCode)
	switch code := res.StatusCode; {
	case code == 423:
		if re.MinExpires > s.expires {
			s.expires = re.MinExpires
			if inDialog {
				s.d.refreshAt = time.Now() // again at once, same dialog
			} else {
				s.dropLocked()
				s.retryAt = time.Now()
			}
			return
		}
		s.failLocked(reason, re, re.RetryAfter)
	case code == 403, code == 404, code == 489, code == 603, code >= 600:
		// Refused for good: stop and say so.
		s.dropLocked()
		s.stopped.Store(true)
		if s.list != nil {
			s.refuseListLocked(fmt.Sprintf("the server refused the list subscription (%d %s)", code, res.Reason))
		}
		s.reportLocked(Terminated, reason, 0, re)
	default: // 408, 5xx, 3xx, other 4xx, a challenge we could not answer
		s.failLocked(reason, re, re.RetryAfter)
	}
}

// failLocked drops the dialog and schedules a new one after a back-off.
func (s *subscription) failLocked(reason string, err error, retryAfter time.Duration) {
	s.dropLocked()
	d := s.bo.Next(retryAfter)
	s.retryAt = time.Now().Add(d)
	s.u.log.Warn("subscription failed", "uri", s.uri, "event", s.pkg, "reason", reason, "error", err, "retry_in", d)
	s.reportLocked(Retrying, reason, d, err)
}

// retryNowLocked schedules a new dialog at once the first time, with
// back-off if it keeps happening (a notifier that ends every subscription
// at once must not make us spin). retryAfter < 0: none given.
func (s *subscription) retryNowLocked(retryAfter time.Duration) {
	var d time.Duration
	if s.bo.Failures() == 0 {
		s.bo.Failed()
		d = max(retryAfter, 0)
	} else {
		d = s.bo.Next(max(retryAfter, 0))
	}
	s.retryAt = time.Now().Add(d)
}

// dropLocked forgets the current dialog; NOTIFYs for it now get 481, which
// makes the notifier drop its side too.
func (s *subscription) dropLocked() {
	if s.d == nil {
		return
	}
	s.u.removeDialog(s.d.key())
	s.d = nil
}

func (s *subscription) timerNExpired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	if d == nil || d.gotNotify || d.timerN.IsZero() {
		return
	}
	s.failLocked("no NOTIFY within Timer N", fmt.Errorf("ua: no NOTIFY from %s within %s of the 2xx", s.uri, s.u.opts.NotifyTimeout), 0)
}

// end unsubscribes (in-dialog Expires: 0), waits a little for the final
// NOTIFY so it can be answered 200, and reports Terminated.
func (s *subscription) end() {
	u := s.u
	s.mu.Lock()
	d := s.d
	send := d != nil && d.confirmed && !d.terminated
	if send {
		d.unsubscribing = true
	}
	s.mu.Unlock()
	var err error
	if send {
		res, serr := u.send(u.runCtx, s.build(d, 0, false))
		switch {
		case serr != nil:
			err = serr
		case !res.IsSuccess():
			err = newResponseError(sip.SUBSCRIBE, res)
		default:
			t := time.NewTimer(u.opts.UnsubscribeLinger)
			select {
			case <-d.ended:
			case <-t.C:
			case <-u.runCtx.Done():
			}
			t.Stop()
		}
	}
	s.mu.Lock()
	s.dropLocked()
	s.stopped.Store(true)
	s.reportLocked(Terminated, "unsubscribed", 0, err)
	s.mu.Unlock()
}

// reportLocked emits a SubscriptionEvent when the state or reason changed
// (or an error is attached).
func (s *subscription) reportLocked(st SubscriptionState, reason string, retryIn time.Duration, err error) {
	if s.reported && st == s.lastState && reason == s.lastReason && err == nil && st != Retrying {
		return
	}
	s.reported, s.lastState, s.lastReason = true, st, reason
	s.u.emit(SubscriptionEvent{URI: s.uri, Package: s.pkg, State: st, Reason: reason, RetryIn: retryIn, Err: err})
}

func (u *UA) addDialog(k dialogKey, s *subscription) {
	u.mu.Lock()
	u.dialogs[k] = s
	u.mu.Unlock()
}

func (u *UA) removeDialog(k dialogKey) {
	u.mu.Lock()
	delete(u.dialogs, k)
	u.mu.Unlock()
}

// onNotify is sipgo's NOTIFY handler.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	u.trace(true, req)
	res, ended := u.matchNotify(req)
	u.respond(tx, res)
	if ended != nil {
		// Only now may an unsubscribe waiting for this final NOTIFY go on
		// and close the sockets: our 200 is on the wire.
		close(ended)
	}
}

// matchNotify matches a NOTIFY to its subscription, applies it and returns
// the response to send: 200, 481 for a dialog we do not know, 489 for a
// wrong Event, 400 for a bad Subscription-State, 413 for a body over
// MaxNotifyBody, 500 for a CSeq going backwards. When the NOTIFY ended the
// dialog it also returns the dialog's ended channel, for the caller to
// close once the response is on the wire.
func (u *UA) matchNotify(req *sip.Request) (*sip.Response, chan struct{}) {
	reply := func(code int, reason string) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if code == 489 {
			res.AppendHeader(sip.NewHeader("Allow-Events", header.EventPresence+", "+header.EventPresenceWinfo))
		}
		return res
	}
	callID, to, from, cseq := req.CallID(), req.To(), req.From(), req.CSeq()
	if callID == nil || to == nil || from == nil || cseq == nil {
		return reply(400, "Missing Dialog Headers"), nil
	}
	toTag, _ := to.Params.Get("tag")
	k := dialogKey{callID.Value(), toTag}
	u.mu.Lock()
	s := u.dialogs[k]
	u.mu.Unlock()
	if len(req.Body()) > MaxNotifyBody {
		if s != nil {
			s.unreadable(k, fmt.Errorf("ua: NOTIFY body of %d bytes is over the %d we read", len(req.Body()), MaxNotifyBody))
		}
		return reply(413, "Request Entity Too Large"), nil
	}
	if s == nil {
		return reply(481, "Subscription Does Not Exist"), nil
	}
	code, reason, ended := s.handleNotify(req, k)
	return reply(code, reason), ended
}

func (s *subscription) handleNotify(req *sip.Request, k dialogKey) (code int, reason string, ended chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	if d == nil || d.key() != k {
		return 481, "Subscription Does Not Exist", nil
	}
	fromTag, _ := req.From().Params.Get("tag")
	if d.remoteTag != "" && fromTag != d.remoteTag {
		// A second dialog from a forked SUBSCRIBE: we keep one.
		return 481, "Subscription Does Not Exist", nil
	}
	evh := req.GetHeader("Event")
	if evh == nil {
		evh = req.GetHeader("o")
	}
	if evh == nil {
		return 489, "Bad Event", nil
	}
	ev, err := header.ParseEvent(evh.Value())
	if err != nil || !ev.Matches(header.Event{Package: s.pkg}) {
		return 489, "Bad Event", nil
	}
	ssh := req.GetHeader("Subscription-State")
	if ssh == nil {
		return 400, "Missing Subscription-State", nil
	}
	ss, err := header.ParseSubscriptionState(ssh.Value())
	if err != nil {
		return 400, "Bad Subscription-State", nil
	}
	cseq := req.CSeq().SeqNo
	if d.haveRemoteCSeq {
		if cseq < d.remoteCSeq {
			return 500, "CSeq Out Of Order", nil
		}
		if cseq == d.remoteCSeq {
			return 200, "OK", nil // the same NOTIFY again: already applied
		}
	}
	d.remoteCSeq, d.haveRemoteCSeq = cseq, true
	if !d.confirmed {
		// The NOTIFY overtook the 200: it creates the dialog. Its
		// Record-Route, in order, is our route set (we are its UAS).
		d.confirmed = true
		d.remoteTag = fromTag
		rs := recordRoutes(req)
		d.routeSet = rs
	}
	if c := req.Contact(); c != nil {
		d.remoteTarget = c.Address.Clone() // NOTIFY is a target refresh
	}
	d.gotNotify = true
	d.timerN = time.Time{}

	ours := d.unsubscribing || !s.wanted
	var unreadable error
	if ss.State != header.StateTerminated || !ours {
		unreadable = s.deliverLocked(req)
	}
	if unreadable != nil && ss.State != header.StateTerminated {
		// Showing the last state as current would be a lie: say the
		// subscription is lost and start over (with back-off, in case the
		// notifier sends the same document again).
		s.unreadableLocked(unreadable)
		return 200, "OK", nil
	}

	if ss.State == header.StateTerminated {
		d.terminated = true
		s.dropLocked()
		if !ours {
			s.terminatedLocked(ss)
		}
		s.poke()
		return 200, "OK", d.ended
	}
	if ss.Expires >= 0 {
		at := time.Now().Add(refreshAfter(time.Duration(min(ss.Expires, maxTimerSeconds))*time.Second, 0.75, 0.85))
		if at.Before(d.refreshAt) {
			d.refreshAt = at
		}
	}
	if ss.State == header.StatePending {
		s.reportLocked(Pending, "awaiting authorization", 0, nil)
	} else {
		// RFC 6665 §8.2.3: an unknown state is treated as active.
		s.reportLocked(Active, "", 0, nil)
	}
	s.poke() // the refresh time may have moved
	return 200, "OK", nil
}
