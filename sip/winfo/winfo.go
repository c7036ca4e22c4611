// Package winfo parses and writes watcher information documents
// (application/watcherinfo+xml, RFC 3858), the body of presence.winfo
// NOTIFYs (RFC 3857) that tell a presentity who is watching it.
package winfo

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Namespace is the watcherinfo XML namespace; ContentType its MIME type.
const (
	Namespace   = "urn:ietf:params:xml:ns:watcherinfo"
	ContentType = "application/watcherinfo+xml"
)

// Limits enforced by Parse.
const (
	// MaxDocumentSize is the largest watcherinfo body accepted, in bytes.
	MaxDocumentSize = 256 << 10
	// MaxWatchers is the largest number of watchers accepted in one
	// document (all lists together).
	MaxWatchers = 2000
	// MaxDepth is the deepest element nesting accepted (the format needs 3).
	MaxDepth = 16
)

// Watcher statuses (RFC 3858 §4.3). Kamailio reports new, unauthorized
// watchers as "waiting" in some configurations; Pending treats it like
// "pending".
const (
	StatusPending    = "pending"
	StatusActive     = "active"
	StatusWaiting    = "waiting"
	StatusTerminated = "terminated"
)

// maxElements bounds the elements of one document: a watcher-list per
// watcher at most, with room for extensions; maxNodes adds a run of text
// (a URI, indentation) per element.
const (
	maxElements = 4 * MaxWatchers
	maxNodes    = 2 * maxElements
)

// limits are the XML limits of a watcherinfo document.
var limits = xmltree.Limits{MaxBytes: MaxDocumentSize, MaxDepth: MaxDepth, MaxElements: maxElements, MaxNodes: maxNodes}

// WhatWatchers names the MaxWatchers limit in a *xmltree.LimitError.
const WhatWatchers = "number of watchers"

// Errors returned by Parse. A document over a limit is an
// *xmltree.LimitError.
var (
	ErrEmpty      = errors.New("winfo: empty document")
	ErrMalformed  = errors.New("winfo: malformed document")
	ErrVersionGap = errors.New("winfo: version gap, refresh the subscription for full state")
)

// Watcher is one <watcher> element.
type Watcher struct {
	ID          string
	URI         string // the watcher's URI (element content)
	DisplayName string
	// Status is pending, active, waiting or terminated (lower-cased).
	Status string
	// Event is the last state change: subscribe, approved, deactivated,
	// probation, rejected, timeout, giveup, noresource (lower-cased).
	Event string
	// Expiration and DurationSubscribed are seconds; 0 when absent (a
	// zero value is not worth telling apart, and a Watcher literal then
	// writes no attribute).
	Expiration, DurationSubscribed int
	// Resource and Package are those of the enclosing <watcher-list>.
	Resource, Package string
}

// Pending reports whether the watcher waits for the presentity's decision
// ("pending", or "waiting" as some servers say).
func (w Watcher) Pending() bool { return w.Status == StatusPending || w.Status == StatusWaiting }

// Info is one watcherinfo document.
type Info struct {
	// Resource and Package are those of the first watcher list.
	Resource string
	Package  string
	Version  int
	// Full is true for state="full", false for state="partial".
	Full     bool
	Watchers []Watcher
}

// Parse decodes a watcherinfo document. Elements are matched by namespace
// URI (any prefix); unknown elements and attributes are ignored.
func Parse(data []byte) (*Info, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("winfo: %w", xmltree.TooLarge(xmltree.WhatSize, int64(len(data)), MaxDocumentSize))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	doc, err := xmltree.Parse(data, limits)
	var le *xmltree.LimitError
	switch {
	case errors.As(err, &le):
		return nil, fmt.Errorf("winfo: %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	root := doc.Root
	// ns is Namespace, or "" for documents that forgot it.
	ns := root.Space
	if root.Local != "watcherinfo" || (ns != Namespace && ns != "") {
		return nil, fmt.Errorf("%w: root element is {%s}%s, not watcherinfo", ErrMalformed, root.Space, root.Local)
	}
	info := &Info{}
	if info.Version, err = uintAttr(root, "version", true); err != nil {
		return nil, err
	}
	switch st, _ := root.Attr("state"); strings.ToLower(st) {
	case "full":
		info.Full = true
	case "partial":
	default:
		return nil, fmt.Errorf("%w: state %q is neither full nor partial", ErrMalformed, st)
	}
	listsSeen := false
	for _, l := range root.Children {
		if !l.Is(ns, "watcher-list") {
			continue
		}
		list := Watcher{Resource: strings.TrimSpace(attr(l, "resource")), Package: strings.ToLower(strings.TrimSpace(attr(l, "package")))}
		if !listsSeen {
			info.Resource, info.Package, listsSeen = list.Resource, list.Package, true
		}
		for _, e := range l.Children {
			if !e.Is(ns, "watcher") {
				continue
			}
			if len(info.Watchers) >= MaxWatchers {
				return nil, fmt.Errorf("winfo: %w", &xmltree.LimitError{What: WhatWatchers, Limit: MaxWatchers})
			}
			w := Watcher{
				ID:          attr(e, "id"),
				URI:         strings.TrimSpace(e.OwnText()),
				DisplayName: attr(e, "display-name"),
				Status:      strings.ToLower(strings.TrimSpace(attr(e, "status"))),
				Event:       strings.ToLower(strings.TrimSpace(attr(e, "event"))),
				Resource:    list.Resource,
				Package:     list.Package,
			}
			if w.Expiration, err = uintAttr(e, "expiration", false); err != nil {
				return nil, err
			}
			if w.DurationSubscribed, err = uintAttr(e, "duration-subscribed", false); err != nil {
				return nil, err
			}
			if w.URI == "" {
				return nil, fmt.Errorf("%w: watcher %q without URI", ErrMalformed, w.ID)
			}
			info.Watchers = append(info.Watchers, w)
		}
	}
	return info, nil
}

func attr(n *xmltree.Node, local string) string {
	v, _ := n.Attr(local)
	return v
}

// uintAttr reads an xs:unsignedLong attribute as an int; 0 when absent
// and not required. Anything but digits is an error.
func uintAttr(n *xmltree.Node, local string, required bool) (int, error) {
	v := strings.TrimSpace(attr(n, local))
	if v == "" {
		if required {
			return 0, fmt.Errorf("%w: <%s> lacks %s", ErrMalformed, n.Local, local)
		}
		return 0, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: %s=%q is not a non-negative integer", ErrMalformed, local, v)
		}
	}
	n64, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n64 > 1<<53 {
		return 0, fmt.Errorf("%w: %s=%q is out of range", ErrMalformed, local, v)
	}
	return int(n64), nil
}

// Encode writes an Info as a watcherinfo document. Watchers are grouped in
// one <watcher-list> per (resource, package), in order of first
// appearance; a watcher without its own Resource/Package takes Info's, and
// an empty package is "presence". Missing required attributes get
// defaults (id derived from the URI, status pending, event subscribe).
func Encode(i Info) []byte {
	type key struct{ resource, pkg string }
	var order []key
	groups := map[key][]Watcher{}
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	listPkg := def(i.Package, "presence")
	if len(i.Watchers) == 0 {
		order = append(order, key{i.Resource, listPkg})
	}
	for _, w := range i.Watchers {
		k := key{def(w.Resource, i.Resource), def(w.Package, listPkg)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], w)
	}
	state := "partial"
	if i.Full {
		state = "full"
	}
	b := make([]byte, 0, 256+128*len(i.Watchers))
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	b = fmt.Appendf(b, `<watcherinfo xmlns="%s" version="%d" state="%s">`+"\n", Namespace, max(i.Version, 0), state)
	for _, k := range order {
		b = append(b, `  <watcher-list resource="`...)
		b = xmltree.AppendAttrValue(b, k.resource)
		b = append(b, `" package="`...)
		b = xmltree.AppendAttrValue(b, k.pkg)
		b = append(b, `">`+"\n"...)
		for n, w := range groups[k] {
			b = append(b, `    <watcher id="`...)
			b = xmltree.AppendAttrValue(b, def(w.ID, fmt.Sprintf("w%d", n+1)))
			b = append(b, `" status="`...)
			b = xmltree.AppendAttrValue(b, def(w.Status, StatusPending))
			b = append(b, `" event="`...)
			b = xmltree.AppendAttrValue(b, def(w.Event, "subscribe"))
			b = append(b, '"')
			if w.DisplayName != "" {
				b = append(b, ` display-name="`...)
				b = xmltree.AppendAttrValue(b, w.DisplayName)
				b = append(b, '"')
			}
			if w.Expiration > 0 {
				b = fmt.Appendf(b, ` expiration="%d"`, w.Expiration)
			}
			if w.DurationSubscribed > 0 {
				b = fmt.Appendf(b, ` duration-subscribed="%d"`, w.DurationSubscribed)
			}
			b = append(b, '>')
			b = xmltree.AppendText(b, w.URI)
			b = append(b, "</watcher>\n"...)
		}
		b = append(b, "  </watcher-list>\n"...)
	}
	return append(b, "</watcherinfo>\n"...)
}

// Merge applies the next NOTIFY's document to the current state of one
// subscription (RFC 3857 versioning; pass cur=nil when a new subscription
// dialog starts, versions restart there). A full document replaces the
// state; a partial one must carry the next version and updates watchers by
// id (within their list). A partial document with a later, non-consecutive
// version is ErrVersionGap (cur is returned): refresh the subscription to
// get full state. An old or repeated partial version is ignored.
func Merge(cur *Info, next *Info) (*Info, error) {
	if next.Full {
		return next, nil
	}
	if cur == nil {
		return nil, ErrVersionGap
	}
	switch {
	case next.Version <= cur.Version:
		return cur, nil
	case next.Version != cur.Version+1:
		return cur, ErrVersionGap
	}
	out := &Info{Resource: cur.Resource, Package: cur.Package, Version: next.Version, Full: true,
		Watchers: append([]Watcher(nil), cur.Watchers...)}
	for _, w := range next.Watchers {
		replaced := false
		for j := range out.Watchers {
			o := &out.Watchers[j]
			if o.ID == w.ID && o.Resource == w.Resource && o.Package == w.Package {
				*o, replaced = w, true
				break
			}
		}
		if !replaced {
			out.Watchers = append(out.Watchers, w)
		}
	}
	return out, nil
}
