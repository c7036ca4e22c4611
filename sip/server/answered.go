package server

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// UDP server transactions, lean. RFC 3261 §17.2.2 keeps a non-INVITE server
// transaction for Timer J (64*T1, 32 s) after its final response, only to
// answer retransmissions of the request with that response again. sipgo
// keeps the whole transaction (request, response, state machine, timers)
// for that time, about 8 KB per request; a SUBSCRIBE (challenged, then
// authenticated) held two. The server ends sipgo's transaction once the
// final response is sent and keeps only what the RFC needs: the bytes of a
// 2xx, by branch, for Timer J. A retransmission of a request whose answer
// was not 2xx (a challenge, an error) is simply handled again: that is
// idempotent.

// answer is a final response kept for retransmissions of its request.
type answer struct {
	wire []byte
	to   netip.AddrPort
}

// answeredCache holds 2xx answers to UDP requests for between one and two
// Timer J periods: two generations, the older dropped whole.
type answeredCache struct {
	mu        sync.Mutex
	cur, prev map[string]answer
	rotated   time.Time
}

// answerKey matches a retransmission to its transaction (RFC 3261
// §17.2.3: branch and method, here with the source instead of sent-by).
func answerKey(method sip.RequestMethod, branch, source string) string {
	return string(method) + " " + branch + " " + source
}

func (c *answeredCache) rotateLocked(now time.Time, ttl time.Duration) {
	if c.cur == nil {
		c.cur, c.rotated = make(map[string]answer), now
	}
	if now.Sub(c.rotated) >= ttl {
		c.prev, c.cur, c.rotated = c.cur, make(map[string]answer, len(c.cur)), now
	}
}

func (c *answeredCache) get(key string, ttl time.Duration) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotateLocked(time.Now(), ttl)
	a, ok := c.cur[key]
	if !ok {
		a, ok = c.prev[key]
	}
	return a, ok
}

func (c *answeredCache) put(key string, a answer, ttl time.Duration) {
	c.mu.Lock()
	c.rotateLocked(time.Now(), ttl)
	c.cur[key] = a
	c.mu.Unlock()
}

func (c *answeredCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}

func isUDP(transport string) bool { return transport == "UDP" || transport == "udp" }

// answerAgain answers a retransmitted UDP request from the cache; false when
// the request is new.
func (s *Server) answerAgain(req *sip.Request, tx sip.ServerTransaction) bool {
	if !isUDP(req.Transport()) || req.IsAck() || s.udpConn == nil {
		return false
	}
	via := req.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	a, ok := s.answered.get(answerKey(req.Method, branch, req.Source()), 64*s.t1)
	if !ok {
		return false
	}
	_ = s.writeUDP(a.wire, a.to) // lost like any datagram: the client retransmits
	tx.Terminate()
	return true
}

// answeredUDP ends sipgo's transaction of a UDP request once its final
// response is sent, keeping a 2xx for retransmissions.
func (s *Server) answeredUDP(tx sip.ServerTransaction, res *sip.Response) {
	if !isUDP(res.Transport()) || res.IsProvisional() || s.udpConn == nil {
		return
	}
	if res.IsSuccess() {
		if via := res.Via(); via != nil {
			branch, _ := via.Params.Get("branch")
			method := sip.RequestMethod("")
			if cs := res.CSeq(); cs != nil {
				method = cs.MethodName
			}
			if ap, err := netip.ParseAddrPort(res.Destination()); err == nil {
				a := answer{wire: []byte(res.String()), to: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
				s.answered.put(answerKey(method, branch, res.Destination()), a, 64*s.t1)
			}
		}
	}
	tx.Terminate()
}
