package server

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/net/ipv4"
)

// Batched UDP: a fan-out moves as many datagrams each way as it has
// watchers, and one system call per datagram was most of its CPU. On an
// IPv4 UDP socket sipgo reads through batchConn, which takes up to
// udpBatch datagrams per recvmmsg, matches the answers to our NOTIFYs
// itself and hands sipgo only the rest; the NOTIFYs those answers release,
// and those a PUBLISH fans out, are queued in udpQueue while the batch (or
// the burst) lasts and leave in sendmmsg calls of up to udpBatch each. No
// goroutine is added: whoever finds the queue idle sends what is in it,
// including what others queue meanwhile.

const (
	// udpBatch is how many datagrams one recvmmsg or sendmmsg call moves.
	udpBatch = 32
	// udpReadSize is one receive buffer: the largest UDP payload, as
	// sipgo reads it (the kernel only touches the pages a datagram fills).
	udpReadSize = 65535
	// maxIdleQueueBytes bounds the send buffer kept between bursts (a
	// batch of UDP NOTIFYs is at most udpBatch × MaxUDPMessage).
	maxIdleQueueBytes = 256 << 10
)

// queuedDatagram is one NOTIFY in udpQueue.buf[start:end].
type queuedDatagram struct {
	to         netip.AddrPort
	seq        uint64
	start, end int
}

// udpQueue collects UDP NOTIFYs into sendmmsg batches.
type udpQueue struct {
	pc *ipv4.PacketConn // nil: each NOTIFY is its own sendto

	mu      sync.Mutex
	holds   int  // batches or bursts in progress: queue, do not send yet
	sending bool // a goroutine is draining the queue
	buf     []byte
	out     []queuedDatagram
	// spare buffers, swapped with buf and out by the sender
	spareBuf []byte
	spareOut []queuedDatagram
	msgs     []ipv4.Message // the sender's, reused
	addrs    []net.UDPAddr  // their destinations, reused
	ips      [][4]byte      // the addresses' bytes, reused
}

// sendUDP sends (or queues) the first transmission of a UDP NOTIFY.
func (s *Server) sendUDP(out notifyOut) error {
	q := &s.udpq
	if q.pc == nil || !out.udp.IsValid() || !out.udp.Addr().Is4() {
		return s.writeUDP(*out.wire, out.udp)
	}
	q.mu.Lock()
	start := len(q.buf)
	q.buf = append(q.buf, *out.wire...)
	q.out = append(q.out, queuedDatagram{to: out.udp, seq: out.seq, start: start, end: len(q.buf)})
	if q.sending || (q.holds > 0 && len(q.out) < udpBatch) {
		q.mu.Unlock()
		return nil
	}
	// A full batch leaves at once: the queue stays one batch long.
	q.sending = true
	s.drainUDPLocked()
	return nil
}

// holdUDP makes sendUDP queue until the matching releaseUDP.
func (s *Server) holdUDP() {
	if s.udpq.pc == nil {
		return
	}
	s.udpq.mu.Lock()
	s.udpq.holds++
	s.udpq.mu.Unlock()
}

// releaseUDP ends a hold; the last one sends what was queued.
func (s *Server) releaseUDP() {
	q := &s.udpq
	if q.pc == nil {
		return
	}
	q.mu.Lock()
	q.holds--
	if q.holds > 0 || q.sending || len(q.out) == 0 {
		q.mu.Unlock()
		return
	}
	q.sending = true
	s.drainUDPLocked()
}

// drainUDPLocked sends until the queue is empty; it is called with q.mu
// held and q.sending set, and returns with q.mu released.
func (s *Server) drainUDPLocked() {
	q := &s.udpq
	for len(q.out) > 0 {
		buf, out := q.buf, q.out
		q.buf, q.out = q.spareBuf[:0], q.spareOut[:0]
		q.mu.Unlock()
		s.writeBatch(buf, out)
		clear(out)
		q.mu.Lock()
		if cap(buf) > maxIdleQueueBytes {
			buf = nil
		}
		q.spareBuf, q.spareOut = buf[:0], out[:0]
	}
	q.sending = false
	q.mu.Unlock()
}

// writeBatch sends the queued datagrams; one that the kernel refuses ends
// its NOTIFY as a transport failure (RFC 6665 §4.2.2).
func (s *Server) writeBatch(buf []byte, out []queuedDatagram) {
	q := &s.udpq
	if len(out) == 1 { // sendto is cheaper than one sendmmsg
		if err := s.writeUDP(buf[out[0].start:out[0].end], out[0].to); err != nil {
			if sub, mine := s.pending.take(out[0].seq); mine {
				s.finishNotify(sub, 0, nil, err)
			}
		}
		return
	}
	for i := 0; i < len(out); {
		n := min(len(out)-i, udpBatch)
		if len(q.msgs) < n {
			q.msgs = make([]ipv4.Message, udpBatch)
			q.addrs = make([]net.UDPAddr, udpBatch)
			q.ips = make([][4]byte, udpBatch)
			for k := range q.msgs {
				q.msgs[k].Buffers = make([][]byte, 1)
			}
		}
		for k, d := range out[i : i+n] {
			q.ips[k] = d.to.Addr().As4()
			q.addrs[k] = net.UDPAddr{IP: q.ips[k][:], Port: int(d.to.Port())}
			q.msgs[k].Buffers[0] = buf[d.start:d.end]
			q.msgs[k].Addr = &q.addrs[k]
		}
		sent, err := q.pc.WriteBatch(q.msgs[:n], 0)
		if err == nil && sent == 0 {
			err = errors.New("sendmmsg sent nothing")
		}
		i += sent
		if err != nil {
			if sub, mine := s.pending.take(out[i].seq); mine {
				s.finishNotify(sub, 0, nil, err)
			}
			i++
		}
	}
	for k := range q.msgs {
		q.msgs[k].Buffers[0] = nil // the queue's buffer is reused
	}
}

// batchConn is the UDP socket as sipgo's transport reads it: datagrams
// come in recvmmsg batches and the answers to our NOTIFYs never reach
// sipgo. Writes and everything else are the socket's own.
type batchConn struct {
	net.PacketConn
	s      *Server
	pc     *ipv4.PacketConn
	parser *sip.Parser
	msgs   []ipv4.Message
	next   int
	n      int
	held   bool
	free   func() // unmaps the receive buffers, once sipgo reads no more
}

// newBatchConn wraps an IPv4 UDP socket; ok is false for any other (it is
// then read and written one datagram at a time).
func newBatchConn(s *Server, c net.PacketConn, parser *sip.Parser) (*batchConn, bool) {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return nil, false
	}
	la, ok := uc.LocalAddr().(*net.UDPAddr)
	if !ok || la.IP.To4() == nil {
		return nil, false
	}
	bc := &batchConn{PacketConn: c, s: s, pc: ipv4.NewPacketConn(uc), parser: parser, msgs: make([]ipv4.Message, udpBatch)}
	bufs, free := mapReadBuffers(udpBatch * udpReadSize)
	bc.free = free
	for i := range bc.msgs {
		bc.msgs[i].Buffers = [][]byte{bufs[i*udpReadSize : (i+1)*udpReadSize : (i+1)*udpReadSize]}
	}
	return bc, true
}

// ReadFrom returns the next datagram that is not an answer to one of our
// NOTIFYs. The NOTIFYs that a batch's answers release leave together when
// the batch is done, or before a datagram goes to sipgo.
func (c *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		if c.next < c.n {
			m := &c.msgs[c.next]
			c.next++
			data := m.Buffers[0][:m.N]
			if !c.held {
				c.s.holdUDP()
				c.held = true
			}
			if c.s.takeUDPAnswer(c.parser, data) {
				continue
			}
			c.s.releaseUDP()
			c.held = false
			return copy(p, data), m.Addr, nil
		}
		if c.held {
			c.s.releaseUDP()
			c.held = false
		}
		n, err := c.pc.ReadBatch(c.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		c.next, c.n = 0, n
	}
}
