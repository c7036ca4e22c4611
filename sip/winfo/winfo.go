// Package winfo parses and writes watcher information documents
// (application/watcherinfo+xml, RFC 3858), the body of presence.winfo
// NOTIFYs (RFC 3857) that tell a presentity who is watching it.
package winfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// Errors returned by Parse.
var (
	ErrEmpty      = errors.New("winfo: empty document")
	ErrMalformed  = errors.New("winfo: malformed document")
	ErrTooLarge   = errors.New("winfo: document over limits")
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
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(data), MaxDocumentSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", charset)
	}
	var (
		info      *Info
		depth     int
		ns        string // namespace of the root: Namespace, or "" for documents that forgot it
		list      *Watcher
		current   *Watcher
		text      strings.Builder
		rootSeen  bool
		listsSeen bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrTooLarge, MaxDepth)
			}
			switch {
			case depth == 1:
				if rootSeen {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				rootSeen = true
				if t.Name.Local != "watcherinfo" || (t.Name.Space != Namespace && t.Name.Space != "") {
					return nil, fmt.Errorf("%w: root element is {%s}%s, not watcherinfo", ErrMalformed, t.Name.Space, t.Name.Local)
				}
				ns = t.Name.Space
				info = &Info{}
				if info.Version, err = uintAttr(t, "version", true); err != nil {
					return nil, err
				}
				switch st := strings.ToLower(attr(t, "state")); st {
				case "full":
					info.Full = true
				case "partial":
				default:
					return nil, fmt.Errorf("%w: state %q is neither full nor partial", ErrMalformed, st)
				}
			case depth == 2 && t.Name.Space == ns && t.Name.Local == "watcher-list":
				list = &Watcher{Resource: strings.TrimSpace(attr(t, "resource")), Package: strings.ToLower(strings.TrimSpace(attr(t, "package")))}
				if !listsSeen {
					info.Resource, info.Package, listsSeen = list.Resource, list.Package, true
				}
			case depth == 3 && list != nil && t.Name.Space == ns && t.Name.Local == "watcher":
				if len(info.Watchers) >= MaxWatchers {
					return nil, fmt.Errorf("%w: more than %d watchers", ErrTooLarge, MaxWatchers)
				}
				w := Watcher{
					ID:          attr(t, "id"),
					DisplayName: attr(t, "display-name"),
					Status:      strings.ToLower(strings.TrimSpace(attr(t, "status"))),
					Event:       strings.ToLower(strings.TrimSpace(attr(t, "event"))),
					Resource:    list.Resource,
					Package:     list.Package,
				}
				if w.Expiration, err = uintAttr(t, "expiration", false); err != nil {
					return nil, err
				}
				if w.DurationSubscribed, err = uintAttr(t, "duration-subscribed", false); err != nil {
					return nil, err
				}
				current = &w
				text.Reset()
			}
		case xml.CharData:
			if current != nil && depth == 3 {
				if text.Len()+len(t) > MaxDocumentSize {
					return nil, fmt.Errorf("%w: watcher URI too long", ErrTooLarge)
				}
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 3 && current != nil {
				current.URI = strings.TrimSpace(text.String())
				if current.URI == "" {
					return nil, fmt.Errorf("%w: watcher %q without URI", ErrMalformed, current.ID)
				}
				info.Watchers = append(info.Watchers, *current)
				current = nil
			}
			if depth == 2 {
				list = nil
			}
			depth--
		}
	}
	if info == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return info, nil
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// uintAttr reads an xs:unsignedLong attribute as an int; 0 when absent
// and not required. Anything but digits is an error.
func uintAttr(t xml.StartElement, local string, required bool) (int, error) {
	v := strings.TrimSpace(attr(t, local))
	if v == "" {
		if required {
			return 0, fmt.Errorf("%w: <%s> lacks %s", ErrMalformed, t.Name.Local, local)
		}
		return 0, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: %s=%q is not a non-negative integer", ErrMalformed, local, v)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > 1<<53 {
		return 0, fmt.Errorf("%w: %s=%q is out of range", ErrMalformed, local, v)
	}
	return int(n), nil
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
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<watcherinfo xmlns="%s" version="%d" state="%s">`+"\n", Namespace, max(i.Version, 0), state)
	for _, k := range order {
		b.WriteString(`  <watcher-list resource="`)
		escape(&b, k.resource)
		b.WriteString(`" package="`)
		escape(&b, k.pkg)
		b.WriteString(`">` + "\n")
		for n, w := range groups[k] {
			b.WriteString(`    <watcher id="`)
			escape(&b, def(w.ID, fmt.Sprintf("w%d", n+1)))
			b.WriteString(`" status="`)
			escape(&b, def(w.Status, StatusPending))
			b.WriteString(`" event="`)
			escape(&b, def(w.Event, "subscribe"))
			b.WriteByte('"')
			if w.DisplayName != "" {
				b.WriteString(` display-name="`)
				escape(&b, w.DisplayName)
				b.WriteByte('"')
			}
			if w.Expiration > 0 {
				fmt.Fprintf(&b, ` expiration="%d"`, w.Expiration)
			}
			if w.DurationSubscribed > 0 {
				fmt.Fprintf(&b, ` duration-subscribed="%d"`, w.DurationSubscribed)
			}
			b.WriteByte('>')
			escape(&b, w.URI)
			b.WriteString("</watcher>\n")
		}
		b.WriteString("  </watcher-list>\n")
	}
	b.WriteString("</watcherinfo>\n")
	return b.Bytes()
}

// escape writes s escaped for text and attribute values; characters XML
// cannot carry become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
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
