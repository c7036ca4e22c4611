package server

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/header"
)

// notifyDialTimeout bounds connecting to a subscriber for a NOTIFY.
const notifyDialTimeout = 5 * time.Second

// notifyQueue is the FIFO of subscriptions that owe their subscriber a
// NOTIFY. A subscription is in it at most once (subscription.queued), so it
// is bounded by the number of subscriptions.
type notifyQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []*subscription
	head   int
	closed bool
}

func newNotifyQueue() *notifyQueue {
	q := &notifyQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *notifyQueue) add(subs ...*subscription) {
	if len(subs) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, subs...)
	q.mu.Unlock()
	if len(subs) == 1 {
		q.cond.Signal()
	} else {
		q.cond.Broadcast()
	}
}

// take blocks until there is work and returns up to max subscriptions, or
// nil once the queue is closed.
func (q *notifyQueue) take(max int, buf []*subscription) []*subscription {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	n := min(max, len(q.items)-q.head)
	buf = append(buf[:0], q.items[q.head:q.head+n]...)
	clear(q.items[q.head : q.head+n])
	q.head += n
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		q.items = slices.Delete(q.items, 0, q.head)
		q.head = 0
	}
	return buf
}

func (q *notifyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// push schedules a NOTIFY with the subscription's current state. While one
// is in flight the change is remembered and sent when it completes, so
// NOTIFYs of one dialog never overlap and the newest state always wins.
func (s *Server) push(sub *subscription) {
	sub.mu.Lock()
	switch {
	case sub.final, sub.queued:
	case sub.inflight:
		sub.dirty = true
	default:
		sub.queued = true
		sub.mu.Unlock()
		s.queue.add(sub)
		return
	}
	sub.mu.Unlock()
}

// notifyWatchers queues a NOTIFY for every watcher that sees p's document.
// Pending and polite-blocked watchers see no change and get none.
func (s *Server) notifyWatchers(p *presentity) {
	p.mu.Lock()
	cur := p.doc.Load()
	subs := make([]*subscription, 0, len(p.watchers))
	for sub := range p.watchers {
		sub.mu.Lock()
		if sub.state == subActive && !sub.polite && !sub.final && sub.sentDoc != cur {
			if sub.inflight {
				sub.dirty = true
			} else if !sub.queued {
				sub.queued = true
				subs = append(subs, sub)
			}
		}
		sub.mu.Unlock()
	}
	p.mu.Unlock()
	s.queue.add(subs...)
}

// winfoChanged queues a watcher-info NOTIFY for each of p's winfo
// subscriptions.
func (s *Server) winfoChanged(p *presentity) {
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.winfo))
	for sub := range p.winfo {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	for _, sub := range subs {
		s.push(sub)
	}
}

// watcherList is the watcher-info content for p.
func (s *Server) watcherList(p *presentity) []winfoWatcher {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]winfoWatcher, 0, len(p.watchers)+len(p.gone))
	for sub := range p.watchers {
		sub.mu.Lock()
		w := winfoWatcher{ID: watcherID(sub), URI: sub.watcher, Status: stateName(sub.state), Event: sub.winfoEvent}
		sub.mu.Unlock()
		if w.Status == header.StateTerminated {
			continue // listed from p.gone
		}
		out = append(out, w)
	}
	now := time.Now()
	for _, g := range p.gone {
		if now.Sub(g.at) < goneWatcherTTL {
			out = append(out, winfoWatcher{ID: g.id, URI: g.uri, Status: header.StateTerminated, Event: g.event})
		}
	}
	slices.SortFunc(out, func(a, b winfoWatcher) int {
		if a.URI != b.URI {
			if a.URI < b.URI {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

type pendingNotify struct {
	sub *subscription
	tx  sip.ClientTransaction
}

// prebuilt tells sipgo the request is complete: no header is added.
func prebuilt(*sipgo.Client, *sip.Request) error { return nil }

// notifyWorker sends queued NOTIFYs. It takes a batch, starts every
// transaction, then collects the answers: a few workers keep hundreds of
// NOTIFYs in flight without a goroutine per subscriber.
func (s *Server) notifyWorker() {
	defer s.workers.Done()
	var batch []*subscription
	inflight := make([]pendingNotify, 0, notifyBatch)
	for {
		batch = s.queue.take(notifyBatch, batch)
		if batch == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), notifyDialTimeout)
		inflight = inflight[:0]
		for i, sub := range batch {
			batch[i] = nil
			req := s.buildNotify(sub)
			tx, err := s.cli.TransactionRequest(ctx, req, prebuilt)
			if err != nil {
				s.notifyDone(sub, nil, err)
				continue
			}
			inflight = append(inflight, pendingNotify{sub, tx})
		}
		cancel()
		for i, pn := range inflight {
			res, err := s.awaitFinal(pn.tx)
			pn.tx.Terminate()
			s.notifyDone(pn.sub, res, err)
			inflight[i] = pendingNotify{}
		}
	}
}

func (s *Server) awaitFinal(tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-s.closed:
			return nil, ErrClosed
		}
	}
}

// notifyDone records a NOTIFY's outcome: RFC 6665 §4.2.2 removes the
// subscription on 481, on a timeout and on a transport failure.
func (s *Server) notifyDone(sub *subscription, res *sip.Response, err error) {
	failed := ""
	switch {
	case err != nil:
		failed = err.Error()
	case res.StatusCode == 481 || res.StatusCode == 408:
		failed = strconv.Itoa(res.StatusCode) + " " + res.Reason
	case !res.IsSuccess():
		s.log.Info("NOTIFY rejected", "watcher", sub.watcher, "presentity", sub.pres.aor, "status", res.StatusCode)
	}
	sub.mu.Lock()
	sub.inflight = false
	again := sub.dirty && !sub.final && failed == ""
	sub.dirty = false
	if again {
		sub.queued = true
	}
	sub.mu.Unlock()
	if failed != "" {
		s.drop(sub, "NOTIFY failed: "+failed)
		return
	}
	if again {
		s.queue.add(sub)
	}
}

// buildNotify makes the next NOTIFY of sub's dialog from its current state.
func (s *Server) buildNotify(sub *subscription) *sip.Request {
	var watchers []winfoWatcher
	if sub.kind == kindWinfo {
		// Outside sub.mu: the lock order is presentity, then watcher.
		watchers = s.watcherList(sub.pres)
	}

	sub.mu.Lock()
	sub.queued, sub.inflight, sub.dirty = false, true, false
	sub.cseq++
	var state string
	switch sub.state {
	case subActive:
		state = "active;expires=" + strconv.Itoa(seconds(time.Until(sub.expires)))
	case subPending:
		state = "pending;expires=" + strconv.Itoa(seconds(time.Until(sub.expires)))
	default:
		state = "terminated;reason=" + sub.reason
		sub.final = true
	}
	showState := sub.state == subActive || (sub.state == subTerminated && sub.withBody)
	var body []byte
	var ctype string
	if showState {
		if sub.kind == kindWinfo {
			body = encodeWinfo(sub.pres.aor, sub.winfoVer, watchers)
			sub.winfoVer++
			ctype = "application/watcherinfo+xml"
		} else {
			if sub.polite {
				body = sub.pres.neutral
			} else {
				doc := sub.pres.doc.Load()
				body, sub.sentDoc = *doc, doc
			}
			ctype = "application/pidf+xml"
		}
	}
	target := sub.target
	transport, dest, cseq := sub.transport, sub.dest, sub.cseq
	sub.mu.Unlock()

	req := sip.NewRequest(sip.NOTIFY, target)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	req.AppendHeader(via)
	req.AppendHeader(&sip.FromHeader{Address: sub.local, Params: sip.HeaderParams{{K: "tag", V: sub.localTag}}})
	req.AppendHeader(&sip.ToHeader{Address: sub.remote, Params: sip.HeaderParams{{K: "tag", V: sub.remoteTag}}})
	callID := sip.CallIDHeader(sub.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&sip.ContactHeader{Address: s.contactURI(transport)})
	req.AppendHeader(sip.NewHeader("Event", sub.event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	req.SetBody(body)

	if transport == "UDP" && len(body) > MaxUDPMessage/2 && len(req.String()) > MaxUDPMessage && s.hasTCP() {
		// sipgo refuses UDP datagrams over 1300 bytes; RFC 3261 §18.1.1
		// sends such requests over TCP, which every UA must support.
		transport, dest = "TCP", hostPort(target, 5060)
		via.Transport = "TCP"
		req.ReplaceHeader(&sip.ContactHeader{Address: s.contactURI("TCP")})
	}
	req.SetTransport(transport)
	req.SetDestination(dest)
	if transport == "UDP" {
		// Send from the listening socket, so the subscriber sees our
		// address and its answer comes back to us.
		addr, _ := s.listenAddr("UDP")
		if host, port, err := sip.ParseAddr(addr); err == nil {
			req.Laddr = sip.Addr{IP: parseIP(host), Port: port}
		}
	}
	return req
}
