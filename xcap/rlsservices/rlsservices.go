// Package rlsservices reads and edits RFC 4826 rls-services documents: the
// XCAP document that tells a resource list server which lists to serve
// under which SIP URI.
//
// A client that wants one SUBSCRIBE for its whole buddy list makes sure its
// rls-services document has a presence service (python-sipsimple's
// convention: sip:<user>+presence@<domain>) whose <resource-list> points at
// the buddy list in its resource-lists document, then subscribes to that
// URI with Supported: eventlist. Editing keeps every other service and
// every foreign element as another client wrote it.
package rlsservices

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// XCAP names of the document.
const (
	AUID         = "rls-services"
	ContentType  = "application/rls-services+xml"
	Namespace    = "urn:ietf:params:xml:ns:rls-services"
	DocumentPath = "index"
	// PresencePackage is the event package of a presence list service.
	PresencePackage = "presence"
)

// MaxDocumentSize is the largest document Parse accepts, in bytes.
const MaxDocumentSize = 256 << 10

var limits = xmltree.Limits{MaxBytes: MaxDocumentSize}

// ErrNotServices is returned for a document whose root is not
// <rls-services>.
var ErrNotServices = errors.New("rlsservices: not an rls-services document")

// Service is one <service>.
type Service struct {
	URI string
	// ResourceList is the XCAP URL of the list the service serves
	// (<resource-list>), "" when the list is written inline (<list>).
	ResourceList string
	// Inline is the number of entries of an inline <list>.
	Inline   int
	Packages []string
}

// Serves reports whether the service carries the event package pkg; a
// service that names no packages carries every one.
func (s Service) Serves(pkg string) bool {
	if len(s.Packages) == 0 {
		return true
	}
	for _, p := range s.Packages {
		if strings.EqualFold(p, pkg) {
			return true
		}
	}
	return false
}

// Document is an rls-services document being read or edited.
type Document struct {
	dom *xmltree.Document
}

const emptyDocument = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
</rls-services>
`

// New returns an empty document.
func New() *Document {
	d, err := Parse([]byte(emptyDocument))
	if err != nil {
		panic(err) // a constant that parses; covered by tests
	}
	return d
}

// Parse reads an rls-services document.
func Parse(data []byte) (*Document, error) {
	dom, err := xmltree.Parse(data, limits)
	if err != nil {
		return nil, fmt.Errorf("rlsservices: %w", err)
	}
	if !dom.Root.Is(Namespace, "rls-services") {
		return nil, fmt.Errorf("%w: root element is {%s}%s", ErrNotServices, dom.Root.Space, dom.Root.Local)
	}
	return &Document{dom: dom}, nil
}

// Marshal writes the document.
func (d *Document) Marshal() []byte { return d.dom.Bytes() }

// Services returns every service, in document order.
func (d *Document) Services() []Service {
	var out []Service
	d.dom.Root.EachElement(func(c *xmltree.Node) {
		if !c.Is(Namespace, "service") {
			return
		}
		s := Service{}
		s.URI, _ = c.Attr("uri")
		c.EachElement(func(e *xmltree.Node) {
			switch {
			case e.Is(Namespace, "resource-list"):
				s.ResourceList = e.TextContent()
			case e.Is(Namespace, "list"):
				e.EachElement(func(x *xmltree.Node) {
					if x.Local == "entry" {
						s.Inline++
					}
				})
			case e.Is(Namespace, "packages"):
				e.EachElement(func(p *xmltree.Node) {
					if p.Is(Namespace, "package") {
						s.Packages = append(s.Packages, p.TextContent())
					}
				})
			}
		})
		out = append(out, s)
	})
	return out
}

// Service returns the service with uri (compared as written, case-blind
// in the scheme and host as SIP URIs are), and whether there is one.
func (d *Document) Service(uri string) (Service, bool) {
	for _, s := range d.Services() {
		if strings.EqualFold(s.URI, uri) {
			return s, true
		}
	}
	return Service{}, false
}

// Ensure makes the document serve listURL as a presence list under uri,
// changing an existing service of that URI (its resource-list and
// packages) or adding one. It reports whether the document changed.
func (d *Document) Ensure(uri, listURL string) bool {
	if s, ok := d.Service(uri); ok && s.ResourceList == listURL && len(s.Packages) == 1 && s.Packages[0] == PresencePackage {
		return false
	}
	root := d.dom.Root
	var svc *xmltree.Node
	root.EachElement(func(c *xmltree.Node) {
		if svc == nil && c.Is(Namespace, "service") {
			if u, _ := c.Attr("uri"); strings.EqualFold(u, uri) {
				svc = c
			}
		}
	})
	if svc == nil {
		svc = root.AddElement(Namespace, "service", "")
		svc.SetAttr("uri", uri)
	}
	for _, c := range svc.Elements() {
		if c.Is(Namespace, "resource-list") || c.Is(Namespace, "list") || c.Is(Namespace, "packages") {
			svc.Remove(c)
		}
	}
	svc.AddElement(Namespace, "resource-list", "").SetText(listURL)
	svc.AddElement(Namespace, "packages", "").AddElement(Namespace, "package", "").SetText(PresencePackage)
	return true
}

// PresenceServiceURI is python-sipsimple's RLS URI for an account's
// presence list: sip:alice@example.test gives
// sip:alice+presence@example.test.
func PresenceServiceURI(aor string) (string, error) {
	scheme, rest, ok := strings.Cut(aor, ":")
	user, host, ok2 := strings.Cut(rest, "@")
	if !ok || !ok2 || user == "" || host == "" {
		return "", fmt.Errorf("rlsservices: %q is not a SIP address", aor)
	}
	return strings.ToLower(scheme) + ":" + user + "+presence@" + host, nil
}

// ListURL is the XCAP URL of the list named list in xui's resource-lists
// document under root, as <resource-list> carries it (RFC 4826 §4.1: a
// node selector with the list's name).
func ListURL(root, xui, list string) string {
	return strings.TrimRight(root, "/") + "/resource-lists/users/" + xui + "/index/~~/resource-lists/list%5b@name=%22" + url.PathEscape(list) + "%22%5d"
}

// ListName is the inverse of ListURL: the list name in a <resource-list>
// URL of that shape, and whether it has that shape (a URL of another
// user's document, or a selector of another form, does not).
func ListName(listURL, xui string) (string, bool) {
	u, err := url.PathUnescape(listURL)
	if err != nil {
		return "", false
	}
	_, sel, ok := strings.Cut(u, "/resource-lists/users/"+xui+"/index/~~/")
	if !ok {
		return "", false
	}
	for _, prefix := range []string{`resource-lists/list[@name="`, `resource-lists/list[@name='`} {
		if rest, ok := strings.CutPrefix(sel, prefix); ok && len(rest) >= 2 && strings.HasSuffix(rest, "]") {
			name := rest[:len(rest)-2]
			if q := rest[len(rest)-2]; q == prefix[len(prefix)-1] && !strings.ContainsAny(name, `"'[]/`) {
				return name, true
			}
		}
	}
	return "", false
}
