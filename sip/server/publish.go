package server

import (
	"mime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipbuddy/sipbuddy/sip/header"
)

// presentity is the presence state of one user: its live publications, the
// composed document watchers get, and its watchers.
type presentity struct {
	user, aor string
	// neutral is what polite-blocked watchers see: a closed document without
	// note or icon, the same bytes a presentity with no publication sends,
	// so the watcher cannot tell the difference.
	neutral []byte
	// doc is the composed document of all live publications, built once per
	// change and shared, read-only, by every NOTIFY of that change.
	doc atomic.Pointer[[]byte]

	mu sync.Mutex
	// offline is the user's offline document (RFC 4827 pidf-manipulation,
	// set through XCAP), composed for this entity: what watchers see when
	// no publication is left. nil when there is none.
	offline  []byte
	pubs     map[string]*publication // by SIP-ETag
	pubSeq   uint64
	watchers map[*subscription]struct{} // presence subscriptions to this user
	winfo    map[*subscription]struct{} // this user's presence.winfo subscriptions
	xcapDiff map[*subscription]struct{} // this user's xcap-diff subscriptions
	ownLists map[*subscription]struct{} // this user's resource list subscriptions
	memberOf map[*subscription]struct{} // list subscriptions this user is a member of
	gone     []goneWatcher              // recently terminated watchers, for winfo
}

// publication is one PUBLISHed document (RFC 3903 event state).
type publication struct {
	etag    string
	body    []byte
	seq     uint64 // creation order of the current body, newest highest
	expires time.Time
	timer   timerEntry
}

func (s *Server) presentityFor(user string) *presentity {
	return s.presentity.getOrCreate(user, func() *presentity {
		aor := s.aor(user)
		p := &presentity{
			user:     user,
			aor:      aor,
			pubs:     make(map[string]*publication),
			watchers: make(map[*subscription]struct{}),
			winfo:    make(map[*subscription]struct{}),
			xcapDiff: make(map[*subscription]struct{}),
			ownLists: make(map[*subscription]struct{}),
			memberOf: make(map[*subscription]struct{}),
		}
		// Kamailio sends an empty body when nothing is published; a closed
		// PIDF is better: every watcher can parse it, it says "offline"
		// instead of "unknown", and polite blocking can reuse it unchanged.
		p.neutral = closedPIDF(aor)
		p.offline = s.loadOffline(aor)
		s.recomposeLocked(p)
		return p
	})
}

// recomposeLocked rebuilds p.doc from the live publications, newest first.
func (s *Server) recomposeLocked(p *presentity) {
	if len(p.pubs) == 0 {
		if p.offline != nil {
			p.doc.Store(&p.offline)
		} else {
			p.doc.Store(&p.neutral)
		}
		return
	}
	pubs := make([]*publication, 0, len(p.pubs))
	for _, pub := range p.pubs {
		pubs = append(pubs, pub)
	}
	slices.SortFunc(pubs, func(a, b *publication) int { return -cmpUint(a.seq, b.seq) })
	docs := make([][]byte, len(pubs))
	for i, pub := range pubs {
		docs[i] = pub.body
	}
	doc, err := composePIDF(p.aor, docs)
	if err != nil {
		// Every body was validated on arrival; keep the newest as it is.
		s.log.Error("composing presence failed", "presentity", p.aor, "error", err)
		doc = docs[0]
	}
	p.doc.Store(&doc)
}

// fitsLocked reports whether p's document composed with body (replacing the
// publication ifMatch) stays within maxDocumentSize, so that every watcher's
// NOTIFY fits in ClientMaxMessage.
func (s *Server) fitsLocked(p *presentity, ifMatch string, body []byte) bool {
	docs := [][]byte{body}
	for etag, pub := range p.pubs {
		if etag != ifMatch {
			docs = append(docs, pub.body)
		}
	}
	doc, err := composePIDF(p.aor, docs)
	return err == nil && len(doc) <= maxDocumentSize
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Server) newETag() string {
	return s.etagPrefix + strconv.FormatUint(s.etagSeq.Add(1), 36)
}

// isPIDF reports whether a Content-Type value is application/pidf+xml.
func isPIDF(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/pidf+xml"
}

func (s *Server) onPublish(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil {
		s.respond(req, tx, 400, "Missing To", nil)
		return
	}
	user, ok := s.localUser(to.Address)
	if !ok {
		s.respond(req, tx, 404, "Not Found", nil)
		return
	}
	if !s.checkAuth(req, tx, user, true) {
		return
	}
	evh := req.GetHeader("Event")
	if evh == nil {
		s.respond(req, tx, 489, "Bad Event", []sip.Header{sip.NewHeader("Allow-Events", header.EventPresence)})
		return
	}
	ev, err := header.ParseEvent(evh.Value())
	if err != nil || ev.Package != header.EventPresence {
		s.respond(req, tx, 489, "Bad Event", []sip.Header{sip.NewHeader("Allow-Events", header.EventPresence)})
		return
	}
	body := req.Body()
	if len(body) > maxDocumentSize {
		s.respond(req, tx, 413, "Request Entity Too Large", nil)
		return
	}
	var ifMatch string
	if h := req.GetHeader("SIP-If-Match"); h != nil {
		ifMatch = strings.TrimSpace(h.Value())
	}
	if len(body) == 0 && ifMatch == "" {
		s.respond(req, tx, 400, "No E-Tag and no body found", nil)
		return
	}
	p := s.presentityFor(user)
	if ifMatch != "" {
		p.mu.Lock()
		_, known := p.pubs[ifMatch]
		p.mu.Unlock()
		if !known {
			s.respond(req, tx, 412, "Conditional Request Failed", nil)
			return
		}
	}
	exp, ok := s.requestedExpiry(req, tx, s.opts.DefaultExpires, "")
	if !ok {
		return
	}
	if exp == 0 && ifMatch == "" {
		s.respond(req, tx, 400, "Expires 0 needs SIP-If-Match", nil)
		return
	}
	if len(body) > 0 {
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = h.Value()
		}
		if !isPIDF(ct) {
			s.respond(req, tx, 415, "Unsupported Media Type", []sip.Header{sip.NewHeader("Accept", "application/pidf+xml")})
			return
		}
		if err := validatePIDF(body); err != nil {
			s.log.Info("malformed PIDF in PUBLISH", "presentity", p.aor, "error", err)
			s.respond(req, tx, 400, "Malformed PIDF", nil)
			return
		}
		// The request belongs to sipgo; keep an independent copy.
		body = slices.Clone(body)
	}

	now := time.Now()
	p.mu.Lock()
	if len(body) > 0 && !s.fitsLocked(p, ifMatch, body) {
		p.mu.Unlock()
		s.respond(req, tx, 413, "Presence document too large once composed", nil)
		return
	}
	var pub *publication
	if ifMatch != "" {
		pub = p.pubs[ifMatch]
		if pub == nil { // removed or expired since the check above
			p.mu.Unlock()
			s.respond(req, tx, 412, "Conditional Request Failed", nil)
			return
		}
		delete(p.pubs, ifMatch)
	} else {
		if len(p.pubs) >= MaxPublicationsPerPresentity {
			p.mu.Unlock()
			s.respond(req, tx, 503, "Too many publications", []sip.Header{sip.NewHeader("Retry-After", "60")})
			return
		}
		pub = &publication{}
	}
	changed := false
	etag := ifMatch
	if exp == 0 {
		s.timers.cancel(&pub.timer)
		changed = true
	} else {
		// RFC 3903 §6 step 8: every successful PUBLISH gets a new entity-tag.
		etag = s.newETag()
		pub.etag = etag
		if len(body) > 0 {
			p.pubSeq++
			pub.body, pub.seq = body, p.pubSeq
			changed = true
		}
		pub.expires = now.Add(exp)
		p.pubs[etag] = pub
		s.timers.schedule(&pub.timer, pub.expires, func() { s.expirePublication(p, pub) })
	}
	if changed {
		s.recomposeLocked(p)
	}
	p.mu.Unlock()

	s.respond(req, tx, 200, "OK", []sip.Header{
		sip.NewHeader("SIP-ETag", etag),
		sip.NewHeader("Expires", strconv.Itoa(seconds(exp))),
	})
	s.log.Debug("PUBLISH", "presentity", p.aor, "etag", etag, "expires", seconds(exp), "changed", changed)
	if changed {
		s.notifyWatchers(p)
	}
}

func (s *Server) expirePublication(p *presentity, pub *publication) {
	p.mu.Lock()
	if p.pubs[pub.etag] != pub || time.Now().Before(pub.expires) {
		p.mu.Unlock()
		return
	}
	delete(p.pubs, pub.etag)
	s.recomposeLocked(p)
	p.mu.Unlock()
	s.log.Debug("publication expired", "presentity", p.aor, "etag", pub.etag)
	s.notifyWatchers(p)
}
