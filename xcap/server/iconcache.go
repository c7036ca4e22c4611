package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// cachedIcon is an icon document prepared for GET once per ETag.
type cachedIcon struct {
	etag      string
	quoted    []string // `"etag"`, ready for the header map
	xml       []byte
	image     []byte
	imageType []string
	// The fast path's status lines and headers (fastHeaders).
	xmlHeader, imageHeader []byte
}

// etagger is implemented by stores that can report an ETag without copying
// the document (store.Bolt); the icon cache uses it to validate entries.
type etagger interface {
	ETag(k store.Key) (string, error)
}

func (c *cachedIcon) size() int { return len(c.xml) + len(c.image) }

// cachePut stores ic, read from the store when the change count was gen,
// dropping arbitrary entries while the cache is over its bounds (icons are
// re-read from the store on a miss; no LRU needed). Nothing is stored if a
// document changed since: ic may be older than the change.
func (s *Server) cachePut(key string, ic *cachedIcon, gen uint64) {
	if ic.size() > MaxIconCacheBytes/16 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changes != gen {
		return
	}
	s.cacheDeleteLocked(key)
	for k := range s.cache {
		if len(s.cache) < MaxCachedIcons && s.cacheBytes+ic.size() <= MaxIconCacheBytes {
			break
		}
		s.cacheDeleteLocked(k)
	}
	s.cache[key] = ic
	s.cacheBytes += ic.size()
}

func (s *Server) cacheDeleteLocked(key string) {
	if old, ok := s.cache[key]; ok {
		s.cacheBytes -= old.size()
		delete(s.cache, key)
	}
}

// getIcon serves an icon document from the per-ETag cache: the XML for the
// modern AUID, the decoded image for the legacy one (unless the client asks
// for the XML), so a burst of watchers costs one decode. (Listen's fast
// path answers the plain GETs before they get here: fastget.go.)
func (s *Server) getIcon(q *request) {
	ic, err := s.iconEntry(q.key)
	if errors.Is(err, store.ErrNotFound) {
		s.get(q) // same 404 / 412 answers as any document
		return
	}
	if err != nil {
		s.internalError(q.w, err)
		return
	}
	if !s.checkGETConditions(q, ic.etag) {
		return
	}
	h := q.w.Header()
	body, mimeType := ic.xml, []string{q.app.mime}
	if q.app.auid == AUIDLegacyStatusIcon {
		h["Vary"] = []string{"Accept"}
		if ic.image != nil && !acceptsXML(q.r.Header.Get("Accept")) {
			body, mimeType = ic.image, ic.imageType
		}
	}
	h["Content-Type"] = mimeType
	h["Etag"] = ic.quoted
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(body)
}

// iconEntry returns the cached icon document of k: from the cache while
// the store reports the same ETag, else read, prepared and cached.
func (s *Server) iconEntry(k store.Key) (*cachedIcon, error) {
	ck := k.String()
	if et, ok := s.opts.Store.(etagger); ok {
		etag, err := et.ETag(k)
		if err != nil {
			return nil, err
		}
		s.mu.RLock()
		ic := s.cache[ck]
		s.mu.RUnlock()
		if ic != nil && ic.etag == etag {
			return ic, nil
		}
	}
	s.mu.RLock()
	gen := s.changes
	s.mu.RUnlock()
	doc, err := s.opts.Store.Get(k)
	if err != nil {
		return nil, err
	}
	ic := &cachedIcon{etag: doc.ETag, quoted: []string{quote(doc.ETag)}, xml: doc.Body}
	if c, err := icon.ParseContent(doc.Body); err == nil {
		if f, ok := icon.Sniff(c.Data); ok {
			ic.image = c.Data
			ic.imageType = []string{f.MIMEType()}
		}
	}
	ic.fastHeaders(k.AUID)
	s.cachePut(ck, ic, gen)
	return ic, nil
}

// acceptsXML reports whether an Accept header asks for the pres-content XML.
func acceptsXML(accept string) bool {
	if accept == "" {
		return false
	}
	for item := range strings.SplitSeq(accept, ",") {
		mt, _, _ := strings.Cut(item, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt == icon.ContentMIMEType || mt == "application/xml" || mt == "text/xml" {
			return true
		}
	}
	return false
}

// Forget drops what the server caches of a document another node changed
// (all documents for a change with All set), and counts the change so that
// an icon read before it is not cached after it. On a shared store the
// icon cache also checks each entry's ETag against the store on every
// request; forgetting at once frees the memory and makes the next GET
// decode the new icon.
func (s *Server) Forget(c store.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	if c.All {
		clear(s.cache)
		s.cacheBytes = 0
		return
	}
	if ic, ok := s.cache[c.Key.String()]; ok && ic.etag != c.ETag {
		s.cacheDeleteLocked(c.Key.String())
	}
}

// CachedIcons returns how many icon documents the server holds decoded.
func (s *Server) CachedIcons() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.cache)
}
