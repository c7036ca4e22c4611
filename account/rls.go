package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/rlsservices"
)

// The buddies' presence through one resource list subscription (RFC 4662),
// as Blink does it: the account's rls-services document has a presence
// service sip:<user>+presence@<domain> (python-sipsimple's convention)
// serving the resource-lists list sipsimple_presence_rls, which holds every
// buddy of every group (kept in step on every load and edit). One
// SUBSCRIBE with Supported: eventlist to that URI then replaces one per
// buddy; its members' states reach the front end as the same
// PresenceEvents and SubscriptionEvents. A server that answers without
// Require: eventlist, or refuses, gets one SUBSCRIBE per buddy instead;
// ListEvent says which.

// ListMode says how the account watches its buddies' presence.
type ListMode int

// List modes.
const (
	// ListModePending: the list is loading, or the server's answer to the
	// list subscription is awaited.
	ListModePending ListMode = iota
	// ListModeRLS: one resource list subscription for every buddy.
	ListModeRLS
	// ListModePerBuddy: one subscription per buddy (no list server, or
	// RLS turned off).
	ListModePerBuddy
)

// String names the mode for the detail pane and the debug view.
func (m ListMode) String() string {
	switch m {
	case ListModePending:
		return "starting"
	case ListModeRLS:
		return "one RLS subscription"
	case ListModePerBuddy:
		return "one subscription per buddy"
	}
	return fmt.Sprintf("ListMode(%d)", int(m))
}

// FollowMode says how the account learns of edits other clients make to
// its XCAP documents (the buddy list, pres-rules, my icon).
type FollowMode int

// Follow modes.
const (
	// FollowPending: no xcap-diff document has arrived yet (the
	// subscription is on its way, or the server accepted it and has not
	// notified, as Kamailio does without a notifier); the list is polled
	// meanwhile.
	FollowPending FollowMode = iota
	// FollowXcapDiff: the server sends xcap-diff documents (RFC 5875):
	// every change is notified, nothing is polled.
	FollowXcapDiff
	// FollowPolling: the list is read again every ListPollInterval with a
	// conditional GET (the server refused xcap-diff or does not answer).
	FollowPolling
)

// String names the mode for the detail pane and the debug view.
func (m FollowMode) String() string {
	switch m {
	case FollowPending:
		return "polled every " + ListPollInterval.String() + " until xcap-diff reports"
	case FollowXcapDiff:
		return "xcap-diff"
	case FollowPolling:
		return "polled every " + ListPollInterval.String()
	}
	return fmt.Sprintf("FollowMode(%d)", int(m))
}

// ListEvent reports how the buddy list is watched: its presence (one RLS
// subscription or one per buddy) and its edits by other clients
// (xcap-diff or polling). Sent at start and on every change of either.
// Key: one.
type ListEvent struct {
	Mode ListMode
	// Service is the RLS service URI (sip:alice+presence@example.test).
	Service string
	// Members is the number of buddies in the server's last full list
	// state (ListModeRLS).
	Members int
	// Reason says why the account watches each buddy (ListModePerBuddy).
	Reason string
	Follow FollowMode
	// FollowReason says why the list is polled (FollowPolling).
	FollowReason string
}

// String is the one line the detail pane and the debug view show.
func (e ListEvent) String() string {
	s := e.Mode.String()
	switch e.Mode {
	case ListModeRLS:
		s += fmt.Sprintf(", %d buddies", e.Members)
	case ListModePerBuddy:
		if e.Reason != "" {
			s += " (" + e.Reason + ")"
		}
	}
	s += " · edits: " + e.Follow.String()
	if e.Follow == FollowPolling && e.FollowReason != "" {
		s += " (" + e.FollowReason + ")"
	}
	return s
}

func (ListEvent) accountEvent() {}

// errUnchanged ends an xcap.Client.Update without writing.
var errUnchanged = errors.New("document unchanged")

// syncPresenceRLS makes the stored resource-lists document's
// sipsimple_presence_rls list hold every buddy (a conditional write, only
// when it differs), for the RLS service to serve. doc is the document as
// just read (nil: read it).
func (a *Account) syncPresenceRLS(ctx context.Context, doc *resourcelists.Document) error {
	if doc != nil && !doc.SyncPresenceRLS() {
		return nil
	}
	_, err := resourcelists.Update(ctx, a.xc, func(d *resourcelists.Document) error {
		if !d.SyncPresenceRLS() {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keeping %s in step with the buddies: %w", resourcelists.PresenceRLSList, err)
	}
	return nil
}

// ensureRLSService makes the account's rls-services document serve
// sipsimple_presence_rls under the presence service URI, adding the
// service (or the document) when missing and keeping every other service.
func (a *Account) ensureRLSService(ctx context.Context) error {
	listURL := rlsservices.ListURL(a.o.XCAPRoot, a.AOR(), resourcelists.PresenceRLSList)
	ref := xcap.DocumentRef{AUID: rlsservices.AUID, Path: rlsservices.DocumentPath, ContentType: rlsservices.ContentType}
	_, err := a.xc.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		d := rlsservices.New()
		if len(cur) > 0 {
			var err error
			if d, err = rlsservices.Parse(cur); err != nil {
				return nil, fmt.Errorf("the stored rls-services document: %w", err)
			}
		}
		if svc, ok := d.Service(a.lists.service); ok && svc.Serves(rlsservices.PresencePackage) {
			// Another client's URL of the same list (Blink under an https
			// root, say) is left as it wrote it.
			if name, ok := rlsservices.ListName(svc.ResourceList, a.AOR()); ok && name == resourcelists.PresenceRLSList {
				return nil, errUnchanged
			}
		}
		if !d.Ensure(a.lists.service, listURL) && cur != nil {
			return nil, errUnchanged
		}
		return d.Marshal(), nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rls-services: %w", err)
	}
	return nil
}

// startRLS prepares the server side of the list subscription (the
// documents) and subscribes; on an XCAP error it watches each buddy.
func (a *Account) startRLS(doc *resourcelists.Document) {
	if a.o.NoRLS {
		a.fallBack("RLS is turned off")
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	err := a.syncPresenceRLS(ctx, doc)
	if err == nil {
		err = a.ensureRLSService(ctx)
	}
	if err != nil {
		if a.ctx.Err() != nil {
			return
		}
		a.log.Warn("resource list service not set up: watching each buddy instead", "error", err)
		a.fallBack(fmt.Sprintf("the RLS documents could not be written: %v", err))
		return
	}
	a.log.Info("subscribing to the buddy list with one RLS subscription", "service", a.lists.service)
	a.ua.SubscribeList(a.lists.service)
}

// listSink handles the UA's events about the list and xcap-diff
// subscriptions; it reports whether ev was one. Called by sink, on UA
// goroutines: it only updates state, queues and wakes runList.
func (a *Account) listSink(ev ua.Event) bool {
	l := &a.lists
	switch ev := ev.(type) {
	case ua.ListEvent:
		switch ev.Mode {
		case ua.ListActive:
			l.mu.Lock()
			l.notified++
			l.mu.Unlock()
			l.update(a, func(e *ListEvent) { e.Mode, e.Members, e.Reason = ListModeRLS, ev.Members, "" })
		case ua.ListRefused:
			l.mu.Lock()
			l.refused = ev.Reason
			l.mu.Unlock()
			l.poke()
		}
		return true
	case ua.XcapDiffEvent:
		l.update(a, func(e *ListEvent) { e.Follow, e.FollowReason = FollowXcapDiff, "" })
		l.noteDiff(ev.Diff)
		return true
	case ua.SubscriptionEvent:
		switch {
		case ev.Package == "xcap-diff":
			// Active is not enough: Kamailio accepts xcap-diff
			// subscriptions with no notifier behind them. The list is
			// polled until a document arrives (noteDiff).
			switch ev.State {
			case ua.Retrying, ua.Terminated:
				reason := ev.Reason
				if ev.Err != nil {
					reason = ev.Err.Error()
				}
				if reason == "unsubscribed" {
					return true
				}
				l.mu.Lock()
				l.primed = false // the next dialog lists every document again
				l.mu.Unlock()
				l.update(a, func(e *ListEvent) { e.Follow, e.FollowReason = FollowPolling, "xcap-diff: "+reason })
			}
			return true
		case ev.URI == l.service:
			// The list subscription's own state: its members' states are
			// what the front end shows; a refusal comes as a ListEvent.
			if ev.State != ua.Active {
				a.log.Info("buddy list subscription", "state", ev.State.String(), "reason", ev.Reason)
			}
			if ev.State == ua.Retrying {
				// Failing before it ever worked (a 5xx, no NOTIFY): the
				// buddies are watched one by one rather than not at all.
				// Once active, a retry is the usual recovery.
				l.mu.Lock()
				if l.ev.Mode == ListModePending && l.refused == "" {
					l.refused = "the list subscription failed: " + ev.Reason
					if ev.Err != nil {
						l.refused += " (" + ev.Err.Error() + ")"
					}
				}
				l.mu.Unlock()
				l.poke()
			}
			return true
		}
	}
	return false
}
