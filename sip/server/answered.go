package server

import (
	"hash/maphash"
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
// Timer J periods: two generations, the older dropped whole. Entries are
// keyed by a seeded 64-bit hash of the transaction's identity rather than
// the identity's text: a collision (odds about n²/2⁶⁵) would answer a
// retransmission with another transaction's 2xx, which its client
// discards as not matching (RFC 3261 §17.1.3).
type answeredCache struct {
	mu        sync.Mutex
	seed      maphash.Seed
	cur, prev map[uint64]answer
	rotated   time.Time
	// sweep rotates the generations on the server's timer heap while any
	// answer is held, so a burst's answers are released a Timer J or two
	// after it even when no request follows; sweeping says it is
	// scheduled.
	sweep    timerEntry
	sweeping bool
}

// key matches a retransmission to its transaction (RFC 3261 §17.2.3:
// branch and method, here with the source instead of sent-by).
func (c *answeredCache) key(method sip.RequestMethod, branch, source string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(string(method))
	h.WriteByte(' ')
	h.WriteString(branch)
	h.WriteByte(' ')
	h.WriteString(source)
	return h.Sum64()
}

func (c *answeredCache) rotateLocked(now time.Time, ttl time.Duration) {
	if c.cur == nil {
		c.cur, c.rotated = make(map[uint64]answer), now
	}
	if now.Sub(c.rotated) >= ttl {
		c.prev, c.cur, c.rotated = c.cur, make(map[uint64]answer, len(c.cur)), now
	}
}

func (c *answeredCache) get(key uint64, ttl time.Duration) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotateLocked(time.Now(), ttl)
	a, ok := c.cur[key]
	if !ok {
		a, ok = c.prev[key]
	}
	return a, ok
}

func (c *answeredCache) put(key uint64, a answer, ttl time.Duration, timers *timerHeap) {
	c.mu.Lock()
	c.rotateLocked(time.Now(), ttl)
	c.cur[key] = a
	if !c.sweeping {
		c.sweeping = true
		timers.schedule(&c.sweep, c.rotated.Add(ttl), func() { c.sweepTick(ttl, timers) })
	}
	c.mu.Unlock()
}

// sweepTick runs on the timer goroutine: it drops the older generation and
// comes back while answers remain.
func (c *answeredCache) sweepTick(ttl time.Duration, timers *timerHeap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotateLocked(time.Now(), ttl)
	if len(c.cur)+len(c.prev) == 0 {
		// An emptied map keeps its buckets: release them too.
		c.cur, c.prev, c.sweeping = nil, nil, false
		return
	}
	timers.schedule(&c.sweep, c.rotated.Add(ttl), func() { c.sweepTick(ttl, timers) })
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
	a, ok := s.answered.get(s.answered.key(req.Method, branch, req.Source()), 64*s.t1)
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
				s.answered.put(s.answered.key(method, branch, res.Destination()), a, 64*s.t1, s.timers)
			}
		}
	}
	tx.Terminate()
}
