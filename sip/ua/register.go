package ua

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/backoff"
)

// registration keeps our Contact bound to the AOR: REGISTER, refresh at
// 80% of the granted expiry, back-off on failure, unregister on Close.
type registration struct {
	u      *UA
	callID string
	tag    string

	wake chan struct{}
	stop chan struct{} // closed by stopNow: unregister and exit
	done chan struct{} // closed when run returns
	once sync.Once

	// healthy is true while registered; a lost connection only matters
	// then (during a back-off the next attempt is already scheduled).
	healthy atomic.Bool
	// retryNow asks the loop to reset its back-off on the next wake-up
	// (RetryNow, SetPassword).
	retryNow atomic.Bool

	mu         sync.Mutex
	cseq       uint32
	recovering bool // connection lost or failure seen: kick everyone after the next success
	// Spacing of flow-loss recoveries.
	lostBo    backoff.Backoff
	lostAt    time.Time   // the last recovery started
	nextLoss  time.Time   // a loss before this waits for it
	lostTimer *time.Timer // a waiting loss
	stopped   bool

	// loop-owned
	expires    time.Duration // requested (a 423 raises it)
	registered bool
	granted    time.Duration
	bo         backoff.Backoff
	unreached  bool // the last attempt got no response: probe the server while waiting
}

func newRegistration(u *UA) *registration {
	return &registration{
		u: u, callID: newCallID(), tag: newTag(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		expires: u.opts.RegisterExpires,
		bo:      backoff.Backoff{Min: u.opts.RetryMin, Max: u.opts.RetryMax},
		lostBo:  backoff.Backoff{Min: u.opts.RetryMin, Max: u.opts.RetryMax},
	}
}

// flowLost reacts to a dead connection to the proxy: re-register now and
// refresh everything after, unless already retrying. Recoveries in a row
// are spaced by a back-off (the first is immediate): a request that fails
// every time must not turn into a REGISTER storm.
func (r *registration) flowLost() {
	if !r.healthy.Load() {
		return
	}
	r.mu.Lock()
	now := time.Now()
	if !r.lostAt.IsZero() && now.Sub(r.lostAt) > 2*r.u.opts.RetryMax {
		r.lostBo.Reset() // calm for a while: the next loss is news
	}
	if now.Before(r.nextLoss) {
		if r.lostTimer == nil && !r.stopped {
			r.lostTimer = time.AfterFunc(r.nextLoss.Sub(now), func() {
				r.mu.Lock()
				r.lostTimer = nil
				r.mu.Unlock()
				r.flowLost()
			})
		}
		r.mu.Unlock()
		return
	}
	r.lostAt = now
	r.nextLoss = now.Add(r.lostBo.Next(0))
	r.mu.Unlock()
	r.kick(true)
}

// kick re-registers now; recovering makes the publication and the
// subscriptions refresh after it succeeds.
func (r *registration) kick(recovering bool) {
	r.mu.Lock()
	r.recovering = r.recovering || recovering
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *registration) run() {
	defer close(r.done)
	u := r.u
	var wait time.Duration
	u.emit(RegistrationEvent{State: Registering})
	for {
		if !r.wait(wait) {
			return
		}
		wait = r.attempt(u.runCtx)
	}
}

// attempt sends one REGISTER (with its 423 retries, and with located
// servers one try per target that does not answer) and returns the wait
// until the next one.
func (r *registration) attempt(ctx context.Context) time.Duration {
	u := r.u
	if u.relocate(ctx, false) {
		r.moved() // a primary is back
	}
	if u.transport == "TLS" {
		before := u.ContactURI()
		if err := u.syncTLSContact(ctx); err == nil && u.ContactURI() != before {
			r.moved() // a new flow: subscriptions must learn its Contact
		}
	}
	res, err := r.send423(ctx)
	for try := 1; errors.Is(err, ErrTransport) && try < u.failoverTargets() && u.relocate(ctx, true); try++ {
		r.moved()
		res, err = r.send423(ctx)
	}
	if err == nil && !res.IsSuccess() {
		err = newResponseError(sip.REGISTER, res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		var re *ResponseError
		var retryAfter time.Duration
		if errors.As(err, &re) {
			retryAfter = re.RetryAfter
		}
		d := r.bo.Next(retryAfter)
		r.unreached = errors.Is(err, ErrTransport)
		if errors.Is(err, ErrAuthFailed) {
			// The password is wrong: retrying would only lock the
			// account. Wait for SetPassword or RetryNow.
			d = -1
		}
		r.registered = false
		r.healthy.Store(false)
		r.mu.Lock()
		r.recovering = true
		r.mu.Unlock()
		u.log.Warn("REGISTER failed", "error", err, "retry_in", d)
		u.emit(RegistrationEvent{State: RegistrationFailed, Err: err, RetryIn: max(d, 0)})
		return d
	}
	u.setFlowTimer(res)
	granted := r.grantedExpiry(res)
	if granted <= 0 {
		// The registrar accepted but dropped our binding (Expires 0):
		// treat as a failure rather than refresh in a tight loop.
		d := r.bo.Next(0)
		r.registered = false
		r.healthy.Store(false)
		err := fmt.Errorf("ua: registrar granted no lifetime to %s", u.ContactURI())
		u.emit(RegistrationEvent{State: RegistrationFailed, Err: err, RetryIn: d})
		return d
	}
	r.bo.Reset()
	r.unreached = false
	if !r.registered || granted != r.granted {
		u.emit(RegistrationEvent{State: Registered, Expires: granted})
	}
	r.registered, r.granted = true, granted
	r.healthy.Store(true)
	r.mu.Lock()
	recovering := r.recovering
	r.recovering = false
	r.mu.Unlock()
	if recovering {
		u.kickAll()
	}
	return refreshAfter(granted, 0.8, 0.8)
}

// send423 sends a REGISTER, raising Expires after a 423 (bounded).
func (r *registration) send423(ctx context.Context) (res *sip.Response, err error) {
	for range 3 {
		res, err = r.u.send(ctx, r.build(r.expires))
		if err != nil || res.StatusCode != 423 {
			return res, err
		}
		re := newResponseError(sip.REGISTER, res)
		if re.MinExpires <= r.expires {
			return res, err
		}
		r.expires = re.MinExpires
	}
	return res, err
}

// moved notes a change of server: it knows none of our state, so
// everything is refreshed after the REGISTER, and the success is reported
// again.
func (r *registration) moved() {
	r.registered = false
	r.mu.Lock()
	r.recovering = true
	r.mu.Unlock()
}

// build returns a REGISTER builder; each call of the builder is a new
// request with the next CSeq of our registration Call-ID.
func (r *registration) build(expires time.Duration) func() *sip.Request {
	u := r.u
	return func() *sip.Request {
		r.mu.Lock()
		r.cseq++
		cseq := r.cseq
		r.mu.Unlock()
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: u.aor.Scheme, Host: u.aor.Host, Port: u.aor.Port})
		u.addIDHeaders(req, r.tag, &sip.ToHeader{DisplayName: u.opts.DisplayName, Address: u.aor}, r.callID, cseq)
		contact := u.contactHeader()
		// RFC 5626: this device's instance and its one flow.
		if contact.Params == nil {
			contact.Params = sip.NewParams()
		}
		contact.Params.Add("+sip.instance", `"<`+u.opts.InstanceID+`>"`)
		contact.Params.Add("reg-id", regID)
		req.AppendHeader(contact)
		req.AppendHeader(sip.NewHeader("Supported", "outbound, path"))
		exp := sip.ExpiresHeader(uint32(expires / time.Second))
		req.AppendHeader(&exp)
		return req
	}
}

// grantedExpiry reads the lifetime of OUR binding from a 2xx: the expires
// parameter of the Contact that matches ours (Kamailio lists every binding
// of the AOR), else the Expires header, else what we asked for.
func (r *registration) grantedExpiry(res *sip.Response) time.Duration {
	ours := r.u.contactURI()
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Host != ours.Host || c.Address.Port != ours.Port || c.Address.User != ours.User {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, ok := parseDelta(v); ok {
				return time.Duration(n) * time.Second
			}
		}
	}
	if n, ok := headerInt(res, "Expires"); ok {
		return time.Duration(n) * time.Second
	}
	return r.expires
}

// stopNow ends the loop and, if we are registered, unregisters
// (Expires: 0), bounded by ctx.
func (r *registration) stopNow(ctx context.Context) {
	r.once.Do(func() { close(r.stop) })
	r.mu.Lock()
	r.stopped = true
	if r.lostTimer != nil {
		r.lostTimer.Stop()
		r.lostTimer = nil
	}
	r.mu.Unlock()
	u := r.u
	select {
	case <-r.done:
	case <-ctx.Done():
		u.cancel() // abandon the REGISTER in flight
		<-r.done
		return
	}
	if !r.registered {
		return
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := context.AfterFunc(u.runCtx, cancel)
	defer stopWatch()
	res, err := u.send(rctx, r.build(0))
	if err == nil && !res.IsSuccess() {
		err = newResponseError(sip.REGISTER, res)
	}
	r.registered = false
	if err != nil {
		u.log.Warn("unregister failed", "error", err)
		u.emit(RegistrationEvent{State: Unregistered, Err: err})
		return
	}
	u.emit(RegistrationEvent{State: Unregistered})
}

func parseDelta(v string) (int, bool) {
	n := 0
	if v == "" || len(v) > 10 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return min(n, maxTimerSeconds), true
}
