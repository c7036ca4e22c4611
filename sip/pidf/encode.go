package pidf

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// RPIDActivities lists the activity elements RPID defines (RFC 4480 §6.2);
// Encode writes these as elements and anything else as <rpid:other>.
var RPIDActivities = []string{
	"appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
	"looking-for-work", "meal", "meeting", "on-the-phone", "performance",
	"permanent-absence", "playing", "presentation", "shopping", "sleeping",
	"spectator", "steering", "travel", "tv", "vacation", "working", "worship",
}

// Publication is what a user agent publishes for its user.
type Publication struct {
	// Entity is the presentity URI, "sip:alice@example.test" (required).
	Entity string
	// TupleID and PersonID are the xs:ID values of the tuple and person.
	// Keep them stable across refreshes and restarts of the same device,
	// so a presence server can recognise a stale publication of its own.
	// Empty: derived from Entity.
	TupleID, PersonID string
	// Contact is the tuple's contact URI; empty: Entity.
	Contact string
	// Open is the basic status (false = closed).
	Open bool
	// Activities are RPID activity names; other words become
	// <rpid:other>word</rpid:other>.
	Activities  []string
	Note        string
	DisplayName string
	// IconURL is the icon document URL (no fragment); IconSHA1 (40 hex
	// digits, optional) is appended as "#<sha1>" so watchers know when the
	// picture changed without fetching it.
	IconURL, IconSHA1 string
	// Timestamp of the publication; zero: now.
	Timestamp time.Time
}

// ErrInvalid is wrapped by Encode's errors about its input.
var ErrInvalid = errors.New("pidf: invalid publication")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// rootNamespaces are declared on the root of every document we write.
var rootNamespaces = []string{NSDM, NSRPID, NSCIPID}

func elem(space, local string, kids ...*node) *node {
	return &node{Kind: xmltree.Element, Space: space, Local: local, Children: kids}
}

func textElem(space, local, text string) *node {
	return elem(space, local, &node{Kind: xmltree.Text, Text: text})
}

func withAttr(n *node, name, value string) *node {
	n.SetAttr(name, value)
	return n
}

// StableID derives a valid xs:ID from a prefix and a seed (an AOR, an
// instance id), the same every time for the same input.
func StableID(prefix, seed string) string {
	sum := sha1.Sum([]byte(seed))
	if !isNCName(prefix) {
		prefix = "id"
	}
	return prefix + "-" + hex.EncodeToString(sum[:6])
}

// Encode writes a publication as one tuple and one dm:person, in schema
// order, with the usual prefixes (dm, rpid, c). Parse(Encode(p)) yields the
// same values back.
func Encode(p Publication) ([]byte, error) {
	entity := strings.TrimSpace(p.Entity)
	if entity == "" {
		return nil, invalid("empty entity")
	}
	tupleID, personID := p.TupleID, p.PersonID
	if tupleID == "" {
		tupleID = StableID("t", entity)
	}
	if personID == "" {
		personID = StableID("p", entity)
	}
	for _, id := range []string{tupleID, personID} {
		if !isNCName(id) {
			return nil, invalid("id %q is not an NCName (letter or _ first, then letters, digits, '-', '.', '_')", id)
		}
	}
	if tupleID == personID {
		return nil, invalid("tuple and person ids are both %q", tupleID)
	}
	contact := strings.TrimSpace(p.Contact)
	if contact == "" {
		contact = entity
	}
	note, display, iconURL, sha := strings.TrimSpace(p.Note), strings.TrimSpace(p.DisplayName), strings.TrimSpace(p.IconURL), strings.ToLower(strings.TrimSpace(p.IconSHA1))
	if strings.ContainsRune(iconURL, '#') {
		return nil, invalid("icon URL %q has a fragment; pass the hash in IconSHA1", iconURL)
	}
	if sha != "" {
		if !isSHA1Hex(sha) {
			return nil, invalid("icon SHA-1 %q is not 40 hex digits", p.IconSHA1)
		}
		if iconURL == "" {
			return nil, invalid("icon SHA-1 without icon URL")
		}
	}
	for _, s := range append([]string{entity, contact, note, display, iconURL}, p.Activities...) {
		if !xmltree.ValidText(s) {
			return nil, invalid("%q contains characters XML cannot carry", s)
		}
	}
	ts := p.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	stamp := ts.UTC().Format(time.RFC3339Nano)
	icon := iconURL
	if sha != "" {
		icon += "#" + sha
	}

	basic := BasicClosed
	if p.Open {
		basic = BasicOpen
	}
	t := withAttr(elem(NSPIDF, "tuple", elem(NSPIDF, "status", textElem(NSPIDF, "basic", string(basic)))), "id", tupleID)
	if icon != "" {
		t.Children = append(t.Children, textElem(NSCIPID, "icon", icon))
	}
	t.Children = append(t.Children, textElem(NSPIDF, "contact", contact))
	if note != "" {
		// Blink and other pre-data-model readers take the note from the tuple.
		t.Children = append(t.Children, textElem(NSPIDF, "note", note))
	}
	t.Children = append(t.Children, textElem(NSPIDF, "timestamp", stamp))

	per := withAttr(elem(NSDM, "person"), "id", personID)
	if acts := activityElements(p.Activities); acts != nil {
		per.Children = append(per.Children, acts)
	}
	if icon != "" {
		per.Children = append(per.Children, textElem(NSCIPID, "icon", icon))
	}
	if display != "" {
		per.Children = append(per.Children, textElem(NSCIPID, "display-name", display))
	}
	if note != "" {
		per.Children = append(per.Children, textElem(NSDM, "note", note))
	}
	per.Children = append(per.Children, textElem(NSDM, "timestamp", stamp))

	root := withAttr(elem(NSPIDF, "presence", t, per), "entity", entity)
	indent(root, 0)
	return writeDocument(root, rootNamespaces), nil
}

// activityElements builds <rpid:activities>, or nil when there is nothing
// to say ("unknown" and blanks are dropped).
func activityElements(acts []string) *node {
	var kids []*node
	var seen []string
	for _, a := range acts {
		a = strings.TrimSpace(a)
		if a == "" || a == "unknown" || slices.Contains(seen, a) {
			continue
		}
		seen = append(seen, a)
		if slices.Contains(RPIDActivities, a) {
			kids = append(kids, elem(NSRPID, a))
		} else {
			kids = append(kids, textElem(NSRPID, "other", a))
		}
	}
	if kids == nil {
		return nil
	}
	return elem(NSRPID, "activities", kids...)
}

// indent inserts newlines and two-space indentation between child elements
// of elements that hold only elements, for readable SIP traces.
func indent(n *node, depth int) {
	if len(n.Children) == 0 {
		return
	}
	for _, c := range n.Children {
		if c.Kind != xmltree.Element {
			return // text or mixed content: leave as is
		}
	}
	pad := "\n" + strings.Repeat("  ", depth+1)
	kids := make([]*node, 0, 2*len(n.Children)+1)
	for _, c := range n.Children {
		indent(c, depth+1)
		kids = append(kids, &node{Kind: xmltree.Text, Text: pad}, c)
	}
	kids = append(kids, &node{Kind: xmltree.Text, Text: "\n" + strings.Repeat("  ", depth)})
	n.Children = kids
}

// Closed returns the document a presence server sends for a presentity with
// no live publication: one closed tuple and no person, so watchers drop the
// old note and icon.
func Closed(entity string) []byte {
	entity = strings.TrimSpace(entity)
	t := withAttr(elem(NSPIDF, "tuple", elem(NSPIDF, "status", textElem(NSPIDF, "basic", string(BasicClosed)))), "id", StableID("t", entity))
	root := withAttr(elem(NSPIDF, "presence", t), "entity", entity)
	indent(root, 0)
	return writeDocument(root, nil)
}

// ErrNoDocument is returned by Compose when none of the documents could be
// used; the caller then sends Closed(entity).
var ErrNoDocument = errors.New("pidf: no usable publication")

// Compose merges the live publications of one presentity, newest first,
// into the single PIDF a presence server sends to its watchers: all tuples
// (in schema position), then top-level notes, then persons, devices and
// other extensions, each as written by its publisher. Element ids are kept
// unless they clash or are not NCNames; then they are renamed. Like
// Kamailio, a publication whose first tuple id already appears in a newer
// one is dropped (a client that restarted and republished with its stable
// id). A document that does not parse is skipped rather than failing the
// others; documents that would push the result over MaxDocumentSize are
// dropped, oldest first.
func Compose(entity string, docs [][]byte) ([]byte, error) {
	entity = strings.TrimSpace(entity)
	// Each part is written where the root's declarations are in force.
	part := xmltree.Encoder{Prefixes: preferredPrefix, Context: []xmltree.Binding{{Prefix: "", URI: NSPIDF}}}
	for _, uri := range rootNamespaces {
		part.Context = append(part.Context, xmltree.Binding{Prefix: preferredPrefix[uri], URI: uri})
	}
	root := withAttr(elem(NSPIDF, "presence"), "entity", entity)
	head := writeDocument(root, rootNamespaces) // "<?xml ...?>\n<presence .../>\n"
	open := bytes.TrimSuffix(bytes.TrimSpace(head), []byte("/>"))
	const closeTag = "\n</presence>\n"
	size := len(open) + 1 + len(closeTag)

	var (
		sections [3][][]byte // tuples, notes, extensions
		ids      = map[string]bool{}
		tupleIDs = map[string]bool{}
		used     int
		firstErr error
	)
	for i, doc := range docs {
		if len(doc) > MaxDocumentSize {
			firstErr = firstOf(firstErr, fmt.Errorf("publication %d: %w", i, xmltree.TooLarge(xmltree.WhatSize, int64(len(doc)), MaxDocumentSize)))
			continue
		}
		t, err := parseTree(doc)
		if err != nil {
			firstErr = firstOf(firstErr, fmt.Errorf("publication %d: %w", i, err))
			continue
		}
		pns, ok := pidfNamespace(t)
		if !ok {
			firstErr = firstOf(firstErr, fmt.Errorf("publication %d: %w", i, ErrNotPIDF))
			continue
		}
		if pns != NSPIDF {
			renameSpace(t, pns, NSPIDF)
		}
		if first := t.Child(NSPIDF, "tuple"); first != nil {
			if id, _ := first.Attr("id"); id != "" && tupleIDs[id] {
				continue
			}
		}
		var docTupleIDs []string
		t.EachElement(func(c *node) {
			if c.Is(NSPIDF, "tuple") {
				id, _ := c.Attr("id")
				docTupleIDs = append(docTupleIDs, id)
			}
		})
		var parts [3][][]byte
		partSize := 0
		docIDs := map[string]string{}
		t.EachElement(func(c *node) {
			sec := 2
			switch {
			case c.Is(NSPIDF, "tuple"):
				sec = 0
			case c.Is(NSPIDF, "note"):
				sec = 1
			case c.Space == NSPIDF:
				return // nothing else of PIDF's own belongs at the top level
			}
			if sec != 1 {
				if id, ok := c.Attr("id"); ok || c.Is(NSPIDF, "tuple") || c.Is(NSDM, "person") || c.Is(NSDM, "device") {
					setID(c, uniqueID(id, ids, docIDs))
				}
			}
			b := part.AppendElement(nil, c)
			parts[sec] = append(parts[sec], b)
			partSize += len(b) + 1
		})
		if size+partSize > MaxDocumentSize {
			firstErr = firstOf(firstErr, fmt.Errorf("publication %d: %w", i, xmltree.TooLarge("composed document size", int64(size+partSize), MaxDocumentSize)))
			break
		}
		size += partSize
		for _, newID := range docIDs {
			ids[newID] = true
		}
		for _, id := range docTupleIDs {
			tupleIDs[id] = true
		}
		for s := range parts {
			sections[s] = append(sections[s], parts[s]...)
		}
		used++
	}
	if used == 0 {
		if firstErr == nil {
			return nil, ErrNoDocument
		}
		return nil, fmt.Errorf("%w: %w", ErrNoDocument, firstErr)
	}
	var b bytes.Buffer
	b.Grow(size)
	b.Write(open)
	b.WriteByte('>')
	for _, sec := range sections {
		for _, part := range sec {
			b.WriteByte('\n')
			b.Write(part)
		}
	}
	b.WriteString(closeTag)
	return b.Bytes(), nil
}

func firstOf(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

// renameSpace moves every element of namespace from into namespace to.
func renameSpace(n *node, from, to string) {
	if n.Kind == xmltree.Element && n.Space == from {
		n.Space = to
	}
	for _, c := range n.Children {
		renameSpace(c, from, to)
	}
}

func setID(n *node, id string) { n.SetAttr("id", id) }

// uniqueID returns id if it is a valid NCName not used by an earlier
// document nor earlier in this one, else a fresh variant. docIDs collects
// the ids taken by the current document (old -> new).
func uniqueID(id string, taken map[string]bool, docIDs map[string]string) string {
	inDoc := func(s string) bool {
		for _, v := range docIDs {
			if v == s {
				return true
			}
		}
		return false
	}
	base := id
	if !isNCName(base) {
		var b strings.Builder
		b.WriteString("x")
		for _, r := range base {
			if r < 0x80 && (r == '-' || r == '.' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				b.WriteRune(r)
			}
		}
		base = b.String()
	}
	cand := base
	for n := 2; taken[cand] || inDoc(cand); n++ {
		cand = fmt.Sprintf("%s-%d", base, n)
	}
	docIDs[fmt.Sprintf("%d:%s", len(docIDs), id)] = cand
	return cand
}
