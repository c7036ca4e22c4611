// Package resourcelists reads and edits RFC 4826 resource-lists documents,
// where SIP SIMPLE clients keep their buddy lists on the XCAP server.
//
// Reading collects every <entry> of every <list>, nested lists included.
// Editing touches only the list sipbuddy owns (BuddiesList) and the entries
// being removed: everything else in the document (other clients' lists,
// foreign-namespace elements and attributes, comments, prefixes) is written
// back as it was read, because a PUT that drops another client's content
// destroys their data. The tree that makes this possible is internal/xmltree.
package resourcelists

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// BuddiesList is the name of the list sipbuddy adds buddies to.
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
	ErrConflict = xcap.ErrConflict // Update gave up after MaxUpdateAttempts

	errNilCallback = errors.New("resourcelists: nil update function")
)

// Entry is one <entry> element.
type Entry struct {
	URI         string
	DisplayName string
	// List is the name of the list holding the entry (the innermost one
	// for nested lists; "" for an unnamed list).
	List string
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

// lists calls fn for every <list>, depth first, in document order.
func (d *Document) lists(fn func(list *xmltree.Node)) {
	var walk func(n *xmltree.Node)
	walk = func(n *xmltree.Node) {
		for _, c := range n.Children {
			if c.Is(Namespace, "list") {
				fn(c)
				walk(c)
			}
		}
	}
	walk(d.dom.Root)
}

// Entries returns every entry of every list, nested lists included, in
// document order, de-duplicated by URI (the first occurrence, and its
// display name, wins; a later occurrence fills in a missing display name).
func (d *Document) Entries() []Entry {
	var out []Entry
	index := map[string]int{}
	d.lists(func(list *xmltree.Node) {
		name, _ := list.Attr("name")
		for _, c := range list.Children {
			if !c.Is(Namespace, "entry") {
				continue
			}
			uri, _ := c.Attr("uri")
			uri = strings.TrimSpace(uri)
			if uri == "" {
				continue
			}
			display := ""
			if dn := c.Child(Namespace, "display-name"); dn != nil {
				display = dn.TextContent()
			}
			key := canonicalURI(uri)
			if i, ok := index[key]; ok {
				if out[i].DisplayName == "" {
					out[i].DisplayName = display
				}
				continue
			}
			index[key] = len(out)
			out = append(out, Entry{URI: uri, DisplayName: display, List: name})
		}
	})
	return out
}

// canonicalURI is the comparison form of a buddy URI: the scheme and host
// part are case-insensitive in SIP, the user part is not.
func canonicalURI(uri string) string {
	uri = strings.TrimSpace(uri)
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return uri
	}
	scheme = strings.ToLower(scheme)
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return scheme + ":" + rest[:at+1] + strings.ToLower(rest[at+1:])
	}
	return scheme + ":" + strings.ToLower(rest)
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
// failure).
func (d *Document) Add(list, uri, displayName string) error {
	uri = strings.TrimSpace(uri)
	displayName = strings.TrimSpace(displayName)
	if uri == "" || !strings.Contains(uri, ":") {
		return fmt.Errorf("%w: %q is not a URI", ErrInvalid, uri)
	}
	for _, s := range []string{list, uri, displayName} {
		if !xmltree.ValidText(s) {
			return fmt.Errorf("%w: %q contains characters XML cannot carry", ErrInvalid, s)
		}
	}
	l := d.findList(list)
	if l == nil {
		l = xmltree.NewElement(d.dom.Root, Namespace, "list", "rl")
		l.SetAttr("name", list)
		d.insertListChild(d.dom.Root, l)
	}
	key := canonicalURI(uri)
	var after *xmltree.Node
	for _, c := range l.Elements() {
		if c.Space != Namespace {
			continue
		}
		after = c
		if c.Is(Namespace, "entry") {
			if u, _ := c.Attr("uri"); canonicalURI(u) == key {
				return fmt.Errorf("%w: %s in list %q", ErrExists, uri, list)
			}
		}
	}
	e := xmltree.NewElement(l, Namespace, "entry", "rl")
	e.SetAttr("uri", uri)
	if next := nextElement(l, after); next != nil {
		l.InsertBefore(e, next)
	} else {
		l.Append(e)
	}
	if displayName != "" {
		dn := xmltree.NewElement(e, Namespace, "display-name", "rl")
		dn.SetText(displayName)
		e.AppendInline(dn)
	}
	return nil
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
	if next := nextElement(root, last); next != nil {
		root.InsertBefore(l, next)
		return
	}
	root.Append(l)
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

// Remove deletes every entry with that URI from every list (nested too) and
// reports whether there was one.
func (d *Document) Remove(uri string) bool {
	key := canonicalURI(uri)
	removed := false
	d.lists(func(list *xmltree.Node) {
		for _, c := range list.Elements() {
			if !c.Is(Namespace, "entry") {
				continue
			}
			if u, _ := c.Attr("uri"); canonicalURI(u) == key {
				removed = list.Remove(c) || removed
			}
		}
	})
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
