package ua

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/rlmi"
)

// Resource list subscriptions (RFC 4662). One SUBSCRIBE with Supported:
// eventlist to the account's list service (python-sipsimple's convention is
// sip:<user>+presence@<domain>) replaces one per buddy: the server's NOTIFYs
// carry an RLMI document and one PIDF per member, full state first, then
// partial state as members change. The UA turns each member's state into
// the same PresenceEvent and SubscriptionEvent a per-buddy subscription
// gives, so the layers above see buddies, not lists.
//
// Whether the server serves the URI as a list shows in its answer: a list
// server puts Require: eventlist in its NOTIFYs (and its 2xx); a server
// that answers a plain presence NOTIFY instead is not one, and the list
// subscription ends with ListEvent{Mode: ListRefused} so that the caller
// can fall back to one subscription per buddy.

// ListMode says how the buddy list is watched.
type ListMode int

// List modes.
const (
	// ListPending: the list SUBSCRIBE is on its way or awaits its first
	// NOTIFY.
	ListPending ListMode = iota
	// ListActive: the server serves the list (RFC 4662).
	ListActive
	// ListRefused: the server does not serve the URI as a list, or
	// refused the subscription; watch each buddy instead.
	ListRefused
)

// String names the ListMode for the debug view.
func (m ListMode) String() string {
	switch m {
	case ListPending:
		return "pending"
	case ListActive:
		return "list subscription (RLS)"
	case ListRefused:
		return "refused"
	}
	return fmt.Sprintf("ListMode(%d)", int(m))
}

// ListEvent reports the state of the list subscription.
type ListEvent struct {
	URI  string
	Mode ListMode
	// Members is the number of resources in the last full state.
	Members int
	// Version is the RLMI version of the last NOTIFY applied.
	Version uint32
	// Reason says why the list was refused, in words.
	Reason string
}

func (ListEvent) isEvent() {}

// String describes the ListEvent for logs and the debug view.
func (e ListEvent) String() string {
	s := fmt.Sprintf("list %s %s members=%d version=%d", e.URI, e.Mode, e.Members, e.Version)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// listState is the RLMI bookkeeping of a list subscription, guarded by the
// subscription's mutex; it starts over with every dialog.
type listState struct {
	mode     ListMode
	version  uint32
	haveFull bool
	// askedFull is set when a refresh was sent to get full state back (a
	// version gap); a partial NOTIFY after it means the server sends full
	// state only to a new subscription (Kamailio): a new dialog follows.
	askedFull bool
	members   map[string]string // AOR key -> the URI as the server wrote it
}

// listAccept is the Accept of a list SUBSCRIBE (RFC 4662 §4.2).
const listAccept = rlmi.MultipartType + ", " + rlmi.ContentType + ", application/pidf+xml"

// SubscribeList starts watching the resource list served under uri with one
// subscription. It never blocks; events come as ListEvent and as the
// members' PresenceEvent and SubscriptionEvent.
func (u *UA) SubscribeList(uri string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.slotFreeLocked(&u.list) {
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil || target.User == "" || target.Host == "" {
		u.emit(ListEvent{URI: uri, Mode: ListRefused, Reason: fmt.Sprintf("%q is not a SIP address", uri)})
		return
	}
	s := newSubscription(u, uri, target, header.EventPresence)
	s.list = &listState{}
	s.accept = listAccept
	u.setSubLocked(&u.list, s)
}

// UnsubscribeList ends the list subscription.
func (u *UA) UnsubscribeList() {
	u.stopSub(&u.list)
}

// requiresEventlist reports whether m carries Require: eventlist.
func requiresEventlist(m interface{ GetHeaders(string) []sip.Header }) bool {
	for _, h := range m.GetHeaders("Require") {
		for _, tok := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "eventlist") {
				return true
			}
		}
	}
	return false
}

// refuseListLocked ends the list subscription for good: the server does
// not serve it as a list.
func (s *subscription) refuseListLocked(reason string) {
	s.wanted = false // run() unsubscribes the dialog, if any, and stops
	s.list.mode = ListRefused
	s.u.log.Info("no resource list service: watching each buddy instead", "uri", s.uri, "reason", reason)
	s.u.emit(ListEvent{URI: s.uri, Mode: ListRefused, Reason: reason})
	s.poke() // run() sees !wanted and unsubscribes the dialog it has
}

// deliverListLocked applies one NOTIFY of a list subscription.
func (s *subscription) deliverListLocked(req *sip.Request, ctype string) {
	u := s.u
	l := s.list
	if !rlmi.IsList(ctype) || !requiresEventlist(req) {
		if l.mode == ListPending {
			s.refuseListLocked(fmt.Sprintf("%s answered with a plain presence document, not a resource list", s.uri))
		}
		return
	}
	list, err := rlmi.Parse(req.ContentType().Value(), req.Body())
	if err != nil {
		u.log.Warn("NOTIFY with a bad resource list body: refreshing for full state", "uri", s.uri, "error", err)
		s.kicked = true
		return
	}
	switch {
	case list.FullState:
		l.haveFull = true
	case !l.haveFull || list.Version != l.version+1:
		// RFC 4662 §5.2: a gap in versions means lost partial state;
		// a refresh makes the server send full state again. Kamailio's
		// rls sends full state only to a new subscription: when partial
		// state follows the refresh, a new dialog gets it.
		if !l.haveFull || list.Version > l.version {
			if l.askedFull {
				u.log.Info("resource list: no full state after a refresh: subscribing anew", "uri", s.uri)
				l.askedFull = false
				s.dropLocked() // the notifier's next NOTIFY on it gets 481
				s.retryNowLocked(-1)
				return
			}
			u.log.Info("resource list version gap: refreshing for full state", "uri", s.uri, "have", l.version, "got", list.Version)
			l.askedFull = true
			s.kicked = true
		}
		return
	}
	l.askedFull = false
	l.version = list.Version
	if l.mode != ListActive {
		l.mode = ListActive
	}
	seen := map[string]string{}
	for _, r := range list.Resources {
		key := subKey(r.URI)
		seen[key] = r.URI
		st, reason := r.State()
		switch st {
		case header.StateActive:
			u.emit(SubscriptionEvent{URI: r.URI, Package: header.EventPresence, State: Active})
		case header.StatePending:
			if len(r.Instances) == 0 {
				// No state yet: Kamailio's first full state lists bare
				// resources (their state follows), and a member that
				// never published stays so. Nothing is known to show.
				u.emit(SubscriptionEvent{URI: r.URI, Package: header.EventPresence, State: Pending, Reason: "no state from the list server yet"})
				break
			}
			u.emit(SubscriptionEvent{URI: r.URI, Package: header.EventPresence, State: Pending, Reason: "awaiting authorization"})
		default:
			if reason == "" {
				reason = "terminated"
			}
			u.emit(SubscriptionEvent{URI: r.URI, Package: header.EventPresence, State: Terminated, Reason: reason})
		}
		for _, p := range r.Parts {
			if p.ContentType != "application/pidf+xml" {
				continue
			}
			ps, err := pidf.Parse(p.Body)
			if err != nil {
				u.log.Warn("resource list member with a bad PIDF document", "uri", r.URI, "error", err)
				continue
			}
			u.emit(PresenceEvent{URI: r.URI, State: ps})
		}
	}
	if list.FullState {
		// A member of the old full state that the new one lacks has left
		// the list (RFC 4662 §5.2: full state lists every resource).
		for key, uri := range l.members {
			if _, ok := seen[key]; !ok {
				u.emit(SubscriptionEvent{URI: uri, Package: header.EventPresence, State: Terminated, Reason: "not in the list any more"})
			}
		}
		l.members = seen
	} else {
		if l.members == nil {
			l.members = map[string]string{}
		}
		for k, v := range seen {
			l.members[k] = v
		}
	}
	u.emit(ListEvent{URI: s.uri, Mode: ListActive, Members: len(l.members), Version: l.version})
}
