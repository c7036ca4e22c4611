// Package xcapdiff reads and writes xcap-diff documents (RFC 5874), the
// bodies of xcap-diff NOTIFYs (RFC 5875) that tell a client which of its
// XCAP documents changed elsewhere: another client, a web page, curl.
//
// A client that holds a copy of a document compares the change's
// PreviousETag with the ETag of its copy: equal means the change is the
// next one after its copy (re-read it, or apply the patch if one is
// given); different means it missed changes and must re-read anyway. An
// empty NewETag means the document was deleted.
package xcapdiff

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// NS is the xcap-diff namespace, ContentType its MIME type and Event the
// SIP event package that carries it.
const (
	NS          = "urn:ietf:params:xml:ns:xcap-diff"
	ContentType = "application/xcap-diff+xml"
	Event       = "xcap-diff"
)

// Limits of one xcap-diff document.
const (
	// MaxBytes is the largest document read (a patch can carry a whole
	// resource-lists document).
	MaxBytes = 1 << 20
	// MaxChanges bounds the document, element and attribute entries.
	MaxChanges = 10_000
)

// ErrMalformed is wrapped by every error about a body that is not an
// xcap-diff document.
var ErrMalformed = errors.New("not a valid xcap-diff document")

// DocumentChange is one <document>: a document that was created, changed
// or deleted.
type DocumentChange struct {
	// Sel is the document selector relative to the XCAP root
	// ("resource-lists/users/sip:alice@example.test/index").
	Sel          string
	PreviousETag string // "" when the document was created
	NewETag      string // "" when the document was deleted
	// BodyNotChanged says the document's content is the same (only its
	// ETag changed).
	BodyNotChanged bool
	// Patched says the entry carries RFC 5261 patch operations; sipbuddy
	// does not apply them but re-reads the document, which is always
	// correct.
	Patched bool
}

// Deleted reports whether the change removed the document.
func (c DocumentChange) Deleted() bool { return c.NewETag == "" }

// AUID is the application usage of the changed document: the first step
// of its selector.
func (c DocumentChange) AUID() string {
	auid, _, _ := strings.Cut(strings.TrimPrefix(c.Sel, "/"), "/")
	return auid
}

// NodeChange is one <element> or <attribute> entry (RFC 5874 §4.3): a node
// subscribed to by selector, and whether it exists now.
type NodeChange struct {
	Sel    string
	Exists bool
	// Value is an attribute's new value (attributes only).
	Value string
}

// Diff is one xcap-diff document.
type Diff struct {
	XCAPRoot   string
	Documents  []DocumentChange
	Elements   []NodeChange
	Attributes []NodeChange
}

// Parse reads an xcap-diff document.
func Parse(data []byte) (*Diff, error) {
	doc, err := xmltree.Parse(data, xmltree.Limits{MaxBytes: MaxBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	root := doc.Root
	if !root.Is(NS, "xcap-diff") {
		return nil, fmt.Errorf("%w: the root is <%s>, not <xcap-diff> in %s", ErrMalformed, root.Local, NS)
	}
	d := &Diff{}
	d.XCAPRoot, _ = root.Attr("xcap-root")
	if d.XCAPRoot == "" {
		return nil, fmt.Errorf("%w: <xcap-diff> has no xcap-root", ErrMalformed)
	}
	n := 0
	var perr error
	root.EachElement(func(c *xmltree.Node) {
		if perr != nil || c.Space != NS {
			return
		}
		sel, _ := c.Attr("sel")
		switch c.Local {
		case "document", "element", "attribute":
			if n++; n > MaxChanges {
				perr = xmltree.TooLarge("number of changes", int64(n), MaxChanges)
				return
			}
			if sel == "" {
				perr = fmt.Errorf("%w: a <%s> has no sel", ErrMalformed, c.Local)
				return
			}
		default:
			return
		}
		switch c.Local {
		case "document":
			dc := DocumentChange{Sel: sel}
			dc.PreviousETag, _ = c.Attr("previous-etag")
			dc.NewETag, _ = c.Attr("new-etag")
			if dc.PreviousETag == "" && dc.NewETag == "" {
				perr = fmt.Errorf("%w: the <document> %s has neither previous-etag nor new-etag", ErrMalformed, sel)
				return
			}
			c.EachElement(func(e *xmltree.Node) {
				if e.Is(NS, "body-not-changed") {
					dc.BodyNotChanged = true
				} else {
					dc.Patched = true
				}
			})
			d.Documents = append(d.Documents, dc)
		case "element", "attribute":
			nc := NodeChange{Sel: sel}
			ex, _ := c.Attr("exists")
			switch strings.TrimSpace(ex) {
			case "1", "true":
				nc.Exists = true
			case "0", "false":
			case "":
				// RFC 5874 §4.3: without exists the node is there, and an
				// element entry carries its content.
				nc.Exists = true
			default:
				perr = fmt.Errorf("%w: exists=%q on %s is not 0 or 1", ErrMalformed, ex, sel)
				return
			}
			if c.Local == "attribute" {
				nc.Value = c.TextContent()
				d.Attributes = append(d.Attributes, nc)
			} else {
				d.Elements = append(d.Elements, nc)
			}
		}
	})
	if perr != nil {
		return nil, perr
	}
	return d, nil
}

// Append appends the xcap-diff document of d to b, for a server's
// NOTIFY. Patches are not written: each changed document is announced with
// its ETags, and body-not-changed when BodyNotChanged.
func (d *Diff) Append(b []byte) []byte {
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<xcap-diff xmlns="`+NS+`"`...)
	b = xmltree.AppendAttr(b, "xcap-root", d.XCAPRoot)
	b = append(b, ">\n"...)
	for _, c := range d.Documents {
		b = append(b, "  <document"...)
		b = xmltree.AppendAttr(b, "sel", c.Sel)
		b = xmltree.AppendAttrIfSet(b, "previous-etag", c.PreviousETag)
		b = xmltree.AppendAttrIfSet(b, "new-etag", c.NewETag)
		if c.BodyNotChanged {
			b = append(b, ">\n    <body-not-changed/>\n  </document>\n"...)
		} else {
			b = append(b, "/>\n"...)
		}
	}
	for _, list := range []struct {
		tag   string
		nodes []NodeChange
	}{{"element", d.Elements}, {"attribute", d.Attributes}} {
		for _, c := range list.nodes {
			b = append(b, "  <"+list.tag...)
			b = xmltree.AppendAttr(b, "sel", c.Sel)
			if !c.Exists {
				b = append(b, ` exists="0"/>`+"\n"...)
				continue
			}
			b = append(b, ` exists="1">`...)
			b = xmltree.AppendText(b, c.Value)
			b = append(b, "</"+list.tag+">\n"...)
		}
	}
	return append(b, "</xcap-diff>\n"...)
}
