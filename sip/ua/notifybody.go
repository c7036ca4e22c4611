package ua

import (
	"fmt"
	"mime"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// unreadable is unreadableLocked for a NOTIFY of dialog k refused before
// dialog matching (too large).
func (s *subscription) unreadable(k dialogKey, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != nil && s.d.key() == k {
		s.unreadableLocked(err)
	}
}

// unreadableLocked handles a NOTIFY whose document we cannot read: the
// state shown so far is no longer known (a PresenceEvent without state),
// the dialog is dropped (the notifier's next NOTIFY gets 481) and a new
// subscription follows after a back-off, reported as Retrying.
func (s *subscription) unreadableLocked(err error) {
	if s.pkg == header.EventPresence {
		s.u.emit(PresenceEvent{URI: s.uri, State: pidf.State{Entity: s.uri}})
	}
	s.failLocked("unreadable NOTIFY", err, 0)
	s.poke()
}

// deliverLocked turns the NOTIFY body into a PresenceEvent or a
// WatchersEvent. A document that does not parse is returned as an error; a
// content type we do not read is logged and ignored.
func (s *subscription) deliverLocked(req *sip.Request) error {
	u := s.u
	body := req.Body()
	ctype := ""
	if ct := req.ContentType(); ct != nil {
		ctype, _, _ = mime.ParseMediaType(ct.Value())
	}
	if s.list != nil {
		s.deliverListLocked(req, ctype)
		return nil
	}
	if s.pkg == xcapdiff.Event {
		return s.deliverXcapDiffLocked(ctype, body)
	}
	if s.pkg == header.EventPresenceWinfo {
		if len(body) == 0 {
			return nil
		}
		info, ok, err := readBody(s, ctype, body, "application/watcherinfo+xml", "watcherinfo", winfo.Parse)
		if ok {
			s.mergeWatchersLocked(info)
		}
		return err
	}
	if len(body) == 0 {
		// Kamailio: no publication, or authorization pending. Unknown,
		// which a buddy list shows as offline.
		u.emit(PresenceEvent{URI: s.uri, State: pidf.State{Entity: s.uri}})
		return nil
	}
	st, ok, err := readBody(s, ctype, body, "application/pidf+xml", "PIDF", pidf.Parse)
	if ok {
		u.emit(PresenceEvent{URI: s.uri, State: st})
	}
	return err
}

// readBody parses the NOTIFY body of s with parse when its content type is
// want (ok). Another content type is logged and ignored (not ok, no
// error); a document that does not parse is logged and returned as an
// error that names what it is.
func readBody[T any](s *subscription, ctype string, body []byte, want, what string, parse func([]byte) (T, error)) (doc T, ok bool, err error) {
	if ctype != want {
		s.u.log.Warn("NOTIFY with unexpected content type", "uri", s.uri, "content_type", ctype)
		return doc, false, nil
	}
	if doc, err = parse(body); err != nil {
		s.u.log.Warn("NOTIFY with a bad "+what+" document", "uri", s.uri, "error", err)
		return doc, false, fmt.Errorf("ua: %s document of %s: %w", what, s.uri, err)
	}
	return doc, true, nil
}

// mergeWatchersLocked applies a full or partial watcherinfo document
// (RFC 3857 §5.4) and reports the merged list; on a version gap the
// subscription is refreshed, which makes the notifier send a full document.
func (s *subscription) mergeWatchersLocked(info *winfo.Info) {
	merged, err := winfo.Merge(s.watchers, info)
	if err != nil {
		s.u.log.Info("watcherinfo version gap: refreshing for a full list", "uri", s.uri, "version", info.Version)
		s.kicked = true
		s.poke()
		return
	}
	if merged == s.watchers {
		return // an old or repeated partial document
	}
	s.watchers = merged
	out := *merged
	out.Watchers = slices.Clone(merged.Watchers)
	s.u.emit(WatchersEvent{Info: out})
}

// recordRoutes returns the Record-Route URIs of m in order, at most
// MaxRouteSet of them.
func recordRoutes(m interface{ GetHeaders(string) []sip.Header }) []sip.Uri {
	var out []sip.Uri
	for _, h := range m.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok && len(out) < MaxRouteSet {
			out = append(out, *rr.Address.Clone())
		}
	}
	return out
}

// terminatedLocked applies the retry table to a Subscription-State:
// terminated that we did not ask for (RFC 6665 §4.1.3).
func (s *subscription) terminatedLocked(ss header.SubscriptionState) {
	retryAfter := time.Duration(-1)
	if ss.RetryAfter >= 0 {
		retryAfter = time.Duration(min(ss.RetryAfter, maxTimerSeconds)) * time.Second
	}
	reason := ss.Reason
	switch reason {
	case header.ReasonRejected, header.ReasonNoResource, header.ReasonInvariant:
		s.stopped.Store(true)
		s.reportLocked(Terminated, reason, 0, nil)
		return
	case header.ReasonProbation, header.ReasonGiveUp:
		d := retryAfter
		if d < 0 {
			d = DefaultProbationRetry
		}
		s.retryAt = time.Now().Add(d)
	default: // deactivated, timeout, none or unknown: re-subscribe now
		s.retryNowLocked(retryAfter)
	}
	if reason == "" {
		reason = "terminated"
	}
	s.reportLocked(Retrying, reason, time.Until(s.retryAt).Round(time.Millisecond), nil)
}
