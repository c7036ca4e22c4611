// Package resourcelists reads and edits RFC 4826 resource-lists documents,
// where SIP SIMPLE clients keep their buddy lists on the XCAP server.
//
// The top-level lists of the document are the buddy list's groups (see
// Groups), except the lists python-sipsimple keeps for its own bookkeeping
// (ReservedLists). When the document carries python-sipsimple's addressbook
// (Blink's contacts and groups in the urn:ag-projects:xml:ns:addressbook
// namespace, inside the sipsimple_addressbook list), its contacts are
// buddies too and every edit is made there as well, so Blink sees it.
//
// Editing touches only the elements the edit is about: everything else in
// the document (other clients' lists, foreign-namespace elements and
// attributes, comments, prefixes) is written back as it was read, because
// a PUT that drops another client's content destroys their data. The tree
// that makes this possible is internal/xmltree. URIs are compared as
// address-of-record keys (internal/sipuri).
package resourcelists

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/percent"
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// XCAP names of the document.
const (
	AUID        = "resource-lists"
	ContentType = "application/resource-lists+xml"
	Namespace   = "urn:ietf:params:xml:ns:resource-lists"
	// DocumentPath is the document name below the user's folder.
	DocumentPath = "index"
	// BuddiesList is the name of the list sipbuddy adds buddies to: the
	// default group.
	BuddiesList = "buddies"
)

// Limits.
const (
	// MaxDocumentSize is the largest document Parse accepts, in bytes.
	MaxDocumentSize = 1 << 20
	// MaxDepth bounds element nesting (lists in lists in ...).
	MaxDepth = 64
	// MaxNodes bounds the number of nodes in a document.
	MaxNodes = 100000
	// MaxUpdateAttempts bounds Update's reload-and-retry loop on 412.
	MaxUpdateAttempts = xcap.MaxUpdateAttempts
)

// limits are the XML limits of a resource-lists document.
var limits = xmltree.Limits{MaxBytes: MaxDocumentSize, MaxDepth: MaxDepth, MaxNodes: MaxNodes}

// Errors. A document over a limit is an *xmltree.LimitError.
var (
	ErrNotLists = errors.New("resourcelists: not a resource-lists document")
	ErrInvalid  = errors.New("resourcelists: invalid argument")
	ErrExists   = errors.New("resourcelists: entry already in the list")
	ErrNotFound = errors.New("resourcelists: no such entry or group")
	ErrConflict = xcap.ErrConflict // Update gave up after MaxUpdateAttempts

	errNilCallback = errors.New("resourcelists: nil update function")
)

// Entry is one buddy: an <entry> element, or a contact of
// python-sipsimple's addressbook.
type Entry struct {
	URI         string
	DisplayName string
	// List is the name of the list holding the entry (the innermost one
	// for nested lists; "" for an unnamed list or an addressbook contact
	// no list holds).
	List string
	// Group is the Name of the group (top-level list or addressbook
	// group) the entry is shown in.
	Group string
	// ContactID is the id of the addressbook contact with this URI, ""
	// when the document has none.
	ContactID string
}

// Document is a resource-lists document being read or edited.
type Document struct {
	dom *xmltree.Document
}

// Parse reads a resource-lists document. It fails on XML that is not
// well-formed or whose root is not {urn:ietf:params:xml:ns:resource-lists}resource-lists.
func Parse(data []byte) (*Document, error) {
	dom, err := xmltree.Parse(data, limits)
	if err != nil {
		return nil, fmt.Errorf("resourcelists: %w", err)
	}
	if !dom.Root.Is(Namespace, "resource-lists") {
		return nil, fmt.Errorf("%w: root element is {%s}%s", ErrNotLists, dom.Root.Space, dom.Root.Local)
	}
	return &Document{dom: dom}, nil
}

const emptyDocument = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
</resource-lists>
`

// New returns an empty document.
func New() *Document {
	d, err := Parse([]byte(emptyDocument))
	if err != nil {
		panic(err) // a constant that parses; covered by tests
	}
	return d
}

// Marshal writes the document.
func (d *Document) Marshal() ([]byte, error) {
	out := d.dom.Bytes()
	if len(out) > MaxDocumentSize {
		return nil, fmt.Errorf("resourcelists: %w", xmltree.TooLarge(xmltree.WhatSize, int64(len(out)), MaxDocumentSize))
	}
	return out, nil
}

// Entries returns every buddy of every group (see Groups), in group
// order, de-duplicated by URI (the first occurrence, and its display
// name, wins; a later occurrence fills in a missing display name). The
// lists python-sipsimple keeps for itself (ReservedLists) hold watchers
// and subscriptions, not buddies, and are not read.
func (d *Document) Entries() []Entry {
	var out []Entry
	index := map[string]int{}
	for _, g := range d.Groups() {
		for _, e := range g.Entries {
			key := uriKey(e.URI)
			if i, ok := index[key]; ok {
				if out[i].DisplayName == "" {
					out[i].DisplayName = e.DisplayName
				}
				if out[i].ContactID == "" {
					out[i].ContactID = e.ContactID
				}
				continue
			}
			index[key] = len(out)
			out = append(out, e)
		}
	}
	return out
}

// uriKey is the comparison form of a buddy URI: its AOR key for a SIP
// address, the trimmed text for anything else (tel:, mailto:, ...).
func uriKey(uri string) string {
	uri = DecodeAnyURI(uri)
	if k, err := sipuri.AORKey(uri); err == nil {
		return k
	}
	return uri
}

// findList returns the top-level list with that name, or nil.
func (d *Document) findList(name string) *xmltree.Node {
	for _, c := range d.dom.Root.Children {
		if c.Is(Namespace, "list") {
			if n, _ := c.Attr("name"); n == name {
				return c
			}
		}
	}
	return nil
}

// Add appends an entry to the top-level list named list (created at the end
// of the document when missing). The entry goes after the list's last
// entry/list/external/entry-ref, before any foreign elements, as the schema
// orders them. An entry with the same URI already in that list is
// ErrExists (XCAP servers reject such a document with a uniqueness
// failure). When the document has python-sipsimple's addressbook, the
// buddy is added there too (see the package comment).
func (d *Document) Add(list, uri, displayName string) error {
	uri = strings.TrimSpace(uri)
	displayName = strings.TrimSpace(displayName)
	if err := checkURI(uri); err != nil {
		return err
	}
	if err := checkText(list, displayName); err != nil {
		return err
	}
	l := d.findList(list)
	if l != nil && findEntry(l, uriKey(uri)) != nil {
		return fmt.Errorf("%w: %s in list %q", ErrExists, uri, list)
	}
	if l == nil {
		l = d.newList(list)
	}
	appendEntry(l, uri, displayName)
	if d.hasAddressbook() {
		d.mirrorAdd(listLabel(l), uri, displayName)
	}
	return nil
}

// checkURI rejects text that cannot be a buddy's URI.
func checkURI(uri string) error {
	if uri == "" || !strings.Contains(uri, ":") {
		return fmt.Errorf("%w: %q is not a URI", ErrInvalid, uri)
	}
	return checkText(uri)
}

// checkText rejects strings XML cannot carry.
func checkText(ss ...string) error {
	for _, s := range ss {
		if !xmltree.ValidText(s) {
			return fmt.Errorf("%w: %q contains characters XML cannot carry", ErrInvalid, s)
		}
	}
	return nil
}

// newList creates an empty top-level list after the last one.
func (d *Document) newList(name string) *xmltree.Node {
	l := xmltree.NewElement(d.dom.Root, Namespace, "list", "rl")
	l.SetAttr("name", name)
	d.insertListChild(d.dom.Root, l)
	return l
}

// findEntry returns the <entry> child of l with that URI key, or nil.
func findEntry(l *xmltree.Node, key string) *xmltree.Node {
	for _, c := range l.Children {
		if c.Is(Namespace, "entry") {
			if u, _ := c.Attr("uri"); uriKey(u) == key {
				return c
			}
		}
	}
	return nil
}

// appendEntry adds a new <entry> to l and returns it.
func appendEntry(l *xmltree.Node, uri, displayName string) *xmltree.Node {
	e := xmltree.NewElement(l, Namespace, "entry", "rl")
	e.SetAttr("uri", uri)
	insertEntry(l, e) // first, so that the display name uses its prefixes
	if displayName != "" {
		dn := xmltree.NewElement(e, Namespace, "display-name", "rl")
		dn.SetText(displayName)
		e.AppendInline(dn)
	}
	return e
}

// insertEntry places entry e in list l after the last resource-lists
// element, before foreign elements, as the schema orders them.
func insertEntry(l, e *xmltree.Node) {
	var after *xmltree.Node
	for _, c := range l.Children {
		if c.Kind == xmltree.Element && c.Space == Namespace {
			after = c
		}
	}
	l.InsertBefore(e, nextElement(l, after))
}

// insertListChild puts a new top-level list after the last <list> of the
// root, before foreign elements.
func (d *Document) insertListChild(root, l *xmltree.Node) {
	var last *xmltree.Node
	for _, c := range root.Elements() {
		if c.Is(Namespace, "list") {
			last = c
		}
	}
	root.InsertBefore(l, nextElement(root, last))
}

// nextElement returns the element child of parent following after (the
// first element child when after is nil), or nil.
func nextElement(parent, after *xmltree.Node) *xmltree.Node {
	els := parent.Elements()
	if after == nil {
		if len(els) > 0 {
			return els[0]
		}
		return nil
	}
	for i, c := range els {
		if c == after && i+1 < len(els) {
			return els[i+1]
		}
	}
	return nil
}

// Remove deletes the buddy with that URI: every entry with that URI in
// every group list (nested too), in oma_buddylist and in
// sipsimple_presence_rls, and the URI from every addressbook contact (a
// contact left with no URI is deleted, and taken out of its groups). The
// lists that grant or block watchers are left alone: removing a buddy does
// not change who may see me. It reports whether there was anything to
// remove.
func (d *Document) Remove(uri string) bool {
	key := uriKey(uri)
	removed := false
	for _, l := range d.buddyLists(true) {
		removed = removeEntries(l, key) || removed
	}
	if l := d.findList(PresenceRLSList); l != nil {
		removed = removeEntries(l, key) || removed
	}
	return d.removeContactURI(key) || removed
}

// removeEntries deletes the entries with that URI key from l and the lists
// nested in it.
func removeEntries(l *xmltree.Node, key string) bool {
	removed := false
	for _, c := range l.Elements() {
		switch {
		case c.Is(Namespace, "entry"):
			if u, _ := c.Attr("uri"); uriKey(u) == key {
				removed = l.Remove(c) || removed
			}
		case c.Is(Namespace, "list"):
			removed = removeEntries(c, key) || removed
		}
	}
	return removed
}

// Update reads the user's resource-lists document from the XCAP server,
// applies fn and writes the result back conditionally, with
// xcap.Client.Update (a missing document starts from New()). When another
// client changed the document in between (412), it reloads and applies fn
// again, up to MaxUpdateAttempts times. fn must be safe to call more than
// once. The document as stored is returned.
func Update(ctx context.Context, c *xcap.Client, fn func(*Document) error) (*Document, error) {
	if fn == nil {
		return nil, errNilCallback
	}
	var doc *Document
	_, err := c.Update(ctx, xcap.DocumentRef{AUID: AUID, Path: DocumentPath, ContentType: ContentType}, func(cur []byte) ([]byte, error) {
		if cur == nil {
			doc = New()
		} else {
			var err error
			if doc, err = Parse(cur); err != nil {
				return nil, fmt.Errorf("resourcelists: stored document: %w", err)
			}
		}
		if err := fn(doc); err != nil {
			return nil, err
		}
		return doc.Marshal()
	})
	if err != nil {
		return nil, fmt.Errorf("resourcelists: %w", err)
	}
	return doc, nil
}

// DecodeAnyURI reads a URI attribute as python-sipsimple writes it: its
// AnyURI type percent-encodes every character but letters, digits, "_.-"
// and "/" (Python 2's urllib.quote), so Blink stores sip:bob@example.test
// as sip%3Abob%40example.test, and reads attributes back with unquote.
// Text that is not validly encoded is returned trimmed, as written.
func DecodeAnyURI(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return strings.TrimSpace(u)
	}
	return s
}

// EncodeAnyURI writes a URI as python-sipsimple's AnyURI type does (see
// DecodeAnyURI). The schema python-sipsimple validates every document
// against rejects an xs:anyURI with characters such as [ and ", which
// XCAP node selectors in anchors have, so anchors must be written so.
func EncodeAnyURI(s string) string { return percent.Encode(s, "_.-/") }
