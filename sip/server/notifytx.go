package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// NOTIFY client transactions, a narrow fast path beside sipgo's: the server
// writes each NOTIFY as prepared bytes on sipgo's sockets (the UDP listener,
// or the subscriber's TCP connection from sipgo's pool, dialled through
// sipgo when there is none) and sipgo's transport reads and parses the
// answers, which reach onNotifyResponse as responses no sipgo transaction
// claims. The state RFC 3261 §17.1.2 needs for a non-INVITE client
// transaction (branch, the bytes to retransmit, Timer E and F) lives in the
// subscription itself, at most one per dialog, and is released with the
// final answer: no goroutine, channel or runtime timer per NOTIFY.

// notifyDialTimeout bounds connecting to a subscriber for a NOTIFY.
const notifyDialTimeout = 5 * time.Second

var (
	errNotifyTimeout = errors.New("no answer before Timer F")
	errNoSocket      = errors.New("no socket for the transport")
)

// notifyTx is the client transaction of a subscription's NOTIFY in flight,
// guarded by the subscription's mutex.
type notifyTx struct {
	seq           uint64         // the branch's number; 0 when none is in flight
	wire          *[]byte        // the NOTIFY as sent, kept for UDP retransmissions
	udp           netip.AddrPort // destination of a UDP NOTIFY
	interval      time.Duration  // Timer E
	deadline      time.Time      // Timer F
	retransmitted bool
	timer         timerEntry
	fire          func()
}

// wireParts are the listener-dependent pieces of every NOTIFY.
type wireParts struct {
	viaUDP, viaTCP, viaTLS             string // "Via: SIP/2.0/UDP host:port;branch="
	contactUDP, contactTCP, contactTLS string // "Contact: <...>\r\n"
}

// stream returns the Via and Contact lines of a stream transport ("TCP"
// or "TLS").
func (p *wireParts) stream(transport string) (via, contact string) {
	if transport == "TLS" {
		return p.viaTLS, p.contactTLS
	}
	return p.viaTCP, p.contactTCP
}

var wirePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getWire() *[]byte { return wirePool.Get().(*[]byte) }

func putWire(b *[]byte) {
	if b == nil || cap(*b) > 128<<10 {
		return
	}
	*b = (*b)[:0]
	wirePool.Put(b)
}

// setWireParts prepares the Via and Contact lines once the listeners are
// known.
func (s *Server) setWireParts() {
	p := &wireParts{}
	for _, tp := range []string{"UDP", "TCP", "TLS"} {
		addr, kind := s.listenAddr(tp)
		via := "Via: SIP/2.0/" + strings.ToUpper(kind) + " " + addr + ";branch="
		u := s.contactURI(tp)
		contact := "Contact: <" + u.String() + ">\r\n"
		switch tp {
		case "UDP":
			p.viaUDP, p.contactUDP = via, contact
		case "TCP":
			p.viaTCP, p.contactTCP = via, contact
		default:
			p.viaTLS, p.contactTLS = via, contact
		}
	}
	s.wire.Store(p)
}

// dialogLines are the NOTIFY header lines fixed for a dialog's life.
func dialogLines(local, remote sip.Uri, localTag, remoteTag, callID, event string) string {
	var b strings.Builder
	from := sip.FromHeader{Address: local, Params: sip.HeaderParams{{K: "tag", V: localTag}}}
	to := sip.ToHeader{Address: remote, Params: sip.HeaderParams{{K: "tag", V: remoteTag}}}
	from.StringWrite(&b)
	b.WriteString("\r\n")
	to.StringWrite(&b)
	b.WriteString("\r\nCall-ID: " + callID + "\r\nMax-Forwards: 70\r\nEvent: " + event + "\r\n")
	return b.String()
}

const (
	notifyLinePrefix = "NOTIFY "
	notifyLineSuffix = " SIP/2.0\r\n"
)

func requestLine(target sip.Uri) string {
	return notifyLinePrefix + target.String() + notifyLineSuffix
}

// parseTarget reads back a NOTIFY's Request-URI (subscription.target), for
// the rare paths that need its parts.
func parseTarget(target string) (sip.Uri, error) {
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return u, fmt.Errorf("the subscriber's Contact %q does not read back as a URI: %w", target, err)
	}
	return u, nil
}

// appendNotify writes a whole NOTIFY.
func (s *Server) appendNotify(buf []byte, sub *subscription, via, contact string, seq uint64, cseq uint32, state, ctype string, body []byte) []byte {
	buf = append(buf, sub.reqLine...)
	buf = append(buf, via...)
	buf = s.appendBranch(buf, seq)
	buf = append(buf, "\r\n"...)
	buf = append(buf, sub.dialogHdrs...)
	buf = append(buf, "CSeq: "...)
	buf = strconv.AppendUint(buf, uint64(cseq), 10)
	buf = append(buf, " NOTIFY\r\n"...)
	buf = append(buf, contact...)
	buf = append(buf, "Subscription-State: "...)
	buf = append(buf, state...)
	buf = append(buf, "\r\n"...)
	if body != nil {
		buf = append(buf, "Content-Type: "...)
		buf = append(buf, ctype...)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "Content-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// appendBranch writes the branch of NOTIFY number seq: the magic cookie,
// this server's random prefix and seq in base 36.
func (s *Server) appendBranch(buf []byte, seq uint64) []byte {
	buf = append(buf, s.branchMark...)
	return strconv.AppendUint(buf, seq, 36)
}

// branchSeq is the number of one of our branches; ok is false for a branch
// that is not ours.
func (s *Server) branchSeq(branch []byte) (seq uint64, ok bool) {
	if !bytes.HasPrefix(branch, s.branchMark) {
		return 0, false
	}
	digits := branch[len(s.branchMark):]
	if len(digits) == 0 || len(digits) > 13 || digits[0] == '0' {
		return 0, false // strconv.AppendUint writes no leading zero
	}
	for _, c := range digits {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'z':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		seq = seq*36 + uint64(d)
	}
	return seq, true
}

// openNotify writes sub's next NOTIFY and opens its client transaction:
// the branch joins s.pending when sent, Timer E (UDP) and F start. The
// caller holds sub.mu.
func (s *Server) openNotify(sub *subscription, parts *wireParts, state, ctype string, body []byte) notifyOut {
	out := notifyOut{wire: getWire(), seq: s.branchNext.Add(1), transport: sub.transport, dest: sub.dest, udp: sub.udp, target: sub.target()}
	via, contact := parts.viaUDP, parts.contactUDP
	if out.transport != "UDP" {
		via, contact = parts.stream(out.transport)
	}
	*out.wire = s.appendNotify((*out.wire)[:0], sub, via, contact, out.seq, sub.cseq, state, ctype, body)
	if out.transport == "UDP" && len(*out.wire) > MaxUDPMessage && s.hasTCP() {
		// RFC 3261 §18.1.1: a request over 1300 bytes goes over a
		// congestion-controlled transport; every UA supports TCP. The
		// decision is on the final bytes.
		if u, err := parseTarget(out.target); err == nil {
			out.transport, out.dest = "TCP", hostPort(u, 5060)
		} else {
			out.transport, out.dest = "TCP", ""
		}
		*out.wire = s.appendNotify((*out.wire)[:0], sub, parts.viaTCP, parts.contactTCP, out.seq, sub.cseq, state, ctype, body)
	}
	tx := &sub.tx
	tx.seq, tx.wire, tx.udp, tx.retransmitted = out.seq, out.wire, out.udp, false
	now := time.Now()
	tx.deadline = now.Add(64 * s.t1) // Timer F
	if tx.fire == nil {
		tx.fire = func() { s.notifyTimer(sub) }
	}
	if out.transport == "UDP" {
		tx.interval = s.t1 // Timer E
		s.timers.schedule(&tx.timer, now.Add(tx.interval), tx.fire)
	} else {
		s.timers.schedule(&tx.timer, tx.deadline, tx.fire)
	}
	return out
}

// startNotifies sends the NOTIFYs the scheduler granted a slot.
func (s *Server) startNotifies(subs []*subscription) {
	if len(subs) == 0 {
		return
	}
	s.holdUDP() // one burst, sent in batches
	for i, sub := range subs {
		s.startNotify(sub)
		subs[i] = nil
	}
	s.releaseUDP()
}

func (s *Server) startNotify(sub *subscription) {
	out, ok := s.buildNotify(sub)
	if !ok {
		s.startNotifies(s.sched.release(nil, sub, false))
		return
	}
	s.pending.put(out.seq, sub)
	var err error
	switch {
	case out.transport == "UDP":
		err = s.sendUDP(out)
	default:
		s.sendStream(sub, out)
	}
	if err != nil {
		if _, mine := s.pending.take(out.seq); mine {
			s.finishNotify(sub, 0, nil, err)
		}
	}
}

func (s *Server) writeUDP(b []byte, to netip.AddrPort) error {
	switch c := s.udpConn.(type) {
	case *net.UDPConn:
		_, err := c.WriteToUDPAddrPort(b, to)
		return err
	case nil:
		return errNoSocket
	default:
		_, err := c.WriteTo(b, net.UDPAddrFromAddrPort(to))
		return err
	}
}

// notifyTimer is Timer E (UDP retransmission) and Timer F (give up) of a
// NOTIFY in flight; it runs on the timer goroutine and never blocks.
func (s *Server) notifyTimer(sub *subscription) {
	sub.mu.Lock()
	tx := &sub.tx
	if tx.seq == 0 {
		sub.mu.Unlock()
		return
	}
	now := time.Now()
	if !now.Before(tx.deadline) {
		seq := tx.seq
		sub.mu.Unlock()
		if _, mine := s.pending.take(seq); mine {
			s.finishNotify(sub, 0, nil, errNotifyTimeout)
		}
		return
	}
	first := false
	if tx.wire != nil { // unreliable: Timer E
		first = !tx.retransmitted
		tx.retransmitted = true
		_ = s.writeUDP(*tx.wire, tx.udp) // a lost retransmission is retried at the next Timer E
		tx.interval = min(2*tx.interval, s.t2)
		s.timers.schedule(&tx.timer, minTime(now.Add(tx.interval), tx.deadline), tx.fire)
	} else {
		s.timers.schedule(&tx.timer, tx.deadline, tx.fire)
	}
	key := sub.slotFlow
	sub.mu.Unlock()
	if first {
		s.sched.shrink(key)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// onNotifyResponse matches an answer sipgo parsed (TCP and TLS, and UDP
// answers the narrow reader declined) to a NOTIFY in flight.
func (s *Server) onNotifyResponse(res *sip.Response) {
	via := res.Via()
	if via == nil {
		return
	}
	branch, _ := via.Params.Get("branch")
	if seq, ok := s.branchSeq([]byte(branch)); ok {
		s.onAnswer(seq, res.StatusCode, []byte(res.Reason))
		return
	}
	s.log.Debug("response to no request of ours", "response", res.StartLine())
}

// onAnswer ends (or, for a provisional answer, prolongs) NOTIFY number seq.
func (s *Server) onAnswer(seq uint64, status int, reason []byte) {
	if status < 200 {
		// RFC 3261 §17.1.2.2: Proceeding, retransmit every T2 until Timer F.
		if sub, ok := s.pending.get(seq); ok {
			sub.mu.Lock()
			if sub.tx.seq == seq {
				sub.tx.interval = s.t2
			}
			sub.mu.Unlock()
		}
		return
	}
	sub, ok := s.pending.take(seq)
	if !ok {
		s.log.Debug("unmatched answer (retransmission)", "status", status)
		return
	}
	s.finishNotify(sub, status, reason, nil)
}

// filterNotifyAnswer takes the answers to our UDP NOTIFYs out of sipgo's
// path before its transaction layer starts a goroutine for each: a datagram
// that is a response carrying one of our branches is read (by the narrow
// reader, or sipgo's parser where it declines) and matched here, on the
// reading goroutine. Everything else goes on to sipgo unchanged.
func (s *Server) filterNotifyAnswer(parser *sip.Parser, p sip.TransportReadProps, data []byte) []byte {
	if p.Transport == "UDP" && s.takeUDPAnswer(parser, data) {
		return nil
	}
	return data
}

// takeUDPAnswer reports whether data is an answer to one of our NOTIFYs,
// and if so matches it.
func (s *Server) takeUDPAnswer(parser *sip.Parser, data []byte) bool {
	if !bytes.HasPrefix(data, []byte("SIP/2.0 ")) || !bytes.Contains(data[:min(len(data), 1024)], s.branchMark) {
		return false
	}
	if a, ok := readAnswer(data); ok {
		seq, ours := s.branchSeq(a.branch)
		if ours {
			s.onAnswer(seq, a.status, a.reason)
		}
		return ours
	}
	msg, err := parser.ParseSIP(data)
	res, ok := msg.(*sip.Response)
	if err != nil || !ok {
		return false // sipgo logs and answers what it cannot parse
	}
	s.onNotifyResponse(res)
	return true
}

// finishNotify ends the NOTIFY transaction of sub (taken from s.pending by
// the caller, so exactly once) and starts what its slot now allows.
func (s *Server) finishNotify(sub *subscription, status int, reason []byte, err error) {
	sub.mu.Lock()
	s.timers.cancel(&sub.tx.timer)
	wire := sub.tx.wire
	sub.tx.wire, sub.tx.seq = nil, 0
	answered := err == nil && !sub.tx.retransmitted
	sub.mu.Unlock()
	putWire(wire)
	start := s.sched.release(nil, sub, answered)
	s.notifyDone(sub, status, reason, err)
	s.startNotifies(start)
}

// streamWriter batches the NOTIFYs queued for one TCP (or TLS) connection
// into single writes. Its goroutine runs only while bytes are queued, so a
// subscriber that stops reading blocks its own connection and no one else.
type streamWriter struct {
	key  string // transport and destination
	mu   sync.Mutex
	buf  []byte
	seqs []uint64 // the NOTIFYs whose bytes are in buf
	// spare buffers of the writing goroutine, kept with the writer when
	// it is pooled
	spare     []byte
	spareSeqs []uint64
	running   bool
}

// writerPool keeps idle stream writers with their buffers: a burst to a
// connection would otherwise grow new ones each time.
var writerPool = sync.Pool{New: func() any { return new(streamWriter) }}

func (s *Server) sendStream(sub *subscription, out notifyOut) {
	key := out.transport + " " + out.dest
	s.writersMu.Lock()
	w := s.writers[key]
	if w == nil {
		w = writerPool.Get().(*streamWriter)
		w.key = key
		s.writers[key] = w
	}
	w.mu.Lock()
	w.buf = append(w.buf, *out.wire...)
	w.seqs = append(w.seqs, out.seq)
	start := !w.running
	w.running = true
	w.mu.Unlock()
	s.writersMu.Unlock()
	// A reliable transport retransmits for us: the bytes are not kept. The
	// answer may have come already and its finishNotify released them.
	sub.mu.Lock()
	mine := sub.tx.seq == out.seq && sub.tx.wire == out.wire
	if mine {
		sub.tx.wire = nil
	}
	sub.mu.Unlock()
	if mine {
		putWire(out.wire)
	}
	if start {
		s.workers.Add(1)
		go s.writeLoop(w, out)
	}
}

func (s *Server) writeLoop(w *streamWriter, out notifyOut) {
	defer s.workers.Done()
	conn, err := s.streamConn(out)
	spare, spareSeqs := w.spare, w.spareSeqs
	for {
		s.writersMu.Lock()
		w.mu.Lock()
		if len(w.buf) == 0 {
			w.running = false
			delete(s.writers, w.key)
			w.mu.Unlock()
			s.writersMu.Unlock()
			// No one can reach w any more: its buffers serve the next burst.
			if cap(spare) <= maxIdleQueueBytes && cap(w.buf) <= maxIdleQueueBytes {
				w.key, w.spare, w.spareSeqs = "", spare, spareSeqs
				writerPool.Put(w)
			}
			break
		}
		buf, seqs := w.buf, w.seqs
		w.buf, w.seqs = spare[:0], spareSeqs[:0]
		w.mu.Unlock()
		s.writersMu.Unlock()
		if err == nil {
			_, err = conn.(io.Writer).Write(buf)
		}
		if err != nil {
			for _, seq := range seqs {
				if sub, mine := s.pending.take(seq); mine {
					s.finishNotify(sub, 0, nil, err)
				}
			}
		}
		spare, spareSeqs = buf[:0], seqs[:0]
	}
	if conn != nil {
		conn.TryClose()
	}
}

// streamConn is the connection to write to: the subscriber's own from
// sipgo's pool, or a new one dialled through sipgo so the answers are read
// and parsed there.
func (s *Server) streamConn(out notifyOut) (sip.Connection, error) {
	network := strings.ToLower(out.transport)
	tl := s.ua.TransportLayer()
	if c, err := tl.GetConnection(network, out.dest); err == nil {
		return checkWriter(c)
	}
	target, err := parseTarget(out.target)
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: out.transport, Params: sip.NewParams()}
	via.Params.Add("branch", string(s.appendBranch(nil, out.seq)))
	req.AppendHeader(via)
	req.SetTransport(out.transport)
	req.SetDestination(out.dest)
	ctx, cancel := context.WithTimeout(context.Background(), notifyDialTimeout)
	defer cancel()
	c, err := tl.ClientRequestConnection(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", out.dest, err)
	}
	return checkWriter(c)
}

func checkWriter(c sip.Connection) (sip.Connection, error) {
	if _, ok := c.(io.Writer); !ok {
		c.TryClose()
		return nil, fmt.Errorf("sipgo connection %T cannot write bytes", c)
	}
	return c, nil
}

// pendingTable holds the NOTIFYs in flight by branch number, in
// independently locked shards.
type pendingTable struct {
	shards [shardCount]struct {
		mu sync.Mutex
		m  map[uint64]*subscription
	}
}

func (t *pendingTable) init() {
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]*subscription)
	}
}

func (t *pendingTable) put(seq uint64, sub *subscription) {
	sh := &t.shards[seq%shardCount]
	sh.mu.Lock()
	sh.m[seq] = sub
	sh.mu.Unlock()
}

func (t *pendingTable) get(seq uint64) (*subscription, bool) {
	sh := &t.shards[seq%shardCount]
	sh.mu.Lock()
	sub, ok := sh.m[seq]
	sh.mu.Unlock()
	return sub, ok
}

// take removes seq: of concurrent callers exactly one gets ok.
func (t *pendingTable) take(seq uint64) (*subscription, bool) {
	sh := &t.shards[seq%shardCount]
	sh.mu.Lock()
	sub, ok := sh.m[seq]
	if ok {
		delete(sh.m, seq)
	}
	sh.mu.Unlock()
	return sub, ok
}

func (t *pendingTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
