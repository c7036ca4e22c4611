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

	mu         sync.Mutex
	cseq       uint32
	recovering bool // connection lost or failure seen: kick everyone after the next success

	// loop-owned
	expires    time.Duration // requested (a 423 raises it)
	registered bool
	granted    time.Duration
	bo         backoff.Backoff
}

func newRegistration(u *UA) *registration {
	return &registration{
		u: u, callID: newCallID(), tag: newTag(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		expires: u.opts.RegisterExpires,
		bo:      backoff.Backoff{Min: u.opts.RetryMin, Max: u.opts.RetryMax},
	}
}

// flowLost reacts to a dead connection to the proxy: re-register now and
// refresh everything after, unless already retrying.
func (r *registration) flowLost() {
	if r.healthy.Load() {
		r.kick(true)
	}
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
		if !sleep(wait, r.wake, r.stop) {
			return
		}
		wait = r.attempt(u.runCtx)
	}
}

// attempt sends one REGISTER (with its 423 retries) and returns the wait
// until the next one.
func (r *registration) attempt(ctx context.Context) time.Duration {
	u := r.u
	var err error
	var res *sip.Response
	for range 3 { // 423 → raise Expires → retry, bounded
		res, err = u.send(ctx, r.build(r.expires))
		if err != nil || res.StatusCode != 423 {
			break
		}
		re := newResponseError(sip.REGISTER, res)
		if re.MinExpires <= r.expires {
			break
		}
		r.expires = re.MinExpires
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
		r.registered = false
		r.healthy.Store(false)
		r.mu.Lock()
		r.recovering = true
		r.mu.Unlock()
		u.log.Warn("REGISTER failed", "error", err, "retry_in", d)
		u.emit(RegistrationEvent{State: RegistrationFailed, Err: err, RetryIn: d})
		return d
	}
	granted := r.grantedExpiry(res)
	if granted <= 0 {
		// The registrar accepted but dropped our binding (Expires 0):
		// treat as a failure rather than refresh in a tight loop.
		d := r.bo.Next(0)
		r.registered = false
		r.healthy.Store(false)
		err := fmt.Errorf("ua: registrar granted no lifetime to %s", u.contact.Address.String())
		u.emit(RegistrationEvent{State: RegistrationFailed, Err: err, RetryIn: d})
		return d
	}
	r.bo.Reset()
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
		from := sip.FromHeader{DisplayName: u.opts.DisplayName, Address: u.aor, Params: sip.NewParams()}
		from.Params.Add("tag", r.tag)
		to := sip.ToHeader{DisplayName: u.opts.DisplayName, Address: u.aor}
		callID := sip.CallIDHeader(r.callID)
		cs := sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER}
		req.AppendHeader(&from)
		req.AppendHeader(&to)
		req.AppendHeader(&callID)
		req.AppendHeader(&cs)
		contact := u.contact.Clone()
		req.AppendHeader(contact)
		exp := sip.ExpiresHeader(uint32(expires / time.Second))
		req.AppendHeader(&exp)
		return req
	}
}

// grantedExpiry reads the lifetime of OUR binding from a 2xx: the expires
// parameter of the Contact that matches ours (Kamailio lists every binding
// of the AOR), else the Expires header, else what we asked for.
func (r *registration) grantedExpiry(res *sip.Response) time.Duration {
	ours := r.u.contact.Address
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
