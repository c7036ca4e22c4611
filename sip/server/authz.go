package server

import (
	"bytes"
	"errors"
	"strings"

	"github.com/sipbuddy/sipbuddy/sip/header"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// rulesLocations are where a presentity's pres-rules document may live, in
// the order they are tried: the IETF AUID (RFC 5025, sipsimple/Blink) and
// the OMA one under both document names seen in the wild.
var rulesLocations = []struct{ auid, path string }{
	{"pres-rules", "index"},
	{"org.openmobilealliance.pres-rules", "pres-rules"},
	{"org.openmobilealliance.pres-rules", "index"},
}

func isRulesAUID(auid string) bool {
	return auid == "pres-rules" || auid == "org.openmobilealliance.pres-rules"
}

// policyFor loads owner's pres-rules once (every document of
// rulesLocations there is, as one ruleset, with its resource-lists
// document when the rules point at lists: the OMA layout python-sipsimple
// writes) and returns the decision function for its watchers (canonical
// AORs). A watcher no rule matches, or any watcher when there is no
// document, is decided by the server's Policy. This is the single place
// where watcher authorization is decided.
func (s *Server) policyFor(owner string) func(watcher string) decision {
	self := s.aor(owner)
	policy := s.opts.Policy
	byDefault := func(watcher string) decision {
		switch {
		case watcher == self:
			return decAllow
		case policy == AllowDomain && s.isLocalAOR(watcher):
			return decAllow
		}
		return decPending
	}
	var docs [][]byte
	external := false
	for _, loc := range rulesLocations {
		d, err := s.opts.Store.Get(store.Key{AUID: loc.auid, User: self, Path: loc.path})
		if err == nil {
			docs = append(docs, d.Body)
			external = external || bytes.Contains(d.Body, []byte("external-list"))
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("reading pres-rules failed", "owner", self, "auid", loc.auid, "error", err)
		}
	}
	if docs == nil {
		return byDefault
	}
	var lists []byte
	if external {
		d, err := s.opts.Store.Get(store.Key{AUID: "resource-lists", User: self, Path: "index"})
		switch {
		case err == nil:
			lists = d.Body
		case !errors.Is(err, store.ErrNotFound):
			s.log.Error("reading resource-lists for pres-rules failed", "owner", self, "error", err)
		}
	}
	decide, err := rulesDecider(docs, lists)
	if err != nil {
		// A broken document must not open the door: everyone but the owner
		// waits for confirmation until it is fixed.
		s.log.Warn("pres-rules document does not parse; watchers stay pending", "owner", self, "error", err)
		return func(watcher string) decision {
			if watcher == self {
				return decAllow
			}
			return decPending
		}
	}
	return func(watcher string) decision {
		if watcher == self {
			return decAllow
		}
		if dec, matched := decide(watcher); matched {
			return dec
		}
		return byDefault(watcher)
	}
}

// isLocalAOR reports whether a canonical AOR is of our domain.
func (s *Server) isLocalAOR(aor string) bool {
	u, err := sipuri.Parse(aor)
	return err == nil && u.User != "" && u.Host == strings.ToLower(s.opts.Domain)
}

// RulesChanged re-evaluates the watchers of user ("alice") after its
// pres-rules document changed: pending watchers that are now allowed become
// active and get the state, watchers that lost their permission are
// terminated (blocked: reason=probation with retry-after, see
// blockedReason; back to confirm: reason=deactivated, so that their
// re-SUBSCRIBE lands in pending).
func (s *Server) RulesChanged(user string) {
	p, ok := s.presentity.get(user)
	if !ok {
		return
	}
	s.memberChanged(p)
	decide := s.policyFor(user)
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.watchers))
	for sub := range p.watchers {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	changed := false
	for _, sub := range subs {
		dec := decAllow
		if sub.watcher != p.aor {
			dec = decide(sub.watcher)
		}
		sub.mu.Lock()
		st, polite := sub.state, sub.polite
		var end string
		switch {
		case st == subTerminated:
		case dec == decBlock:
			end = header.ReasonRejected // ended by block below
		case dec == decPending && st == subActive:
			end = header.ReasonDeactivated
		case dec == decPending:
		case st == subPending:
			sub.state, sub.polite, sub.winfoEvent = subActive, dec == decPolite, "approved"
			changed = true
		case polite != (dec == decPolite):
			sub.polite = dec == decPolite
		default:
			sub.mu.Unlock()
			continue
		}
		sub.mu.Unlock()
		if end == header.ReasonRejected {
			s.block(sub)
		} else if end != "" {
			s.terminate(sub, end)
		} else if st != subTerminated && dec != decPending {
			s.push(sub)
		}
	}
	p.mu.Lock()
	inLists := len(p.memberOf) > 0
	p.mu.Unlock()
	if changed || inLists {
		// Watchers through a list may have changed state too (listWatchers).
		s.winfoChanged(p)
	}
}

// StoreChanged is the xcap/server OnChange hook: the owner's xcap-diff
// subscriptions hear of every change, and a change of a pres-rules
// document re-evaluates its owner's watchers.
func (s *Server) StoreChanged(k store.Key) {
	user, ok := s.storeKeyUser(k)
	if !ok {
		return
	}
	s.xcapDiffChanged(user, k)
	switch {
	case isRulesAUID(k.AUID):
		s.RulesChanged(user)
	case k.AUID == "resource-lists":
		// OMA pres-rules decide by the lists of this document.
		s.listsChanged(user)
		s.RulesChanged(user)
	case k.AUID == "rls-services":
		s.listsChanged(user)
	case k.AUID == offlineAUID && k.Path == offlinePath:
		s.offlineChanged(user)
	}
}
