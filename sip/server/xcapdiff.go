package server

import (
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// Embedded xcap-diff notifier (RFC 5875): a user subscribes to its own
// XCAP documents and learns of every change another client makes, so its
// buddy list, pres-rules and icon follow edits made elsewhere. Only
// whole-document changes are reported (RFC 5874 §4: previous-etag and
// new-etag, no patches), which is all a client needs to re-read.

// MaxXcapDiffPerUser bounds a user's xcap-diff subscriptions (403 beyond:
// one per device is plenty).
const MaxXcapDiffPerUser = 8

// diffState is what an xcap-diff subscription has told its subscriber,
// guarded by the subscription's mutex.
type diffState struct {
	// ready is set once the first full listing was taken: changes seen
	// before it are already part of that listing.
	ready bool
	// known maps each document selector to the ETag the subscriber was
	// (or is about to be) told.
	known map[string]string
	// pending are the changes not sent yet, oldest first.
	pending []xcapdiff.DocumentChange
	// sentFirst: the first NOTIFY, which always has a document (RFC 5875
	// §4.4.1: the full listing, even of no documents), went out.
	sentFirst bool
}

// SetXCAPRoot sets the XCAP root URL written into xcap-diff documents
// ("http://127.0.0.1:8080/xcap-root"); the XCAP server knows it only once
// it listens.
func (s *Server) SetXCAPRoot(root string) { s.xcapRoot.Store(&root) }

func (s *Server) xcapRootURL() string {
	if r := s.xcapRoot.Load(); r != nil {
		return *r
	}
	return ""
}

// xcapDiffSnapshot fills a new xcap-diff subscription with the owner's
// documents and their ETags: the content of its first NOTIFY.
func (s *Server) xcapDiffSnapshot(sub *subscription) {
	entries, err := s.opts.Store.List(sub.pres.aor)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("listing documents for xcap-diff failed", "owner", sub.pres.aor, "error", err)
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	d := &diffState{ready: true, known: make(map[string]string, len(entries))}
	for _, e := range entries {
		sel := e.Key.String()
		d.known[sel] = e.ETag
		d.pending = append(d.pending, xcapdiff.DocumentChange{Sel: sel, NewETag: e.ETag})
	}
	sub.diff = d
}

// xcapDiffChanged tells the owner's xcap-diff subscriptions that document
// k changed (or was deleted).
func (s *Server) xcapDiffChanged(user string, k store.Key) {
	p, ok := s.presentity.get(user)
	if !ok {
		return
	}
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.xcapDiff))
	for sub := range p.xcapDiff {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	etag := ""
	if doc, err := s.opts.Store.Get(k); err == nil {
		etag = doc.ETag
	} else if !errors.Is(err, store.ErrNotFound) {
		s.log.Error("reading a changed document for xcap-diff failed", "key", k.String(), "error", err)
		return
	}
	sel := k.String()
	for _, sub := range subs {
		sub.mu.Lock()
		d := sub.diff
		changed := d != nil && d.ready && d.known[sel] != etag
		if changed {
			d.pending = append(d.pending, xcapdiff.DocumentChange{Sel: sel, PreviousETag: d.known[sel], NewETag: etag})
			if etag == "" {
				delete(d.known, sel)
			} else {
				d.known[sel] = etag
			}
		}
		sub.mu.Unlock()
		if changed {
			s.push(sub)
		}
	}
}

// xcapDiffBody takes the pending changes of sub that fit in one NOTIFY
// and returns their document; what does not fit stays pending and is sent
// next (sub.dirty). Nil when nothing is pending (a refresh or the final
// NOTIFY): the NOTIFY then has no body. The caller holds sub.mu.
func (s *Server) xcapDiffBody(sub *subscription) []byte {
	d := sub.diff
	if d == nil || (len(d.pending) == 0 && d.sentFirst) {
		return nil
	}
	d.sentFirst = true
	diff := xcapdiff.Diff{XCAPRoot: s.xcapRootURL(), Documents: d.pending}
	body := diff.Append(nil)
	n := len(d.pending)
	for len(body) > maxDocumentSize && n > 1 {
		n /= 2
		diff.Documents = d.pending[:n]
		body = diff.Append(body[:0])
	}
	d.pending = d.pending[n:]
	if len(d.pending) == 0 {
		d.pending = nil
	} else {
		sub.dirty = true
	}
	return body
}

// storeKeyUser is the local user owning a per-user document key.
func (s *Server) storeKeyUser(k store.Key) (string, bool) {
	if k.Global {
		return "", false
	}
	var u sip.Uri
	if err := sip.ParseUri(k.User, &u); err != nil {
		return "", false
	}
	return s.localUser(u)
}
