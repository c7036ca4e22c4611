package server

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

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
		s.enqueue(sub)
		return
	}
	sub.mu.Unlock()
}

// enqueue hands subscriptions marked queued to the scheduler and sends what
// it lets through at once.
func (s *Server) enqueue(subs ...*subscription) {
	if len(subs) > 0 {
		s.startNotifies(s.sched.admit(nil, subs...))
	}
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
	s.enqueue(subs...)
	s.memberChanged(p)
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

// watcherList is the watcher-info content for p: its watchers, those who
// see it through a resource list, and the recently gone.
func (s *Server) watcherList(p *presentity) []winfoWatcher {
	viaLists := s.listWatchers(p)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]winfoWatcher, 0, len(p.watchers)+len(p.gone)+len(viaLists))
	out = append(out, viaLists...)
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
		if ra, rb := statusRank(a.Status), statusRank(b.Status); ra != rb {
			return ra - rb
		}
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

// notifyDone records a NOTIFY's outcome: RFC 6665 §4.2.2 removes the
// subscription on 481, on a timeout and on a transport failure.
func (s *Server) notifyDone(sub *subscription, status int, reason []byte, err error) {
	failed := ""
	switch {
	case err != nil:
		failed = err.Error()
	case status == 481 || status == 408:
		failed = strconv.Itoa(status) + " " + string(reason)
	case status < 200 || status > 299:
		s.log.Info("NOTIFY rejected", "watcher", sub.watcher, "presentity", sub.pres.aor, "status", status)
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
		s.enqueue(sub)
	}
}

// statusRank orders a watcher list by what the owner must see first.
func statusRank(status string) int {
	switch status {
	case header.StatePending:
		return 0
	case header.StateActive:
		return 1
	}
	return 2
}

// notifyOut is one NOTIFY ready to send.
type notifyOut struct {
	wire      *[]byte
	seq       uint64 // the branch's number
	transport string // "UDP", "TCP" or "TLS"
	dest      string // host:port
	udp       netip.AddrPort
	target    string // Request-URI
}

// buildNotify makes the next NOTIFY of sub's dialog from its current state
// and opens its transaction; ok is false when there is nothing to send (the
// subscription was dropped while it waited, or no socket serves it).
func (s *Server) buildNotify(sub *subscription) (out notifyOut, ok bool) {
	var watchers []winfoWatcher
	if sub.kind == kindWinfo {
		// Outside sub.mu: the lock order is presentity, then watcher.
		watchers = s.watcherList(sub.pres)
	}
	parts := s.wire.Load()

	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.final || parts == nil {
		sub.queued = false
		return out, false
	}
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
		switch sub.kind {
		case kindWinfo:
			body = s.encodeWinfo(sub.pres.aor, sub.winfoVer, watchers)
			sub.winfoVer++
			ctype = "application/watcherinfo+xml"
		case kindXcapDiff:
			body, ctype = s.xcapDiffBody(sub), xcapdiff.ContentType
		case kindList:
			body, ctype = s.listBody(sub)
		default:
			if sub.polite {
				body = sub.pres.neutral
			} else {
				doc := sub.pres.doc.Load()
				body, sub.sentDoc = *doc, doc
			}
			ctype = "application/pidf+xml"
		}
	}
	return s.openNotify(sub, parts, state, ctype, body), true
}
