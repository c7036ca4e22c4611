package pidf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// node is one element (or, when name.Local is "", one run of character data)
// of a parsed document. Namespace prefixes are resolved: name.Space is the
// namespace URI, so documents are matched by URI whatever prefixes they use.
type node struct {
	name xml.Name
	attr []xml.Attr // without namespace declarations
	kids []*node
	text string // character data of a text node
}

func (n *node) isElement() bool { return n.name.Local != "" }

func (n *node) is(space, local string) bool {
	return n.name.Local == local && n.name.Space == space
}

// attrValue returns the value of the un-namespaced attribute local.
func (n *node) attrValue(local string) (string, bool) {
	for _, a := range n.attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// elements calls fn for each child element.
func (n *node) elements(fn func(c *node)) {
	for _, c := range n.kids {
		if c.isElement() {
			fn(c)
		}
	}
}

// child returns the first child element named space:local, or nil.
func (n *node) child(space, local string) *node {
	for _, c := range n.kids {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

// textContent returns the concatenated character data of n and all its
// descendants, trimmed.
func (n *node) textContent() string {
	if len(n.kids) == 1 && !n.kids[0].isElement() {
		return strings.TrimSpace(n.kids[0].text)
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(m *node) {
		for _, c := range m.kids {
			if c.isElement() {
				walk(c)
			} else {
				b.WriteString(c.text)
			}
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// parseTree reads one XML document into a tree. It enforces maxDepth and
// maxElements while reading, so a hostile document costs at most that much.
func parseTree(data []byte, maxDepth, maxElements int) (*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var (
		root     *node
		stack    []*node
		elements int
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
			elements++
			if elements > maxElements {
				return nil, &LimitError{What: "elements", Limit: maxElements}
			}
			if len(stack) >= maxDepth {
				return nil, &LimitError{What: "nesting depth", Limit: maxDepth}
			}
			n := &node{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attr = append(n.attr, a)
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue // whitespace around the root
			}
			p := stack[len(stack)-1]
			if k := len(p.kids); k > 0 && !p.kids[k-1].isElement() {
				p.kids[k-1].text += string(t)
			} else {
				p.kids = append(p.kids, &node{text: string(t)})
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

// charsetReader accepts the encodings a PIDF may declare besides UTF-8.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		data, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return strings.NewReader(b.String()), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
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
	nsXML      = "http://www.w3.org/XML/1998/namespace"
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

// writer serializes trees. The root declares the PIDF default namespace and
// the prefixes of the namespaces in rootNS; any other namespace is declared
// on the element that first needs it.
type writer struct {
	b bytes.Buffer
}

// scope is the namespace context of an element being written.
type scope struct {
	defaultNS string
	prefixes  map[string]string // uri -> prefix
	used      map[string]string // prefix -> uri
}

func (s scope) clone() scope {
	c := scope{defaultNS: s.defaultNS, prefixes: make(map[string]string, len(s.prefixes)+1), used: make(map[string]string, len(s.used)+1)}
	for k, v := range s.prefixes {
		c.prefixes[k] = v
	}
	for k, v := range s.used {
		c.used[k] = v
	}
	return c
}

// writeDocument writes the XML declaration and root with the well-known
// namespaces listed in decl declared on it.
func (w *writer) writeDocument(root *node, decl []string) {
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	sc := scope{defaultNS: root.name.Space, prefixes: map[string]string{}, used: map[string]string{}}
	var extra []xml.Attr
	if root.name.Space != "" {
		extra = append(extra, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: root.name.Space})
	}
	for _, uri := range decl {
		p := preferredPrefix[uri]
		if p == "" || sc.used[p] != "" || uri == root.name.Space {
			continue
		}
		sc.prefixes[uri], sc.used[p] = p, uri
		extra = append(extra, xml.Attr{Name: xml.Name{Space: "xmlns", Local: p}, Value: uri})
	}
	w.element(root, sc, extra, true)
	w.b.WriteByte('\n')
}

// prefixFor returns the prefix bound to uri in sc, binding a new one (added
// to decls) when there is none.
func prefixFor(uri string, sc *scope, decls *[]xml.Attr) string {
	if p, ok := sc.prefixes[uri]; ok {
		return p
	}
	if uri == nsXML {
		return "xml" // bound by definition, must not be declared
	}
	p := preferredPrefix[uri]
	if p == "" || sc.used[p] != "" {
		for i := 0; ; i++ {
			p = "ns" + strconv.Itoa(i)
			if sc.used[p] == "" {
				break
			}
		}
	}
	sc.prefixes[uri], sc.used[p] = p, uri
	*decls = append(*decls, xml.Attr{Name: xml.Name{Space: "xmlns", Local: p}, Value: uri})
	return p
}

func (w *writer) element(n *node, parent scope, decls []xml.Attr, isRoot bool) {
	sc := parent
	cloned := isRoot
	mutate := func() {
		if !cloned {
			sc = parent.clone()
			cloned = true
		}
	}
	var qname string
	switch {
	case n.name.Space == sc.defaultNS:
		qname = n.name.Local
	default:
		if _, ok := sc.prefixes[n.name.Space]; !ok {
			mutate()
		}
		if n.name.Space == "" {
			// An element in no namespace under a default namespace needs
			// the default undeclared.
			mutate()
			sc.defaultNS = ""
			decls = append(decls, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: ""})
			qname = n.name.Local
		} else {
			qname = prefixFor(n.name.Space, &sc, &decls) + ":" + n.name.Local
		}
	}
	attrs := make([]string, 0, len(n.attr))
	for _, a := range n.attr {
		switch a.Name.Space {
		case "":
			attrs = append(attrs, a.Name.Local)
		case nsXML, "xml":
			attrs = append(attrs, "xml:"+a.Name.Local)
		default:
			if _, ok := sc.prefixes[a.Name.Space]; !ok {
				mutate()
			}
			attrs = append(attrs, prefixFor(a.Name.Space, &sc, &decls)+":"+a.Name.Local)
		}
	}
	w.b.WriteByte('<')
	w.b.WriteString(qname)
	for _, d := range decls {
		w.b.WriteByte(' ')
		if d.Name.Space == "xmlns" {
			w.b.WriteString("xmlns:" + d.Name.Local)
		} else {
			w.b.WriteString("xmlns")
		}
		w.b.WriteString(`="`)
		escapeAttr(&w.b, d.Value)
		w.b.WriteByte('"')
	}
	for i, a := range n.attr {
		w.b.WriteByte(' ')
		w.b.WriteString(attrs[i])
		w.b.WriteString(`="`)
		escapeAttr(&w.b, a.Value)
		w.b.WriteByte('"')
	}
	if len(n.kids) == 0 {
		w.b.WriteString("/>")
		return
	}
	w.b.WriteByte('>')
	for _, c := range n.kids {
		if c.isElement() {
			w.element(c, sc, nil, false)
		} else {
			escapeText(&w.b, c.text)
		}
	}
	w.b.WriteString("</")
	w.b.WriteString(qname)
	w.b.WriteByte('>')
}

func escapeText(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			writeChar(b, r)
		}
	}
}

func escapeAttr(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			writeChar(b, r)
		}
	}
}

// writeChar writes r, replacing characters XML 1.0 cannot carry with U+FFFD
// (Encode rejects such input before it gets here; this keeps Closed and
// Compose output well-formed whatever they are given).
func writeChar(b *bytes.Buffer, r rune) {
	if !isXMLChar(r) {
		r = utf8.RuneError
	}
	b.WriteRune(r)
}

// isXMLChar reports whether r is allowed in XML 1.0 documents.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// validXMLString reports whether s is valid UTF-8 made of XML 1.0 characters.
func validXMLString(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !isXMLChar(r) {
			return false
		}
	}
	return true
}

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
