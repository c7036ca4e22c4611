package ua

import (
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/sip/header"
)

// subKey is the key of a presence subscription: the AOR of uri (sipuri),
// so that two spellings of one buddy share one dialog, or uri itself when
// it does not parse (Subscribe then reports it as bad).
func subKey(uri string) string {
	if key, err := sipuri.AORKey(uri); err == nil {
		return key
	}
	return uri
}

// Subscribe starts watching uri's presence. It never blocks and is
// idempotent: another spelling of the same AOR ("SIP:Ada@Example.Test" for
// "sip:ada@example.test") is the same subscription, and its events carry
// the spelling first subscribed.
func (u *UA) Subscribe(uri string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state >= stateClosing {
		return
	}
	key := subKey(uri)
	if old, ok := u.subs[key]; ok && !old.stopped.Load() {
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil || target.User == "" || target.Host == "" {
		u.log.Warn("not subscribing to a bad URI", "uri", uri, "error", err)
		u.emit(SubscriptionEvent{URI: uri, Package: header.EventPresence, State: Terminated, Reason: "bad URI", Err: fmt.Errorf("ua: bad buddy URI %q", uri)})
		return
	}
	// My own AOR (self-presence: my other devices) is not a buddy and
	// does not count against MaxSubscriptions.
	self := subKey(u.aor.String())
	buddies := len(u.subs)
	if _, ok := u.subs[self]; ok {
		buddies--
	}
	if key != self && buddies >= MaxSubscriptions {
		u.emit(SubscriptionEvent{URI: uri, Package: header.EventPresence, State: Terminated, Reason: "too many subscriptions",
			Err: fmt.Errorf("ua: more than %d subscriptions", MaxSubscriptions)})
		return
	}
	s := newSubscription(u, uri, target, header.EventPresence)
	u.subs[key] = s
	if u.state == stateStarted {
		u.startSubLocked(s)
	}
}

// Unsubscribe stops watching uri, however spelled (an in-dialog SUBSCRIBE
// with Expires: 0).
func (u *UA) Unsubscribe(uri string) {
	u.mu.Lock()
	key := subKey(uri)
	s, ok := u.subs[key]
	delete(u.subs, key)
	started := u.state == stateStarted
	u.mu.Unlock()
	if ok && started {
		s.unsubscribe()
	}
}

// RefreshWatchers refreshes the presence.winfo subscription now, so that the
// next WatchersEvent carries the server's current list. Call it after
// changing pres-rules: Kamailio re-evaluates the watcher but sends the
// owner no winfo NOTIFY until the next refresh, which may be minutes away.
func (u *UA) RefreshWatchers() {
	u.mu.Lock()
	s := u.winfo
	started := u.state == stateStarted
	u.mu.Unlock()
	if s != nil && started {
		s.kick()
	}
}

// WatchWatchers turns the presence.winfo subscription to our own AOR on or
// off; watcher lists arrive as WatchersEvent.
func (u *UA) WatchWatchers(on bool) {
	if !on {
		u.stopSub(&u.winfo)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.slotFreeLocked(&u.winfo) {
		u.setSubLocked(&u.winfo, newSubscription(u, u.aor.String(), u.aor, header.EventPresenceWinfo))
	}
}

// The list, winfo and xcap-diff subscriptions are one each: a UA field
// (a slot) holds it, set and emptied by the three helpers below.

// slotFreeLocked reports whether *slot may take a new subscription: the UA
// is not closing and *slot holds none that still runs.
func (u *UA) slotFreeLocked(slot **subscription) bool {
	return u.state < stateClosing && (*slot == nil || (*slot).stopped.Load())
}

// setSubLocked puts s in *slot and starts it if the UA runs (Start starts
// it otherwise).
func (u *UA) setSubLocked(slot **subscription, s *subscription) {
	*slot = s
	if u.state == stateStarted {
		u.startSubLocked(s)
	}
}

// stopSub ends the subscription held in *slot, if any, and empties the
// slot.
func (u *UA) stopSub(slot **subscription) {
	u.mu.Lock()
	s := *slot
	*slot = nil
	started := u.state == stateStarted
	u.mu.Unlock()
	if s != nil && started {
		s.unsubscribe()
	}
}

func (u *UA) startSubLocked(s *subscription) {
	u.loops.Add(1)
	go func() { defer u.loops.Done(); s.run() }()
}
