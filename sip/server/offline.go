package server

import (
	"errors"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// The offline document (RFC 4827): a PIDF the user stores through XCAP
// under the pidf-manipulation AUID. The server shows it to watchers when
// none of the user's devices publishes, and drops it as soon as one does:
// it is the note "what watchers see when I am away from every device".
const (
	offlineAUID = "pidf-manipulation"
	offlinePath = "index"
)

// loadOffline reads aor's offline document from the store and composes it
// for the entity aor (nil when there is none or it is not usable PIDF).
func (s *Server) loadOffline(aor string) []byte {
	d, err := s.opts.Store.Get(store.Key{AUID: offlineAUID, User: aor, Path: offlinePath})
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("reading the offline document failed", "presentity", aor, "error", err)
		}
		return nil
	}
	if len(d.Body) > maxDocumentSize {
		s.log.Warn("offline document too large for a NOTIFY; not shown", "presentity", aor, "bytes", len(d.Body), "limit", maxDocumentSize)
		return nil
	}
	if err := validatePIDF(d.Body); err != nil {
		s.log.Warn("offline document is not PIDF; not shown", "presentity", aor, "error", err)
		return nil
	}
	doc, err := composePIDF(aor, [][]byte{d.Body})
	if err != nil || len(doc) > maxDocumentSize {
		s.log.Warn("offline document cannot be composed; not shown", "presentity", aor, "error", err)
		return nil
	}
	return doc
}

// offlineChanged applies a change of user's offline document: watchers of
// a presentity with no publication see the new one at once.
func (s *Server) offlineChanged(user string) {
	p, ok := s.presentity.get(user)
	if !ok {
		return // loaded when the presentity is first needed
	}
	doc := s.loadOffline(p.aor)
	p.mu.Lock()
	p.offline = doc
	idle := len(p.pubs) == 0
	if idle {
		s.recomposeLocked(p)
	}
	p.mu.Unlock()
	if idle {
		s.notifyWatchers(p)
	}
}
