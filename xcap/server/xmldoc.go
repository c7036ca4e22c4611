package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// MaxXMLDepth bounds element nesting in a stored document.
const MaxXMLDepth = 100

// MaxXMLElements bounds the number of elements in a stored document.
const MaxXMLElements = 100_000

// MaxXMLNodes bounds the nodes of every kind (elements, text, comments)
// in a stored document.
const MaxXMLNodes = 2 * MaxXMLElements

// xmlLimits are the limits of a stored document; the attribute limits are
// xmltree's defaults.
var xmlLimits = xmltree.Limits{MaxBytes: MaxDocumentSize, MaxDepth: MaxXMLDepth, MaxElements: MaxXMLElements, MaxNodes: MaxXMLNodes}

// xmlError is a document rejected with a 409 xcap-error body.
type xmlError struct {
	tag, phrase string
}

func (e *xmlError) Error() string { return e.tag + ": " + e.phrase }

// parseDocument checks that body is a well-formed UTF-8 XML document with
// one root element and no DOCTYPE, and returns its root. Element offsets
// (Start, End) index body, so an element GET returns the stored bytes.
func parseDocument(body []byte) (*xmltree.Node, error) {
	if bytes.HasPrefix(body, []byte{0xfe, 0xff}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) {
		return nil, &xmlError{"not-utf-8", "document is UTF-16"}
	}
	// A raw image or other binary is "not XML" before it is "not UTF-8"
	// (OpenXCAP answers a raw PNG with not-well-formed too).
	if t := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) == 0 || t[0] != '<' {
		return nil, &xmlError{"not-well-formed", "document is not XML"}
	}
	if !utf8.Valid(body) {
		return nil, &xmlError{"not-utf-8", "document is not valid UTF-8"}
	}
	if enc := declaredEncoding(body); enc != "" && !strings.EqualFold(enc, "utf-8") && !strings.EqualFold(enc, "utf8") {
		return nil, &xmlError{"not-utf-8", fmt.Sprintf("document declares encoding %q", enc)}
	}
	doc, err := xmltree.Parse(body, xmlLimits)
	if err != nil {
		return nil, &xmlError{"not-well-formed", err.Error()}
	}
	for _, n := range append(doc.Prolog, doc.Epilog...) {
		if n.Kind == xmltree.Directive {
			return nil, &xmlError{"not-well-formed", "DOCTYPE and other directives are not allowed"}
		}
	}
	if hasDirective(doc.Root) {
		return nil, &xmlError{"not-well-formed", "DOCTYPE and other directives are not allowed"}
	}
	return doc.Root, nil
}

func hasDirective(n *xmltree.Node) bool {
	for _, c := range n.Children {
		if c.Kind == xmltree.Directive || c.Kind == xmltree.Element && hasDirective(c) {
			return true
		}
	}
	return false
}

// declaredEncoding returns the encoding named in the XML declaration, if any.
func declaredEncoding(body []byte) string {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(body[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	if j := strings.IndexByte(rest, q); j >= 0 {
		return rest[:j]
	}
	return ""
}

// elementBytes returns the stored bytes of e with the namespace declarations
// it inherits added to its start tag, so the fragment means the same thing
// out of its document (RFC 4825 §8.4.1: application/xcap-el+xml).
func elementBytes(doc []byte, e *xmltree.Node) []byte {
	raw := doc[e.Start:e.End]
	inherited := e.Inherited()
	if len(inherited) == 0 {
		return bytes.Clone(raw)
	}
	// The qualified name ends at the first space, '/' or '>'.
	nameEnd := bytes.IndexAny(raw, " \t\r\n/>")
	if nameEnd < 0 {
		return bytes.Clone(raw)
	}
	b := xmltree.AppendDecls(bytes.Clone(raw[:nameEnd]), inherited)
	return append(b, raw[nameEnd:]...)
}

// xcapErrorBody renders an RFC 4825 §11 error document.
func xcapErrorBody(tag, phrase string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><` + tag)
	if phrase != "" {
		b.WriteString(` phrase="`)
		b.Write(xmltree.AppendAttrValue(nil, phrase))
		b.WriteByte('"')
	}
	b.WriteString("/></xcap-error>\n")
	return b.Bytes()
}

var errNoMatch = errors.New("node selector matches no node")
