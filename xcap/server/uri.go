package server

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
)

// MaxURILength bounds the request path the URI parser accepts.
const MaxURILength = 8 << 10

// ErrBadURI is wrapped by every ParseURI error; the server answers 400.
var ErrBadURI = errors.New("xcap: malformed XCAP URI")

// URI is an XCAP request URI below the XCAP root (RFC 4825 §6), decoded.
type URI struct {
	AUID   string
	Global bool
	// XUI is the user's identifier in canonical form "sip:alice@example.test"
	// (scheme and domain lower-cased, "sip:" and the default domain added
	// when the request left them out). Empty for the global tree.
	XUI string
	// Document is the document path below the user's folder or the global
	// tree, segments decoded and joined with "/": "index",
	// "oma_status-icon/index".
	Document string
	// NodeSelector is the percent-decoded node selector without the "~~"
	// separator ("/resource-lists/list[@name=\"x\"]"), or "" for a document.
	NodeSelector string
	// HasNodeSelector distinguishes "/doc/~~" (empty node selector) from
	// "/doc".
	HasNodeSelector bool
}

// ParseURI parses the escaped path that follows the XCAP root, e.g.
// "/resource-lists/users/sip:alice@example.test/index/~~/resource-lists".
// The path must be the raw request path, not one that has been cleaned or
// decoded: node selectors may contain "//" and segments may contain "%2F".
// defaultDomain completes an XUI written without a domain ("alice").
func ParseURI(escapedPath, defaultDomain string) (URI, error) {
	var u URI
	if len(escapedPath) > MaxURILength {
		return u, fmt.Errorf("%w: longer than %d bytes", ErrBadURI, MaxURILength)
	}
	if !strings.HasPrefix(escapedPath, "/") {
		return u, fmt.Errorf("%w: path does not start with /", ErrBadURI)
	}
	rest := escapedPath[1:]
	var docPart string
	// The node selector starts at the first segment that decodes to "~~".
	docPart, u.NodeSelector, u.HasNodeSelector = splitNodeSelector(rest)
	if u.HasNodeSelector {
		ns, err := url.PathUnescape(u.NodeSelector)
		if err != nil {
			return u, fmt.Errorf("%w: node selector: %v", ErrBadURI, err)
		}
		u.NodeSelector = ns
	}
	raw := strings.Split(docPart, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		d, err := url.PathUnescape(s)
		if err != nil {
			return u, fmt.Errorf("%w: segment %q: %v", ErrBadURI, s, err)
		}
		if !utf8.ValidString(d) {
			// RFC 3986 §2.5: the characters of a path are UTF-8; a name
			// that is not could never be written back as it came.
			return u, fmt.Errorf("%w: segment %q is not UTF-8", ErrBadURI, s)
		}
		segs[i] = d
	}
	if len(segs) < 3 || segs[0] == "" {
		return u, fmt.Errorf("%w: want <auid>/global/<doc> or <auid>/users/<xui>/<doc>", ErrBadURI)
	}
	u.AUID = segs[0]
	var doc []string
	switch segs[1] {
	case "global":
		u.Global = true
		doc = segs[2:]
	case "users":
		if len(segs) < 4 {
			return u, fmt.Errorf("%w: no document below the user's folder", ErrBadURI)
		}
		xui, err := CanonicalXUI(segs[2], defaultDomain)
		if err != nil {
			return u, err
		}
		u.XUI = xui
		doc = segs[3:]
	default:
		return u, fmt.Errorf("%w: tree %q is neither global nor users", ErrBadURI, segs[1])
	}
	for _, s := range doc {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
			return u, fmt.Errorf("%w: bad document path segment %q", ErrBadURI, s)
		}
	}
	u.Document = strings.Join(doc, "/")
	return u, nil
}

// splitNodeSelector splits an escaped path at the first segment that decodes
// to "~~"; the node selector keeps its leading "/".
func splitNodeSelector(p string) (doc, node string, ok bool) {
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		if seg == "~~" || (strings.Contains(seg, "%") && decodesTo(seg, "~~")) {
			doc = strings.TrimSuffix(p[:start], "/")
			return doc, p[i:], true
		}
		start = i + 1
	}
	return p, "", false
}

func decodesTo(seg, want string) bool {
	d, err := url.PathUnescape(seg)
	return err == nil && d == want
}

// CanonicalXUI returns the canonical form of an XUI, its address-of-record
// "sip:user@domain" by sipuri's rule (sips: folded to sip:, user and domain
// lower-cased, parameters dropped), so that every spelling of one user
// reaches one folder. A missing "sip:" scheme is added and a missing domain
// is taken from defaultDomain, as OpenXCAP does. An XUI of another scheme
// (tel:...) is kept as written, its scheme lower-cased.
func CanonicalXUI(xui, defaultDomain string) (string, error) {
	if xui == "" || strings.ContainsAny(xui, "/\x00") || !utf8.ValidString(xui) {
		// Not UTF-8: no user identifier can be written back as it came.
		return "", fmt.Errorf("%w: bad XUI %q", ErrBadURI, xui)
	}
	if i := strings.IndexByte(xui, ':'); i >= 0 {
		s := strings.ToLower(xui[:i])
		if at := strings.IndexByte(xui, '@'); s != "sip" && s != "sips" && (at < 0 || at > i) {
			return s + xui[i:], nil
		}
	}
	full := xui
	if !strings.Contains(full, "@") && defaultDomain != "" {
		full += "@" + defaultDomain
	}
	if l := strings.ToLower(full); !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		full = "sip:" + full
	}
	u, err := sipuri.Parse(full)
	if err == nil {
		full, err = u.XUI()
	}
	if err != nil {
		return "", fmt.Errorf("%w: bad XUI %q: %w", ErrBadURI, xui, err)
	}
	return full, nil
}

// ParseNamespaceBindings parses the query part of an XCAP URI,
// "xmlns(p=urn:x)xmlns(q=urn:y)", into prefix → namespace URI.
func ParseNamespaceBindings(rawQuery string) (map[string]string, error) {
	if rawQuery == "" {
		return nil, nil
	}
	q, err := url.QueryUnescape(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrBadURI, err)
	}
	out := map[string]string{}
	for q != "" {
		if !strings.HasPrefix(q, "xmlns(") {
			return nil, fmt.Errorf("%w: query %q is not a list of xmlns() bindings", ErrBadURI, q)
		}
		end := strings.IndexByte(q, ')')
		if end < 0 {
			return nil, fmt.Errorf("%w: unterminated xmlns(", ErrBadURI)
		}
		prefix, ns, ok := strings.Cut(q[len("xmlns("):end], "=")
		if !ok || !isNCName(prefix) || ns == "" {
			return nil, fmt.Errorf("%w: bad binding %q", ErrBadURI, q[:end+1])
		}
		out[prefix] = ns
		q = q[end+1:]
	}
	return out, nil
}
