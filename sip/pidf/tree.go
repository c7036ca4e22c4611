package pidf

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// node is an element or a run of text of a presence document.
type node = xmltree.Node

// limits are the XML limits of a PIDF document.
var limits = xmltree.Limits{MaxBytes: MaxDocumentSize, MaxDepth: MaxDepth, MaxElements: MaxElements, MaxNodes: MaxNodes}

// parser reads PIDF: Latin-1 is accepted besides UTF-8, because some old
// clients declare it.
var parser = xmltree.Parser{Limits: limits, Latin1: true}

// parseTree reads one XML document and returns its root. A document over
// the limits is an *xmltree.LimitError; anything else that does not parse
// wraps ErrMalformed.
func parseTree(data []byte) (*node, error) {
	doc, err := parser.Parse(data)
	var le *xmltree.LimitError
	switch {
	case errors.As(err, &le):
		return nil, fmt.Errorf("pidf: %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return doc.Root, nil
}

// Namespace URIs.
const (
	NSPIDF     = "urn:ietf:params:xml:ns:pidf"
	NSCPIMPIDF = "urn:ietf:params:xml:ns:cpim-pidf" // pre-RFC name some old clients still send
	NSDM       = "urn:ietf:params:xml:ns:pidf:data-model"
	NSRPID     = "urn:ietf:params:xml:ns:pidf:rpid"
	NSCIPID    = "urn:ietf:params:xml:ns:pidf:cipid"
	NSAGP      = "urn:ag-projects:xml:ns:pidf"
	NSCaps     = "urn:ietf:params:xml:ns:pidf:caps"
)

// preferredPrefix gives the usual prefix of well-known namespaces, so our
// output looks like what other clients send.
var preferredPrefix = map[string]string{
	NSDM:                            "dm",
	NSRPID:                          "rpid",
	NSCIPID:                         "c",
	NSAGP:                           "agp-pidf",
	NSCaps:                          "caps",
	"urn:oma:xml:prs:pidf:oma-pres": "op",
	"urn:oma:xml:pde:pidf:ext":      "opd",
}

// encoder writes our documents and the parts Compose copies, with the
// usual prefixes.
var encoder = xmltree.Encoder{Prefixes: preferredPrefix}

// writeDocument writes the XML declaration and root, with the default
// namespace and the well-known namespaces listed in decl declared on the
// root (before its other attributes).
func writeDocument(root *node, decl []string) []byte {
	decls := make([]xmltree.Attr, 0, len(decl)+1+len(root.Attrs))
	if root.Space != "" {
		decls = append(decls, xmltree.Attr{Local: "xmlns", Space: xmltree.NSXMLNS, Value: root.Space})
	}
	for _, uri := range decl {
		p := preferredPrefix[uri]
		if p == "" || uri == root.Space || slices.ContainsFunc(decls, func(a xmltree.Attr) bool { return a.Local == p }) {
			continue
		}
		decls = append(decls, xmltree.Attr{Prefix: "xmlns", Local: p, Space: xmltree.NSXMLNS, Value: uri})
	}
	root.Attrs = append(decls, root.Attrs...)
	doc := xmltree.Document{Prolog: []*node{xmlDeclaration}, Root: root}
	return encoder.AppendDocument(make([]byte, 0, 2048), &doc)
}

var xmlDeclaration = &node{Kind: xmltree.ProcInst, Local: "xml", Text: `version="1.0" encoding="UTF-8"`}

// isNCName reports whether s is a valid xs:ID (an NCName). Only the ASCII
// subset is accepted: it is what we write, and deciding which non-ASCII
// characters XML allows in names is not worth the risk of writing an
// invalid id.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}
