package ua

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/backoff"
	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// publication keeps our presence document on the server (RFC 3903): one
// PUBLISH outstanding at a time, owned by one goroutine; SetPresence only
// records the wish and wakes it, so changes made meanwhile coalesce.
type publication struct {
	u    *UA
	wake chan struct{}

	mu      sync.Mutex
	desired *Presence
	version int  // bumped by every set
	kicked  bool // refresh now (recovery)

	// loop-owned
	etag      string
	expires   time.Duration // requested; a 423 raises it
	published int           // version the server has
	refreshAt time.Time
	retryAt   time.Time
	conflicts int // 412s in a row
	failing   bool
	bo        backoff.Backoff
}

func newPublication(u *UA) *publication {
	return &publication{
		u: u, wake: make(chan struct{}, 1),
		expires: u.opts.PublishExpires,
		bo:      backoff.Backoff{Min: u.opts.RetryMin, Max: u.opts.RetryMax},
	}
}

func (p *publication) set(pr Presence) {
	p.mu.Lock()
	p.desired = &pr
	p.version++
	p.mu.Unlock()
	p.poke()
}

func (p *publication) kick() {
	p.mu.Lock()
	p.kicked = true
	p.mu.Unlock()
	p.poke()
}

func (p *publication) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

type publishOp int

const (
	opNone publishOp = iota
	opInitial
	opModify
	opRefresh
	opRemove
)

func (o publishOp) String() string {
	return [...]string{"none", "initial", "modify", "refresh", "remove"}[o]
}

func (p *publication) run() {
	u := p.u
	for {
		p.mu.Lock()
		desired, version, kicked := p.desired, p.version, p.kicked
		p.mu.Unlock()
		now := time.Now()
		op, wait := opNone, time.Duration(-1)
		switch {
		case desired == nil:
		case !kicked && now.Before(p.retryAt):
			wait = p.retryAt.Sub(now)
		case p.etag == "":
			op = opInitial
		case version != p.published:
			op = opModify
		case kicked || !now.Before(p.refreshAt):
			op = opRefresh
		default:
			wait = p.refreshAt.Sub(now)
		}
		if op != opNone {
			p.mu.Lock()
			p.kicked = false
			p.mu.Unlock()
			p.publish(u.runCtx, op, desired, version)
			select {
			case <-u.stopping:
				p.remove(u.runCtx)
				return
			default:
			}
			continue
		}
		if !sleep(wait, p.wake, u.stopping) {
			p.remove(u.runCtx)
			return
		}
	}
}

// publish sends one PUBLISH and updates the loop state from the answer.
func (p *publication) publish(ctx context.Context, op publishOp, pr *Presence, version int) {
	u := p.u
	var body []byte
	if op == opInitial || op == opModify {
		var err error
		body, err = p.document(pr)
		if err != nil {
			// Our own document does not encode: nothing a retry fixes.
			p.fail(fmt.Errorf("ua: encoding our PIDF: %w", err), 0)
			p.published = version
			return
		}
	}
	etag := ""
	if op != opInitial {
		etag = p.etag
	}
	res, err := u.send(ctx, p.build(etag, p.expires, body))
	if err != nil {
		if ctx.Err() == nil {
			p.fail(err, 0)
		}
		return
	}
	switch {
	case res.IsSuccess():
		newTag := ""
		if h := res.GetHeader("SIP-ETag"); h != nil {
			newTag = h.Value()
		}
		if newTag == "" {
			p.etag = ""
			p.fail(errors.New("ua: 2xx to PUBLISH without SIP-ETag"), 0)
			return
		}
		granted := p.expires
		if n, ok := headerInt(res, "Expires"); ok {
			granted = time.Duration(n) * time.Second
		}
		if granted <= 0 {
			p.etag = ""
			p.fail(errors.New("ua: server granted our publication no lifetime"), 0)
			return
		}
		// Kamailio rotates the entity tag on every refresh: always keep
		// the latest, the old one is dead at once.
		p.etag = newTag
		p.refreshAt = time.Now().Add(refreshAfter(granted, 0.8, 0.8))
		p.retryAt = time.Time{}
		p.conflicts = 0
		p.bo.Reset()
		if body != nil {
			p.published = version
		}
		if op != opRefresh || p.failing {
			u.emit(PublicationEvent{State: Published, ETag: newTag, Expires: granted})
		}
		p.failing = false
	case res.StatusCode == 412 || res.StatusCode == 500 && etag != "":
		// The server forgot our publication (restart, expiry; Kamailio
		// answers 500 to some unknown tags): start over with the full
		// document at once, unless that keeps happening.
		u.log.Info("publication unknown to the server: publishing afresh", "code", res.StatusCode, "etag", etag)
		p.etag = ""
		p.conflicts++
		if p.conflicts > 2 {
			p.fail(newResponseError(sip.PUBLISH, res), 0)
		}
	case res.StatusCode == 423:
		re := newResponseError(sip.PUBLISH, res)
		if re.MinExpires > p.expires {
			p.expires = re.MinExpires // retried at once by the loop
			return
		}
		p.fail(re, 0)
	default:
		re := newResponseError(sip.PUBLISH, res)
		p.fail(re, re.RetryAfter)
	}
}

func (p *publication) fail(err error, retryAfter time.Duration) {
	d := p.bo.Next(retryAfter)
	p.retryAt = time.Now().Add(d)
	p.failing = true
	p.u.log.Warn("PUBLISH failed", "error", err, "retry_in", d)
	p.u.emit(PublicationEvent{State: PublicationFailed, ETag: p.etag, Err: err, RetryIn: d})
}

// remove withdraws the publication (Expires: 0) on Close.
func (p *publication) remove(ctx context.Context) {
	if p.etag == "" {
		return
	}
	u := p.u
	res, err := u.send(ctx, p.build(p.etag, 0, nil))
	if err == nil && !res.IsSuccess() {
		err = newResponseError(sip.PUBLISH, res)
	}
	if err != nil {
		u.log.Warn("removing the publication failed", "error", err)
	}
	u.emit(PublicationEvent{State: Removed, ETag: p.etag, Err: err})
	p.etag = ""
}

// document encodes our presence as PIDF with stable ids.
func (p *publication) document(pr *Presence) ([]byte, error) {
	u := p.u
	// Ids per device (instance), stable across restarts: a restarted
	// device's new publication replaces its stale one in the server's
	// aggregate, while another device of the account (laptop and server)
	// keeps its own tuple beside ours (RFC 3903 composition) instead of
	// being replaced.
	tuple, person := pidf.StableID("t", u.opts.InstanceID), pidf.StableID("p", u.opts.InstanceID)
	return pidf.Encode(pidf.Publication{
		Entity:      u.aor.String(),
		TupleID:     tuple,
		PersonID:    person,
		Contact:     u.aor.String(),
		Open:        pr.Open,
		Activities:  pr.Activities,
		Note:        pr.Note,
		DisplayName: u.opts.DisplayName,
		IconURL:     pr.IconURL,
		IconSHA1:    pr.IconSHA1,
		Timestamp:   time.Now().UTC(),
	})
}

// build returns a PUBLISH builder: a new Call-ID per publication attempt,
// CSeq counting up across its digest retries.
func (p *publication) build(etag string, expires time.Duration, body []byte) func() *sip.Request {
	u := p.u
	callID := newCallID()
	tag := newTag()
	var cseq uint32
	return func() *sip.Request {
		cseq++
		req := sip.NewRequest(sip.PUBLISH, u.aor)
		u.addIDHeaders(req, tag, &sip.ToHeader{DisplayName: u.opts.DisplayName, Address: u.aor}, callID, cseq)
		req.AppendHeader(sip.NewHeader("Event", header.EventPresence))
		exp := sip.ExpiresHeader(uint32(expires / time.Second))
		req.AppendHeader(&exp)
		if etag != "" {
			req.AppendHeader(sip.NewHeader("SIP-If-Match", etag))
		}
		if body != nil {
			ct := sip.ContentTypeHeader("application/pidf+xml")
			req.AppendHeader(&ct)
			req.SetBody(body)
		}
		return req
	}
}
