package account

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/rlsservices"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// The list follows other clients: edits another device, Blink or curl make
// to the account's documents show here within seconds. Where the server
// offers it, an xcap-diff subscription (RFC 5875) says which document
// changed: a new resource-lists ETag makes the list be read again (and the
// RLS documents kept in step), a changed rls-services document is checked
// again, a pres-rules change refreshes the watcher list, an icon change
// re-reads my icon. Where the server refuses xcap-diff or has not answered,
// the list is read every ListPollInterval with If-None-Match, which costs a
// 304 when nothing changed.
//
// The watcher rules and the offline note follow the same way once the
// front end has read them (a watchers view, the offline note editor): a
// pres-rules or pidf-manipulation change reported by xcap-diff reads them
// again (WatcherRulesEvent, OfflineNoteEvent); while polling, their
// documents are read every RulesPollInterval with If-None-Match. In
// Blink's layout the rules also name lists of the buddy list document, so
// a changed buddy list reads the rules again too.

// ListPollInterval is how often the buddy list is read again (a
// conditional GET) while no xcap-diff subscription reports changes.
const ListPollInterval = 2 * time.Second

// ListChangeGrace is how long the list server has to send a NOTIFY after
// the buddies changed before the list is subscribed anew for full state:
// Kamailio's rls never reports a removed member, nor a new one that has
// not published, and a server may not notice list edits at all.
const ListChangeGrace = 4 * time.Second

// RulesPollInterval is how often, while no xcap-diff subscription reports
// changes, the pres-rules documents (once the front end read the watcher
// rules) and the offline note (once it read that) are read again with
// If-None-Match.
const RulesPollInterval = 2 * time.Second

// absentTag is docTags' mark of a document the server does not have.
const absentTag = "\x00absent"

// listSync is the account's buddy list state: how it is watched, the ETag
// last read, and, when each buddy is watched alone, the subscriptions.
type listSync struct {
	service string        // the RLS service URI; fixed at New
	wake    chan struct{} // 1-buffered: runList has work

	mu      sync.Mutex
	ev      ListEvent // what the front end was last told
	etag    string    // ETag of the resource-lists document last read
	refused string    // the list subscription was refused: why (runList falls back)
	// changed are the application usages xcap-diff reported changed and
	// runList has not handled yet.
	changed map[string]bool
	// diffETags are the documents' ETags as xcap-diff last reported them
	// (by selector); primed is set once the first document of the
	// current subscription was taken in (it lists what is, not what
	// changed).
	diffETags map[string]string
	primed    bool
	// notified counts the list NOTIFYs applied; after the buddies changed
	// with RLS on, awaitFrom is its value then and awaitUntil the end of
	// ListChangeGrace (zero: nothing awaited).
	notified   uint64
	awaitFrom  uint64
	awaitUntil time.Time
	// rulesWanted and noteWanted are set once the front end read the
	// watcher rules or the offline note: from then on they follow other
	// clients' edits. docTags are the ETags of the documents polled for
	// them (by AUID; absentTag: not there).
	rulesWanted, noteWanted bool
	docTags                 map[string]string
	// rulesRead serializes reading the rules and queueing them, so the
	// last WatcherRulesEvent queued is from the newest read.
	rulesRead sync.Mutex

	// follow serializes the per-buddy subscriptions' bookkeeping (never
	// held by the sink, so the UA may be called with it held).
	follow     sync.Mutex
	perBuddy   bool
	entries    []resourcelists.Entry
	subscribed map[string]string // AOR key -> URI subscribed to
}

func (l *listSync) init(aor string) {
	l.wake = make(chan struct{}, 1)
	l.service, _ = rlsservices.PresenceServiceURI(aor)
	l.ev = ListEvent{Service: l.service}
	l.changed = map[string]bool{}
	l.diffETags = map[string]string{}
	l.docTags = map[string]string{}
	l.subscribed = map[string]string{}
}

func (l *listSync) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// update changes the reported state and queues it when it changed.
func (l *listSync) update(a *Account, fn func(*ListEvent)) {
	l.mu.Lock()
	old := l.ev
	fn(&l.ev)
	ev := l.ev
	l.mu.Unlock()
	if ev != old {
		if ev.Mode != old.Mode || ev.Follow != old.Follow {
			a.log.Info("buddy list: "+ev.String(), "service", ev.Service)
		}
		a.q.push(ev)
	}
}

// maxDiffDocuments bounds the documents whose xcap-diff ETags are kept
// (an account has a handful; past it the record starts over).
const maxDiffDocuments = 1024

// noteDiff records which documents an xcap-diff NOTIFY reports changed
// and wakes runList. The first document of a subscription lists what is
// there: only the buddy list is compared (with the ETag read). Later, a
// document whose new ETag is the one already known (for the buddy list:
// the one read, my own write included) is no news.
func (l *listSync) noteDiff(d *xcapdiff.Diff) {
	if d == nil {
		return
	}
	l.mu.Lock()
	first := !l.primed
	l.primed = true
	if len(l.diffETags) > maxDiffDocuments {
		l.diffETags = map[string]string{}
	}
	news := false
	for _, c := range d.Documents {
		prev, known := l.diffETags[c.Sel]
		if c.Deleted() {
			delete(l.diffETags, c.Sel)
		} else {
			l.diffETags[c.Sel] = c.NewETag
		}
		auid := c.AUID()
		switch {
		case auid == resourcelists.AUID:
			if l.etag != "" && sameETag(c.NewETag, l.etag) {
				continue
			}
		case first, known && sameETag(prev, c.NewETag):
			continue
		}
		l.changed[auid] = true
		news = true
	}
	l.mu.Unlock()
	if news {
		l.poke()
	}
}

// sameETag compares ETags as servers write them (quoted or not, weak or
// not).
func sameETag(a, b string) bool {
	norm := func(s string) string { return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`) }
	return norm(a) == norm(b)
}

// runList loads the buddy list, sets up how its presence is watched, and
// then follows it until the account closes.
func (a *Account) runList() {
	doc, ok := a.loadBuddies()
	if !ok {
		return
	}
	l := &a.lists
	l.mu.Lock()
	first := l.ev
	l.mu.Unlock()
	a.q.push(first)
	xui := a.AOR()
	a.ua.WatchXcapDiff([]string{
		resourcelists.AUID + "/users/" + xui + "/" + resourcelists.DocumentPath,
		rlsservices.AUID + "/users/" + xui + "/" + rlsservices.DocumentPath,
		presrules.AUID + "/users/" + xui + "/" + presrules.DocumentPath,
		presrules.OMAAUID + "/users/" + xui + "/" + presrules.DocumentPath,
		"org.openmobilealliance.pres-content/users/" + xui + "/oma_status-icon/index",
		offlineAUID + "/users/" + xui + "/" + offlinePath,
	})
	a.startRLS(doc)
	poll := time.NewTicker(ListPollInterval)
	defer poll.Stop()
	pollRules := time.NewTicker(RulesPollInterval)
	defer pollRules.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-l.wake:
		case <-poll.C:
			if !a.followedByDiff() {
				a.reloadList()
			}
		case <-pollRules.C:
			if !a.followedByDiff() {
				a.pollFollowed()
			}
		}
		l.mu.Lock()
		refused := l.refused
		l.refused = ""
		changed := l.changed
		l.changed = map[string]bool{}
		l.mu.Unlock()
		if refused != "" && a.listMode() != ListModePerBuddy {
			a.fallBack(refused)
		}
		a.applyChanges(changed)
		a.checkListFollowed()
	}
}

// checkListFollowed subscribes to the list anew when the buddies changed
// and the list server has said nothing within ListChangeGrace: a new
// subscription's first NOTIFY is full state, the new members included and
// the removed ones gone.
func (a *Account) checkListFollowed() {
	l := &a.lists
	l.mu.Lock()
	due := !l.awaitUntil.IsZero() && l.notified == l.awaitFrom && !time.Now().Before(l.awaitUntil)
	if l.notified != l.awaitFrom || due {
		l.awaitUntil = time.Time{}
	}
	rls := l.ev.Mode == ListModeRLS
	l.mu.Unlock()
	if due && rls {
		a.log.Info("the list server did not report the changed buddy list: subscribing anew for full state", "service", l.service)
		a.ua.UnsubscribeList()
		a.ua.SubscribeList(l.service)
	}
}

// awaitListNotify starts ListChangeGrace after the buddies changed, when
// their presence comes through the list.
func (l *listSync) awaitListNotify() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ev.Mode == ListModeRLS && l.awaitUntil.IsZero() {
		l.awaitFrom, l.awaitUntil = l.notified, time.Now().Add(ListChangeGrace)
	}
}

// applyChanges acts on the documents xcap-diff reported changed.
func (a *Account) applyChanges(changed map[string]bool) {
	if changed[resourcelists.AUID] {
		a.reloadList()
	}
	if changed[rlsservices.AUID] && !a.o.NoRLS && a.listMode() != ListModePerBuddy {
		ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
		if err := a.ensureRLSService(ctx); err != nil && a.ctx.Err() == nil {
			a.log.Warn("rls-services changed elsewhere and could not be repaired", "error", err)
		}
		cancel()
	}
	if changed[presrules.AUID] || changed[presrules.OMAAUID] {
		a.ua.RefreshWatchers()
		a.followRules()
	}
	if changed[offlineAUID] {
		a.followOfflineNote()
	}
	for auid := range changed {
		if strings.Contains(auid, "pres-content") || strings.Contains(auid, "icon") {
			a.reloadMyIcon()
			break
		}
	}
}

// reloadMyIcon reads my stored icon again (another client changed it) and
// publishes it, unless a read is already under way.
func (a *Account) reloadMyIcon() {
	if a.ctx.Err() != nil || a.myIcon.Swap(myIconLoading) == myIconLoading {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.settleMyIcon(true)
	}()
}

// followedByDiff reports whether xcap-diff reports edits made elsewhere
// (else they are polled for).
func (a *Account) followedByDiff() bool {
	a.lists.mu.Lock()
	defer a.lists.mu.Unlock()
	return a.lists.ev.Follow == FollowXcapDiff
}

// followRules reads the watcher rules again after another client may have
// changed them, once the front end has read them.
func (a *Account) followRules() {
	l := &a.lists
	l.mu.Lock()
	wanted := l.rulesWanted
	l.mu.Unlock()
	if !wanted {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	if err := a.pushWatcherRules(ctx); err != nil && a.ctx.Err() == nil {
		a.log.Info("watcher rules changed elsewhere and could not be read", "error", err)
	}
}

// followOfflineNote reads the offline note again after another client may
// have changed it, once the front end has read it.
func (a *Account) followOfflineNote() {
	l := &a.lists
	l.mu.Lock()
	wanted := l.noteWanted
	l.mu.Unlock()
	if !wanted {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	if err := a.pushOfflineNote(ctx); err != nil && a.ctx.Err() == nil {
		a.log.Info("the offline note changed elsewhere and could not be read", "error", err)
	}
}

// pollFollowed reads the documents the front end follows besides the
// buddy list (the pres-rules of both layouts, the offline note) with
// If-None-Match, and reads again what changed.
func (a *Account) pollFollowed() {
	l := &a.lists
	l.mu.Lock()
	rules, note := l.rulesWanted, l.noteWanted
	l.mu.Unlock()
	if !rules && !note {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	if rules {
		ietf := a.docChanged(ctx, presrules.AUID, presrules.DocumentPath)
		oma := a.docChanged(ctx, presrules.OMAAUID, presrules.DocumentPath)
		if ietf || oma {
			a.ua.RefreshWatchers()
			a.followRules()
		}
	}
	if note && a.docChanged(ctx, offlineAUID, offlinePath) {
		a.followOfflineNote()
	}
}

// docChanged reads one of my documents with If-None-Match against the
// ETag last seen and reports whether it differs (first read, a new ETag,
// created or deleted). A failed read is no change: the next poll asks
// again.
func (a *Account) docChanged(ctx context.Context, auid, path string) bool {
	l := &a.lists
	l.mu.Lock()
	tag, seen := l.docTags[auid]
	l.mu.Unlock()
	ifNoneMatch := tag
	if tag == absentTag {
		ifNoneMatch = ""
	}
	d, err := a.xc.Get(ctx, auid, path, ifNoneMatch)
	var now string
	switch {
	case errors.Is(err, xcap.ErrNotModified):
		return false
	case xcap.IsNotFound(err):
		now = absentTag
	case err != nil:
		if a.ctx.Err() == nil {
			a.log.Info(auid+" not re-read", "error", err)
		}
		return false
	default:
		now = d.ETag
	}
	l.mu.Lock()
	l.docTags[auid] = now
	l.mu.Unlock()
	return !seen || !sameETag(now, tag)
}

func (a *Account) listMode() ListMode {
	a.lists.mu.Lock()
	defer a.lists.mu.Unlock()
	return a.lists.ev.Mode
}

// reloadList reads the buddy list if it changed (If-None-Match) and shows
// it; with RLS, the list the service serves follows.
func (a *Account) reloadList() {
	l := &a.lists
	l.mu.Lock()
	etag := l.etag
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	doc, newTag, err := a.fetchBuddies(ctx, etag)
	if errors.Is(err, xcap.ErrNotModified) {
		return
	}
	if err != nil {
		if a.ctx.Err() == nil {
			a.log.Info("buddy list not re-read", "error", err)
		}
		return
	}
	l.mu.Lock()
	l.etag = newTag
	l.mu.Unlock()
	a.setBuddies(doc)
	// Blink's rules name lists of this document (granted, blocked).
	a.followRules()
	if !a.o.NoRLS && a.listMode() != ListModePerBuddy {
		if err := a.syncPresenceRLS(ctx, doc); err != nil && a.ctx.Err() == nil {
			a.log.Warn("the RLS list does not follow the buddy list", "error", err)
		}
	}
}

// fallBack watches each buddy with its own subscription from now on.
func (a *Account) fallBack(reason string) {
	a.ua.UnsubscribeList()
	a.lists.update(a, func(e *ListEvent) { e.Mode, e.Reason, e.Members = ListModePerBuddy, reason, 0 })
	l := &a.lists
	l.follow.Lock()
	defer l.follow.Unlock()
	l.perBuddy = true
	a.reconcileLocked()
}

// followBuddies records the buddy list and, when each buddy is watched
// alone, subscribes to the new ones and unsubscribes from the ones gone.
func (a *Account) followBuddies(entries []resourcelists.Entry) {
	l := &a.lists
	l.follow.Lock()
	defer l.follow.Unlock()
	changed := !sameBuddies(l.entries, entries)
	l.entries = entries
	if l.perBuddy {
		a.reconcileLocked()
	} else if changed {
		l.awaitListNotify()
	}
}

// sameBuddies reports whether two lists hold the same buddies (by AOR).
func sameBuddies(x, y []resourcelists.Entry) bool {
	keys := func(es []resourcelists.Entry) map[string]bool {
		m := make(map[string]bool, len(es))
		for _, e := range es {
			k, err := sipuri.AORKey(e.URI)
			if err != nil {
				k = e.URI
			}
			m[k] = true
		}
		return m
	}
	return maps.Equal(keys(x), keys(y))
}

// reconcileLocked makes the per-buddy subscriptions those of l.entries
// (l.follow held).
func (a *Account) reconcileLocked() {
	l := &a.lists
	want := make(map[string]string, len(l.entries))
	for _, e := range l.entries {
		key, err := sipuri.AORKey(e.URI)
		if err != nil {
			key = e.URI
		}
		if _, dup := want[key]; !dup {
			want[key] = e.URI
		}
	}
	for key, uri := range l.subscribed {
		if _, ok := want[key]; !ok {
			a.ua.Unsubscribe(uri)
			delete(l.subscribed, key)
		}
	}
	for key, uri := range want {
		if _, ok := l.subscribed[key]; !ok {
			a.ua.Subscribe(uri)
			l.subscribed[key] = uri
		}
	}
}
