package ua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrTransport wraps failures to get any response: connection refused or
// closed, transaction timeout.
var ErrTransport = errors.New("ua: no response")

// MaxUDPRequest is the largest request sent over UDP (RFC 3261 §18.1.1:
// 1300 bytes when the path MTU is unknown; sipgo refuses more); larger ones
// go over TCP.
const MaxUDPRequest = 1300

// sentByAllowance is room for a sent-by the transport fills in after we
// measure (an IPv6 address and a port).
const sentByAllowance = len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")

// udpSize is the size of req as it will leave over UDP: the Via is added
// here, as sipgo would add it, so that what is measured is what is sent.
func udpSize(c *sipgo.Client, req *sip.Request) int {
	if req.Via() == nil {
		_ = sipgo.ClientRequestAddVia(c, req)
	}
	n := len(req.String())
	if v := req.Via(); v != nil && (v.Host == "" || v.Port == 0) {
		n += sentByAllowance
	}
	return n
}

// maxAuthRounds bounds the challenges answered for one request (one with a
// cached nonce that went stale, one with a fresh challenge).
const maxAuthRounds = 2

// send transmits the request build returns and waits for its final
// response, answering 401/407 challenges with digest credentials. build is
// called again for every transmission and must return a NEW request each
// time (same Call-ID and tags, next CSeq): sipgo treats a resent request
// object as a retransmission of the old transaction.
//
// A non-2xx final response is returned as (res, nil); the caller decides.
// Only a challenge we could not satisfy becomes a *ResponseError wrapping
// ErrAuthFailed.
func (u *UA) send(ctx context.Context, build func() *sip.Request) (*sip.Response, error) {
	req := build()
	u.prepare(req)
	u.auth.authorize(req, u.opts.Username, u.currentPassword())
	res, err := u.roundTrip(ctx, req)
	for round := 0; err == nil && round <= maxAuthRounds; round++ {
		if res.StatusCode != 401 && res.StatusCode != 407 {
			return res, nil
		}
		chal, hdr, perr := parseChallenge(res)
		if perr != nil {
			e := newResponseError(req.Method, res)
			e.Err = fmt.Errorf("%w: %v", ErrAuthFailed, perr)
			return res, e
		}
		// Our credentials answered a challenge of this very exchange and
		// the server still refuses, not because of an old nonce: the
		// password (or user) is wrong. Retrying would only lock the
		// account.
		if round > 0 && !chal.Stale || round == maxAuthRounds {
			e := newResponseError(req.Method, res)
			e.Err = ErrAuthFailed
			return res, e
		}
		u.auth.store(req.Method, hdr, chal)
		req = build()
		u.prepare(req)
		u.auth.authorize(req, u.opts.Username, u.currentPassword())
		res, err = u.roundTrip(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prepare adds what every request of ours carries.
func (u *UA) prepare(req *sip.Request) {
	req.SetDestination(u.destination())
	req.SetTransport(u.transport)
	if req.MaxForwards() == nil {
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	req.AppendHeader(sip.NewHeader("User-Agent", u.opts.UserAgent))
	if req.Body() == nil {
		req.SetBody(nil) // Content-Length: 0, required on TCP
	}
}

// roundTrip runs one client transaction and traces both directions.
func (u *UA) roundTrip(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	u.sends.Add(1)
	client := u.client
	if u.transport == "UDP" && udpSize(u.client, req) > MaxUDPRequest {
		// RFC 3261 §18.1.1: too large for UDP, so TCP to the same
		// address (sipgo would refuse the datagram). A client without our
		// UDP socket as its local address: a TCP connection cannot use it.
		req.RemoveHeader("Via")
		req.SetTransport("TCP")
		client = u.streamClient
	}
	tx, err := client.TransactionRequest(ctx, req)
	if err != nil {
		if !errors.Is(err, sip.ErrUDPMTUCongestion) {
			u.transportFailed(req)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrTransport, req.Method, err)
	}
	defer tx.Terminate()
	u.trace(false, req)
	for {
		select {
		case res := <-tx.Responses():
			u.trace(true, res)
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			err := tx.Err()
			if err == nil {
				err = errors.New("transaction ended without a response")
			}
			u.transportFailed(req)
			return nil, fmt.Errorf("%w: %s: %w", ErrTransport, req.Method, err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// transportFailed treats a request that got no response at all as a sign
// that the flow to the proxy died (a server restart, say): the flow watcher
// only looks now and then, and a retry may already have opened a new
// connection to a restarted server before it looks, so the loss would go
// unseen and the registration and subscriptions would wait for their
// timers. A REGISTER failing is handled by the registration itself.
func (u *UA) transportFailed(req *sip.Request) {
	if req.Method != sip.REGISTER && u.reg != nil {
		u.reg.flowLost()
	}
}

// authCache remembers the last challenge per method so that the next
// request of that method carries credentials at once (nonce reuse with an
// increasing nonce count, RFC 7616 §3.4.5): refreshes then cost one round
// trip instead of two. A stale or refused nonce just costs the old round
// trip.
type authCache struct {
	mu sync.Mutex
	m  map[sip.RequestMethod]*cachedChallenge
}

type cachedChallenge struct {
	header string // "Authorization" or "Proxy-Authorization"
	chal   *digest.Challenge
	nc     int
}

func (a *authCache) store(method sip.RequestMethod, header string, chal *digest.Challenge) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[sip.RequestMethod]*cachedChallenge)
	}
	a.m[method] = &cachedChallenge{header: header, chal: chal}
}

// authorize adds credentials from the cached challenge for req's method.
func (a *authCache) authorize(req *sip.Request, user, password string) {
	a.mu.Lock()
	c := a.m[req.Method]
	var nc int
	if c != nil {
		c.nc++
		nc = c.nc
	}
	a.mu.Unlock()
	if c == nil {
		return
	}
	cred, err := digest.Digest(c.chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.Addr(),
		Username: user,
		Password: password,
		Count:    nc,
	})
	if err != nil {
		return
	}
	req.RemoveHeader(c.header)
	req.AppendHeader(sip.NewHeader(c.header, cred.String()))
	if len(c.chal.QOP) == 0 {
		// Without qop a nonce is good for one request only.
		a.mu.Lock()
		if a.m[req.Method] == c {
			delete(a.m, req.Method)
		}
		a.mu.Unlock()
	}
}

// parseChallenge reads the challenge of a 401 or 407 and names the header
// the answer goes in.
func parseChallenge(res *sip.Response) (*digest.Challenge, string, error) {
	name, answer := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, answer = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(name)
	if h == nil {
		return nil, "", fmt.Errorf("%d without %s", res.StatusCode, name)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return nil, "", fmt.Errorf("bad %s %q: %w", name, h.Value(), err)
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	if !digest.CanDigest(chal) {
		return nil, "", fmt.Errorf("unsupported digest challenge %q", h.Value())
	}
	return chal, answer, nil
}
