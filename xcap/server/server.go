// Package server is sipbuddy's embedded XCAP server (RFC 4825): an
// http.Handler over xcap/store that serves buddy lists, presence rules, the
// OMA pres-content status icon (and its 2010 oma_status-icon alias), the
// capabilities document and the per-user OMA xcap-directory.
//
// The handler parses the raw request path itself: node selectors contain
// "//" and XUIs may be percent-encoded, so nothing may clean or decode the
// path before it does.
package server

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/digest"
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// DefaultRootPath is where the handler is mounted when Options.Root is empty.
const DefaultRootPath = "/xcap-root"

// Bounds of the icon cache (one entry per icon document, holding its XML
// and decoded image): entries and bytes.
const (
	MaxCachedIcons    = 4096
	MaxIconCacheBytes = 64 << 20
)

// Options configure a Server.
type Options struct {
	Domain   string // realm and default domain, "example.test"
	Root     string // public XCAP root URL, "http://127.0.0.1:8080/xcap-root" (for directory URIs)
	Store    store.Store
	OnChange func(k store.Key) // called after every successful PUT/DELETE
	Logger   *slog.Logger
	// NonceTTL is how long a digest nonce is valid; default 5 minutes.
	NonceTTL time.Duration
	// TLS, when set, makes Listen serve HTTPS with it (the default Root
	// is then https://).
	TLS *tls.Config
	// NonceSecret keys the digest nonces (digest.Options.NonceSecret):
	// XCAP nodes that share it accept each other's nonces. Empty: random
	// per server.
	NonceSecret []byte
}

// Server is the XCAP handler. It implements http.Handler for paths below
// the root path (the path of Options.Root, default /xcap-root).
type Server struct {
	opts     Options
	domain   string // lower-case
	rootPath string
	verifier *digest.Verifier
	log      *slog.Logger
	caps     []byte
	capsETag string

	mu         sync.RWMutex
	cache      map[string]*cachedIcon // store key string → decoded icon
	cacheBytes int
	fastPaths  map[string]fastPathEntry // raw request path → icon (fastget.go)
	// changes counts PUTs and DELETEs: an icon read from the store before
	// a change must not be cached after it (the fast path trusts the
	// cache without asking the store).
	changes uint64

	iconSlots chan struct{} // semaphore of icon validations
	iconWait  time.Duration // IconValidationWait; tests shorten it
	// iconValidating and iconValidatingPeak count the validations running
	// (what the slots bound), for the tests.
	iconValidating, iconValidatingPeak atomic.Int32
}

// New returns a Server.
func New(o Options) (*Server, error) {
	if o.Domain == "" {
		return nil, errors.New("xcap/server: Options.Domain is required")
	}
	if o.Store == nil {
		return nil, errors.New("xcap/server: Options.Store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:      o,
		domain:    strings.ToLower(o.Domain),
		rootPath:  DefaultRootPath,
		log:       o.Logger,
		cache:     map[string]*cachedIcon{},
		fastPaths: map[string]fastPathEntry{},

		iconSlots: make(chan struct{}, MaxConcurrentIconValidations),
		iconWait:  IconValidationWait,
	}
	if o.Root != "" {
		u, err := url.Parse(o.Root)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("xcap/server: Options.Root %q is not an absolute http(s) URL", o.Root)
		}
		s.rootPath = strings.TrimSuffix(u.EscapedPath(), "/")
		s.opts.Root = strings.TrimSuffix(o.Root, "/")
	}
	s.verifier = digest.NewVerifier(digest.Options{
		Realm:       o.Domain,
		HA1:         o.Store.HA1,
		NonceTTL:    o.NonceTTL,
		NonceSecret: o.NonceSecret,
	})
	s.caps = capsDocument()
	s.capsETag = contentETag(s.caps)
	return s, nil
}

// rootURL is Options.Root, or the root as this request reached it.
func (s *Server) rootURL(r *http.Request) string {
	if s.opts.Root != "" {
		return s.opts.Root
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.rootPath
}

// RootPath returns the path the handler serves ("/xcap-root").
func (s *Server) RootPath() string { return s.rootPath }

func contentETag(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:16])
}

func quote(etag string) string { return `"` + etag + `"` }

// requestPath returns the raw request path (never cleaned or decoded).
func requestPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	}
	return r.URL.EscapedPath()
}

// request is one XCAP request being served.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	uri URI
	app *app
	key store.Key
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := requestPath(r)
	rest, ok := strings.CutPrefix(p, s.rootPath)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, r)
		return
	}
	u, err := ParseURI(rest, s.domain)
	if err != nil {
		if rest == "" || rest == "/" {
			http.NotFound(w, r)
			return
		}
		s.plain(w, http.StatusBadRequest, err.Error())
		return
	}
	a := appByAUID[u.AUID]
	if a == nil {
		s.plain(w, http.StatusNotFound, "unknown application usage "+u.AUID)
		return
	}
	allow := "GET, HEAD, PUT, DELETE"
	if a.readOnly {
		allow = "GET, HEAD"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut, http.MethodDelete:
		if a.readOnly || u.Global {
			w.Header().Set("Allow", "GET, HEAD")
			s.plain(w, http.StatusMethodNotAllowed, a.auid+" is read-only")
			return
		}
	default:
		w.Header().Set("Allow", allow)
		s.plain(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed")
		return
	}
	if u.Global != (a.auid == AUIDCaps) {
		s.plain(w, http.StatusNotFound, "no such document")
		return
	}
	public := a.publicGET && (r.Method == http.MethodGet || r.Method == http.MethodHead)
	if !public && !s.authorize(w, r, u) {
		return
	}
	q := &request{w: w, r: r, uri: u, app: a,
		key: store.Key{AUID: u.AUID, Global: u.Global, User: u.XUI, Path: u.Document}}
	switch {
	case a.auid == AUIDCaps:
		if u.Document != "index" {
			s.plain(w, http.StatusNotFound, "no such document")
			return
		}
		s.serveGenerated(q, a.mime, s.caps, s.capsETag)
	case a.auid == AUIDDirectory:
		body, err := s.directory(s.rootURL(r), u.XUI)
		if err != nil {
			s.internalError(w, err)
			return
		}
		s.serveGenerated(q, a.mime, body, contentETag(body))
	case r.Method == http.MethodPut:
		s.put(q)
	case r.Method == http.MethodDelete:
		s.delete(q)
	case (a.auid == AUIDPresContent || a.auid == AUIDLegacyStatusIcon) && !u.HasNodeSelector:
		s.getIcon(q)
	default:
		s.get(q)
	}
}

// authorize authenticates the request and checks that the user owns the
// users/ tree it addresses. It answers 401 or 403 itself.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, u URI) bool {
	user, err := s.verifier.VerifyURI(r.Method, r.RequestURI, r.Header.Get("Authorization"))
	if err != nil {
		stale := errors.Is(err, digest.ErrStale) || errors.Is(err, digest.ErrUnknownNonce)
		w.Header().Set("WWW-Authenticate", s.verifier.Challenge(stale))
		s.log.Debug("xcap: unauthorized", "method", r.Method, "path", r.URL.Path, "err", err)
		s.plain(w, http.StatusUnauthorized, "authentication required")
		return false
	}
	if own, err := sipuri.AORKey("sip:" + user + "@" + s.domain); u.Global || err != nil || u.XUI != own {
		s.plain(w, http.StatusForbidden, user+" may not access "+u.XUI+"'s documents")
		return false
	}
	return true
}

func (s *Server) plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

func (s *Server) internalError(w http.ResponseWriter, err error) {
	s.log.Error("xcap: internal error", "err", err)
	s.plain(w, http.StatusInternalServerError, "internal server error")
}

func (s *Server) xcapError(w http.ResponseWriter, e *xmlError) {
	w.Header().Set("Content-Type", MIMEError)
	w.WriteHeader(http.StatusConflict)
	_, _ = w.Write(xcapErrorBody(e.tag, e.phrase))
}

// parseETagList turns an If-Match / If-None-Match header into a store
// condition value: "*" or unquoted ETags joined by commas. Quoted, bare
// (Blink) and weak (W/"x") forms are accepted.
func parseETagList(h string) string {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return h
	}
	var out []string
	for item := range strings.SplitSeq(h, ",") {
		item = strings.TrimSpace(item)
		item = strings.TrimPrefix(item, "W/")
		item = strings.Trim(item, `"`)
		if item != "" {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, ",")
}

func condition(r *http.Request) store.Condition {
	return store.Condition{
		IfMatch:     parseETagList(strings.Join(r.Header.Values("If-Match"), ",")),
		IfNoneMatch: parseETagList(strings.Join(r.Header.Values("If-None-Match"), ",")),
	}
}

// checkGETConditions answers 412 or 304 and returns false when the request
// must not be served.
func (s *Server) checkGETConditions(q *request, etag string) bool {
	c := condition(q.r)
	if c.IfMatch != "" && !(store.Condition{IfMatch: c.IfMatch}).Check(true, etag) {
		q.w.Header().Set("ETag", quote(etag))
		s.plain(q.w, http.StatusPreconditionFailed, "If-Match does not match")
		return false
	}
	if c.IfNoneMatch != "" && !(store.Condition{IfNoneMatch: c.IfNoneMatch}).Check(true, etag) {
		q.w.Header().Set("ETag", quote(etag))
		q.w.WriteHeader(http.StatusNotModified)
		return false
	}
	return true
}

// serveGenerated serves a document the server generates (caps, directory).
func (s *Server) serveGenerated(q *request, mimeType string, body []byte, etag string) {
	if q.uri.HasNodeSelector {
		s.serveSelected(q, body, etag)
		return
	}
	if !s.checkGETConditions(q, etag) {
		return
	}
	s.write(q.w, mimeType, quote(etag), body)
}

func (s *Server) write(w http.ResponseWriter, mimeType, quotedETag string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{mimeType}
	h["Etag"] = []string{quotedETag}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// get serves a stored document or a node of it.
func (s *Server) get(q *request) {
	doc, err := s.opts.Store.Get(q.key)
	if errors.Is(err, store.ErrNotFound) {
		if c := condition(q.r); c.IfMatch != "" {
			s.plain(q.w, http.StatusPreconditionFailed, "no such document")
			return
		}
		s.plain(q.w, http.StatusNotFound, "no such document")
		return
	}
	if err != nil {
		s.internalError(q.w, err)
		return
	}
	if q.uri.HasNodeSelector {
		s.serveSelected(q, doc.Body, doc.ETag)
		return
	}
	if !s.checkGETConditions(q, doc.ETag) {
		return
	}
	s.write(q.w, q.app.mime, quote(doc.ETag), doc.Body)
}

// serveSelected answers an element or attribute GET on body.
func (s *Server) serveSelected(q *request, body []byte, etag string) {
	ns, err := ParseNodeSelector(q.uri.NodeSelector)
	if err != nil {
		s.plain(q.w, http.StatusBadRequest, err.Error())
		return
	}
	bindings, err := ParseNamespaceBindings(q.r.URL.RawQuery)
	if err != nil {
		s.plain(q.w, http.StatusBadRequest, err.Error())
		return
	}
	root, err := parseDocument(body)
	if err != nil {
		s.internalError(q.w, fmt.Errorf("stored document %s does not parse: %w", q.key, err))
		return
	}
	sel, err := selectNode(root, ns, bindings)
	if errors.Is(err, ErrBadNodeSelector) {
		s.plain(q.w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.plain(q.w, http.StatusNotFound, "no such node: "+err.Error())
		return
	}
	if !s.checkGETConditions(q, etag) {
		return
	}
	switch sel.terminal {
	case TerminalAttribute:
		s.write(q.w, MIMEAttribute, quote(etag), xmltree.AppendAttrValue(nil, sel.attr.Value))
	case TerminalNamespace:
		s.write(q.w, MIMENamespaces, quote(etag), namespaceBindings(sel.elem))
	default:
		s.write(q.w, MIMEElement, quote(etag), elementBytes(body, sel.elem))
	}
}

// put stores a whole document.
func (s *Server) put(q *request) {
	if q.uri.HasNodeSelector {
		s.plain(q.w, http.StatusNotImplemented, "PUT of elements and attributes is not supported; PUT the whole document")
		return
	}
	mt, _, err := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, q.app.mime) {
		s.plain(q.w, http.StatusUnsupportedMediaType, "Content-Type must be "+q.app.mime)
		return
	}
	limit := q.app.maxBody
	if q.r.ContentLength > limit {
		q.w.Header().Set("Connection", "close")
		s.plain(q.w, http.StatusRequestEntityTooLarge, fmt.Sprintf("document larger than %d bytes", limit))
		return
	}
	body, err := io.ReadAll(io.LimitReader(q.r.Body, limit+1))
	if err != nil {
		s.plain(q.w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if int64(len(body)) > limit {
		q.w.Header().Set("Connection", "close")
		s.plain(q.w, http.StatusRequestEntityTooLarge, fmt.Sprintf("document larger than %d bytes", limit))
		return
	}
	if q.app.decodesIcon != nil && q.app.decodesIcon(q.key.Path) {
		release, ok := s.acquireIconSlot(q)
		if !ok {
			return
		}
		defer release()
	}
	if xe := checkDocument(q.app, q.key.Path, body); xe != nil {
		s.log.Info("xcap: rejected document", "key", q.key.String(), "error", xe.tag, "phrase", xe.phrase)
		s.xcapError(q.w, xe)
		return
	}
	etag, created, err := s.opts.Store.Put(q.key, body, condition(q.r))
	if errors.Is(err, store.ErrPreconditionFailed) {
		s.plain(q.w, http.StatusPreconditionFailed, "precondition failed")
		return
	}
	if err != nil {
		s.internalError(q.w, err)
		return
	}
	s.changed(q.key)
	q.w.Header().Set("ETag", quote(etag))
	if created {
		q.w.WriteHeader(http.StatusCreated)
	} else {
		q.w.WriteHeader(http.StatusOK)
	}
}

// acquireIconSlot waits for one of the MaxConcurrentIconValidations
// slots, up to IconValidationWait; then it answers 503 with Retry-After
// itself and returns false.
func (s *Server) acquireIconSlot(q *request) (release func(), ok bool) {
	t := time.NewTimer(s.iconWait)
	defer t.Stop()
	select {
	case s.iconSlots <- struct{}{}:
	case <-t.C:
		q.w.Header().Set("Retry-After", strconv.Itoa(IconRetryAfterSeconds))
		s.plain(q.w, http.StatusServiceUnavailable,
			fmt.Sprintf("the server is checking %d other icons; try again in %d seconds", MaxConcurrentIconValidations, IconRetryAfterSeconds))
		return nil, false
	case <-q.r.Context().Done():
		return nil, false // the client has gone
	}
	n := s.iconValidating.Add(1)
	for {
		peak := s.iconValidatingPeak.Load()
		if n <= peak || s.iconValidatingPeak.CompareAndSwap(peak, n) {
			break
		}
	}
	return func() {
		s.iconValidating.Add(-1)
		<-s.iconSlots
	}, true
}

func (s *Server) delete(q *request) {
	if q.uri.HasNodeSelector {
		s.plain(q.w, http.StatusNotImplemented, "DELETE of elements and attributes is not supported; DELETE the whole document")
		return
	}
	err := s.opts.Store.Delete(q.key, condition(q.r))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.plain(q.w, http.StatusNotFound, "no such document")
		return
	case errors.Is(err, store.ErrPreconditionFailed):
		s.plain(q.w, http.StatusPreconditionFailed, "precondition failed")
		return
	case err != nil:
		s.internalError(q.w, err)
		return
	}
	s.changed(q.key)
	q.w.WriteHeader(http.StatusOK)
}

func (s *Server) changed(k store.Key) {
	s.mu.Lock()
	s.changes++
	s.cacheDeleteLocked(k.String())
	s.mu.Unlock()
	if s.opts.OnChange != nil {
		s.opts.OnChange(k)
	}
}
