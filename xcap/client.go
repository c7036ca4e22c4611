// Package xcap is an XCAP (RFC 4825) client: documents with ETags and
// conditional requests, Update (the read-modify-write every editor of a
// shared document uses), typed errors carrying the xcap-error detail, the
// xcap-caps and OMA xcap-directory documents, and OMA pres-content icons.
package xcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// MaxResponseSize bounds every response body the client reads.
const MaxResponseSize = 4 << 20

// DefaultTimeout is the timeout of the HTTP client NewClient makes when the
// caller gives none.
const DefaultTimeout = 30 * time.Second

// Well-known AUIDs.
const (
	AUIDCaps          = "xcap-caps"
	AUIDDirectory     = "org.openmobilealliance.xcap-directory"
	AUIDPresContent   = "org.openmobilealliance.pres-content"
	AUIDLegacyIcon    = "oma_status-icon" // OpenXCAP 2009-2012, and our embedded server
	AUIDResourceLists = "resource-lists"
	AUIDPresRules     = "pres-rules"
	AUIDOMAPresRules  = "org.openmobilealliance.pres-rules"
	AUIDRLSServices   = "rls-services"
)

// ErrNotModified is returned by conditional GETs answered 304.
var ErrNotModified = errors.New("not modified")

// ClientOptions configure a Client.
type ClientOptions struct {
	Root     string // "http://127.0.0.1:8080/xcap-root"
	XUI      string // "sip:alice@example.test"
	Username string // default: user part of XUI
	Password string // empty: no credentials are ever sent
	// Realm is the only Digest realm the password is given to; default the
	// domain of the XUI (OpenXCAP's realm, and what the SDK tools did). "*"
	// answers any realm.
	Realm string
	HTTP  *http.Client // optional; its Transport is wrapped for Digest
	// TLS says how HTTPS servers are verified when HTTP is nil (system
	// roots by default, a CA file, or no verification for test servers);
	// the certificate must hold the URL's host name.
	TLS tlsconf.Options
}

// Client talks to one XCAP root as one user. It is safe for concurrent use.
type Client struct {
	root     string
	xui      string
	username string
	http     *http.Client // with Digest credentials
	public   *http.Client // the same transport without credentials
	icons    iconLayout
	// password is what Digest answers with; SetPassword replaces it.
	password atomic.Pointer[string]
}

// NewClient checks the options and builds a client.
func NewClient(o ClientOptions) (*Client, error) {
	root := strings.TrimRight(o.Root, "/")
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("xcap: invalid XCAP root %q: want an http or https URL", o.Root)
	}
	user, domain, err := SplitXUI(o.XUI)
	if err != nil {
		return nil, err
	}
	username := o.Username
	if username == "" {
		username = user
	}
	realm := o.Realm
	if realm == "" {
		realm = domain
	}
	base := o.HTTP
	if base == nil {
		tr, err := tlsconf.HTTPTransport(o.TLS)
		if err != nil {
			return nil, fmt.Errorf("xcap: %w", err)
		}
		base = &http.Client{Timeout: DefaultTimeout, Transport: tr}
	}
	c := &Client{root: root, xui: o.XUI, username: username, public: base, http: base}
	c.password.Store(&o.Password)
	if o.Password != "" {
		inner := base.Transport
		if inner == nil {
			inner = http.DefaultTransport
		}
		authed := *base
		authed.Transport = &digest.Transport{
			Username:  username,
			Password:  o.Password,
			Transport: inner,
			Digest: func(req *http.Request, chal *digest.Challenge, opt digest.Options) (*digest.Credentials, error) {
				if realm != "*" && !strings.EqualFold(chal.Realm, realm) {
					// Not our realm: send nothing, the caller sees the 401.
					return nil, nil
				}
				opt.Password = *c.password.Load()
				return digest.Digest(chal, opt)
			},
		}
		c.http = &authed
	}
	return c, nil
}

// SetPassword replaces the password requests are answered with (after the
// person typed it again). A client built without a password sends none.
func (c *Client) SetPassword(password string) { c.password.Store(&password) }

// CloseIdleConnections closes the kept-alive connections of the client's
// HTTP transport (its own when ClientOptions.HTTP was nil), so that a
// client no longer used leaves no connection and goroutine behind.
func (c *Client) CloseIdleConnections() { c.public.CloseIdleConnections() }

// SplitXUI returns the user and domain parts of "sip:alice@example.test".
func SplitXUI(xui string) (user, domain string, err error) {
	rest, ok := strings.CutPrefix(xui, "sip:")
	if !ok {
		rest, ok = strings.CutPrefix(xui, "sips:")
	}
	user, domain, found := strings.Cut(rest, "@")
	if !ok || !found || user == "" || domain == "" || strings.ContainsAny(xui, "/?#% \t\r\n") {
		return "", "", fmt.Errorf("xcap: invalid account %q: want sip:user@domain", xui)
	}
	return user, domain, nil
}

// Root is the XCAP root without a trailing slash.
func (c *Client) Root() string { return c.root }

// XUI is the user's XCAP User Identifier ("sip:alice@example.test").
func (c *Client) XUI() string { return c.xui }

// Condition makes a PUT or DELETE conditional. ETags are given unquoted (the
// client quotes them) or as "*".
type Condition struct{ IfMatch, IfNoneMatch string }

// Document is a fetched document (or element, when the path has a node
// selector).
type Document struct {
	Body        []byte
	ETag        string // unquoted
	ContentType string
	URL         string
	Header      http.Header
}

// Response is the answer to a successful PUT or DELETE.
type Response struct {
	StatusCode int    // HTTP status code, as net/http names it
	Status     string // "201 Created"
	URL        string
	ETag       string // unquoted; empty if the server sent none
	Header     http.Header
	Body       []byte
}

// Error is an HTTP error answer. Tag and Phrase come from an
// application/xcap-error+xml body (RFC 4825 §11).
type Error struct {
	Method     string
	URL        string
	StatusCode int    // HTTP status code, as net/http names it
	Status     string // "409 Conflict"
	Tag        string // "constraint-failure", "not-well-formed", ...
	Phrase     string // the server's human-readable explanation, if any
	Body       []byte
	Header     http.Header
}

func (e *Error) Error() string {
	status := e.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	switch {
	case e.Phrase != "":
		return status + ": " + e.Phrase
	case e.Tag != "":
		return status + ": " + strings.ReplaceAll(e.Tag, "-", " ")
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return status + ": wrong user name or password"
	case http.StatusForbidden:
		return status + ": this account may not access that document"
	case http.StatusNotFound:
		return status + ": no such document"
	case http.StatusPreconditionFailed:
		return status + ": the document was changed by someone else"
	case http.StatusRequestEntityTooLarge:
		return status + ": the document is too large for the server"
	}
	return status
}

// StatusCodeOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusCodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return StatusCodeOf(err) == http.StatusNotFound }

// userURL is the document selector URL of path in the user's tree; path may
// carry a node selector ("index/~~/resource-lists/list[@name=\"x\"]").
func (c *Client) userURL(auid, path string) string {
	return c.root + "/" + escapeSegment(auid) + "/users/" + escapeSegment(c.xui) + "/" + escapePath(path)
}

// DocumentURL is the URL of a document in the user's tree.
func (c *Client) DocumentURL(auid, path string) string { return c.userURL(auid, path) }

// GlobalURL is the URL of a document in the global tree.
func (c *Client) GlobalURL(auid, path string) string {
	return c.root + "/" + escapeSegment(auid) + "/global/" + escapePath(path)
}

// escapePath percent-encodes each segment of a document or node selector.
// ":" "@" and the other RFC 3986 pchar delimiters stay literal (sipsimple
// sends the XUI that way); "[", "]", '"', space, "?", "#" and "%" are
// encoded as RFC 4825 requires.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	return strings.Join(segs, "/")
}

func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// quoteETag writes an ETag for a request header: quoted unless it already is
// or is "*".
func quoteETag(etag string) string {
	if etag == "*" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// unquoteETag accepts `"abc"`, `W/"abc"` and a bare abc (Kamailio, some
// proxies).
func unquoteETag(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// readLimited reads at most limit bytes of body and fails beyond.
func readLimited(body io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the server's answer: %w", &xmltree.LimitError{What: icon.WhatBody, Limit: limit, Unit: xmltree.Bytes})
	}
	return data, nil
}

// do sends one request and reads the whole answer. Bodies are given as
// bytes.Reader so net/http sets GetBody and the Digest transport can resend
// them after a 401.
func do(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, header http.Header, limit int64) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, r)
	if err != nil {
		return nil, nil, fmt.Errorf("xcap: %s %s: %w", method, rawURL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, &TransportError{Method: method, URL: rawURL, Err: err}
	}
	defer resp.Body.Close()
	data, err := readLimited(resp.Body, limit)
	if err != nil {
		return resp, nil, fmt.Errorf("xcap: %s %s: %w", method, rawURL, err)
	}
	return resp, data, nil
}

// TransportError means the server could not be reached or the connection
// failed; no HTTP answer was received.
type TransportError struct {
	Method, URL string
	Err         error
}

func (e *TransportError) Error() string {
	host := e.URL
	if u, err := url.Parse(e.URL); err == nil {
		host = u.Host
	}
	inner := e.Err
	var ue *url.Error
	if errors.As(inner, &ue) {
		inner = ue.Err
	}
	return fmt.Sprintf("cannot reach the XCAP server at %s: %v", host, inner)
}

func (e *TransportError) Unwrap() error { return e.Err }

func httpError(method, rawURL string, resp *http.Response, body []byte) *Error {
	e := &Error{
		Method:     method,
		URL:        rawURL,
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Body:       body,
		Header:     resp.Header,
	}
	if e.Status == "" || e.Status == fmt.Sprint(resp.StatusCode) {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if ct := mediaType(resp.Header.Get("Content-Type")); ct == ErrorMIMEType || bytes.Contains(body, []byte(ErrorNamespace)) {
		if x, err := ParseXCAPError(body); err == nil {
			e.Tag, e.Phrase = x.Tag, x.Phrase
		}
	}
	return e
}

func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// Get fetches a document (or, with "/~~/" in path, an element or attribute)
// from the user's tree. A non-empty ifNoneMatch makes it conditional; a 304
// answer returns ErrNotModified.
func (c *Client) Get(ctx context.Context, auid, path string, ifNoneMatch string) (*Document, error) {
	return c.getURL(ctx, c.userURL(auid, path), ifNoneMatch)
}

// GetGlobal fetches a document from the global tree.
func (c *Client) GetGlobal(ctx context.Context, auid, path string) (*Document, error) {
	return c.getURL(ctx, c.GlobalURL(auid, path), "")
}

func (c *Client) getURL(ctx context.Context, rawURL, ifNoneMatch string) (*Document, error) {
	h := http.Header{}
	if ifNoneMatch != "" {
		h.Set("If-None-Match", quoteETag(ifNoneMatch))
	}
	resp, body, err := do(ctx, c.http, http.MethodGet, rawURL, nil, h, MaxResponseSize)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, ErrNotModified
	}
	if resp.StatusCode/100 != 2 {
		return nil, httpError(http.MethodGet, rawURL, resp, body)
	}
	return &Document{
		Body:        body,
		ETag:        unquoteETag(resp.Header.Get("ETag")),
		ContentType: resp.Header.Get("Content-Type"),
		URL:         rawURL,
		Header:      resp.Header,
	}, nil
}

// Put stores a document (or element/attribute) in the user's tree.
func (c *Client) Put(ctx context.Context, auid, path string, body []byte, contentType string, cond Condition) (*Response, error) {
	if body == nil {
		body = []byte{}
	}
	h := http.Header{"Content-Type": {contentType}}
	return c.modify(ctx, http.MethodPut, c.userURL(auid, path), body, h, cond)
}

// Delete removes a document (or element/attribute) from the user's tree.
func (c *Client) Delete(ctx context.Context, auid, path string, cond Condition) (*Response, error) {
	resp, err := c.modify(ctx, http.MethodDelete, c.userURL(auid, path), nil, http.Header{}, cond)
	if err != nil {
		return nil, c.deleteNotFound(ctx, auid, path, err)
	}
	return resp, nil
}

func (c *Client) modify(ctx context.Context, method, rawURL string, body []byte, h http.Header, cond Condition) (*Response, error) {
	if cond.IfMatch != "" {
		h.Set("If-Match", quoteETag(cond.IfMatch))
	}
	if cond.IfNoneMatch != "" {
		h.Set("If-None-Match", quoteETag(cond.IfNoneMatch))
	}
	resp, data, err := do(ctx, c.http, method, rawURL, body, h, MaxResponseSize)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, httpError(method, rawURL, resp, data)
	}
	return &Response{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		URL:        rawURL,
		ETag:       unquoteETag(resp.Header.Get("ETag")),
		Header:     resp.Header,
		Body:       data,
	}, nil
}
