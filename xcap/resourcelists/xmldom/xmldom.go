// Package xmldom is a small XML tree that writes back what it read: element
// and attribute prefixes, namespace declarations (where they were written),
// attribute order, comments, processing instructions and whitespace. It
// exists for XCAP write-back (resource-lists, pres-rules): a client that
// GETs a document, edits one list and PUTs it back must not drop or rewrite
// content written by other clients.
//
// Why not encoding/xml's Marshal or antchfx/xmlquery: Marshal cannot write
// prefixes and loses unknown content; xmlquery rebuilds prefixes from a
// document-wide URI→prefix map (wrong when one prefix is bound to different
// URIs in different subtrees) and does not escape newlines in attribute
// values. This tree is built on encoding/xml's RawToken, which keeps
// prefixes as written, and resolves namespaces itself so callers can still
// match elements by namespace URI.
//
// The only changes a parse/serialize round trip makes are lexical: entity
// and character references and CDATA sections are written as escaped text,
// attribute values are always double-quoted, and an element with no
// children is written as <x/>.
//
// It lives under xcap/resourcelists because that is where its owner works;
// xcap/presrules uses it too.
package xmldom

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a Node.
type Kind int

// Node kinds.
const (
	Element Kind = iota
	Text
	Comment
	ProcInst  // <?target inst?>, including the XML declaration
	Directive // <!DOCTYPE ...>
)

// Namespace URIs bound by definition.
const (
	NSXML   = "http://www.w3.org/XML/1998/namespace"
	NSXMLNS = "http://www.w3.org/2000/xmlns/"
)

// Attr is one attribute as written. Namespace declarations are attributes
// too (Prefix "xmlns", or Local "xmlns" with no prefix).
type Attr struct {
	Prefix, Local, Value string
}

// IsNamespaceDecl reports whether the attribute declares a namespace.
func (a Attr) IsNamespaceDecl() bool {
	return a.Prefix == "xmlns" || (a.Prefix == "" && a.Local == "xmlns")
}

// Node is one node of the tree.
type Node struct {
	Kind     Kind
	Prefix   string // Element: prefix as written
	Local    string // Element: local name; ProcInst: target
	Space    string // Element: resolved namespace URI
	Attrs    []Attr // Element
	Text     string // Text (unescaped), Comment, ProcInst instruction, Directive
	Children []*Node
	Parent   *Node
}

// Document is a parsed document: the nodes before the root (declaration,
// comments), the root element, and the nodes after it.
type Document struct {
	Prolog []*Node
	Root   *Node
	Epilog []*Node
}

// Limits bound the work Parse does. Size is the caller's to check first.
type Limits struct {
	MaxDepth int // deepest element nesting
	MaxNodes int // elements + text + other nodes
}

// DefaultLimits suit XCAP documents of up to a few hundred KiB.
var DefaultLimits = Limits{MaxDepth: 64, MaxNodes: 100000}

var utf8BOM = []byte("\xef\xbb\xbf")

// Errors from Parse.
var (
	ErrMalformed = errors.New("xmldom: malformed XML")
	ErrLimit     = errors.New("xmldom: document over limits")
)

// Parse reads a document.
func Parse(data []byte, lim Limits) (*Document, error) {
	data = bytes.TrimPrefix(data, utf8BOM) // some Windows clients write one
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (only UTF-8)", charset)
	}
	doc := &Document{}
	var (
		stack  []*Node
		scopes []map[string]string // prefix -> URI, per open element
		nodes  int
	)
	base := map[string]string{"xml": NSXML, "xmlns": NSXMLNS}
	add := func(n *Node) error {
		nodes++
		if nodes > lim.MaxNodes {
			return fmt.Errorf("%w: more than %d nodes", ErrLimit, lim.MaxNodes)
		}
		if len(stack) == 0 {
			switch {
			case n.Kind == Element && doc.Root != nil:
				return fmt.Errorf("%w: more than one root element", ErrMalformed)
			case n.Kind == Element:
				doc.Root = n
			case n.Kind == Text:
				if strings.TrimSpace(n.Text) != "" {
					return fmt.Errorf("%w: text outside the root element", ErrMalformed)
				}
				// whitespace around the root is not kept
			case doc.Root == nil:
				doc.Prolog = append(doc.Prolog, n)
			default:
				doc.Epilog = append(doc.Epilog, n)
			}
			return nil
		}
		p := stack[len(stack)-1]
		if n.Kind == Text && len(p.Children) > 0 {
			if last := p.Children[len(p.Children)-1]; last.Kind == Text {
				last.Text += n.Text
				nodes--
				return nil
			}
		}
		n.Parent = p
		p.Children = append(p.Children, n)
		return nil
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= lim.MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, lim.MaxDepth)
			}
			scope := base
			if len(scopes) > 0 {
				scope = scopes[len(scopes)-1]
			}
			n := &Node{Kind: Element, Prefix: t.Name.Space, Local: t.Name.Local}
			declared := false
			for _, a := range t.Attr {
				at := Attr{Prefix: a.Name.Space, Local: a.Name.Local, Value: a.Value}
				if at.IsNamespaceDecl() {
					if !declared {
						scope = cloneScope(scope)
						declared = true
					}
					if at.Prefix == "xmlns" {
						if at.Local == "xmlns" || (at.Local == "xml") != (at.Value == NSXML) || at.Value == "" {
							return nil, fmt.Errorf("%w: invalid declaration xmlns:%s=%q", ErrMalformed, at.Local, at.Value)
						}
						scope[at.Local] = at.Value
					} else {
						scope[""] = at.Value
					}
				}
				n.Attrs = append(n.Attrs, at)
			}
			uri, ok := scope[n.Prefix]
			if !ok && n.Prefix != "" {
				return nil, fmt.Errorf("%w: undeclared prefix %q on <%s:%s>", ErrMalformed, n.Prefix, n.Prefix, n.Local)
			}
			n.Space = uri
			seen := make(map[string]bool, len(n.Attrs))
			for _, a := range n.Attrs {
				key := a.Prefix + ":" + a.Local
				if a.Prefix != "" && a.Prefix != "xmlns" {
					u, ok := scope[a.Prefix]
					if !ok {
						return nil, fmt.Errorf("%w: undeclared attribute prefix %q", ErrMalformed, a.Prefix)
					}
					key = u + ":" + a.Local
				}
				if seen[key] {
					return nil, fmt.Errorf("%w: duplicate attribute %s on <%s>", ErrMalformed, a.Local, n.Local)
				}
				seen[key] = true
			}
			if err := add(n); err != nil {
				return nil, err
			}
			stack = append(stack, n)
			scopes = append(scopes, scope)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unexpected </%s>", ErrMalformed, t.Name.Local)
			}
			top := stack[len(stack)-1]
			if top.Prefix != t.Name.Space || top.Local != t.Name.Local {
				return nil, fmt.Errorf("%w: <%s> closed by </%s>", ErrMalformed, qname(top.Prefix, top.Local), qname(t.Name.Space, t.Name.Local))
			}
			stack = stack[:len(stack)-1]
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			if len(t) == 0 {
				break // an empty CDATA section: no text, and <a></a> writes as <a/>
			}
			if err := add(&Node{Kind: Text, Text: string(t)}); err != nil {
				return nil, err
			}
		case xml.Comment:
			if err := add(&Node{Kind: Comment, Text: string(t)}); err != nil {
				return nil, err
			}
		case xml.ProcInst:
			if err := add(&Node{Kind: ProcInst, Local: t.Target, Text: string(t.Inst)}); err != nil {
				return nil, err
			}
		case xml.Directive:
			if err := add(&Node{Kind: Directive, Text: string(t)}); err != nil {
				return nil, err
			}
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: <%s> not closed", ErrMalformed, stack[len(stack)-1].Local)
	}
	if doc.Root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return doc, nil
}

func cloneScope(s map[string]string) map[string]string {
	c := make(map[string]string, len(s)+2)
	for k, v := range s {
		c[k] = v
	}
	return c
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// Bytes serializes the document.
func (d *Document) Bytes() []byte {
	var b bytes.Buffer
	for _, n := range d.Prolog {
		writeNode(&b, n)
		b.WriteByte('\n')
	}
	writeNode(&b, d.Root)
	b.WriteByte('\n')
	for _, n := range d.Epilog {
		writeNode(&b, n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func writeNode(b *bytes.Buffer, n *Node) {
	switch n.Kind {
	case Text:
		escape(b, n.Text, false)
	case Comment:
		b.WriteString("<!--")
		b.WriteString(n.Text)
		b.WriteString("-->")
	case ProcInst:
		b.WriteString("<?")
		b.WriteString(n.Local)
		if n.Text != "" {
			b.WriteByte(' ')
			b.WriteString(n.Text)
		}
		b.WriteString("?>")
	case Directive:
		b.WriteString("<!")
		b.WriteString(n.Text)
		b.WriteByte('>')
	case Element:
		name := qname(n.Prefix, n.Local)
		b.WriteByte('<')
		b.WriteString(name)
		for _, a := range n.Attrs {
			b.WriteByte(' ')
			b.WriteString(qname(a.Prefix, a.Local))
			b.WriteString(`="`)
			escape(b, a.Value, true)
			b.WriteByte('"')
		}
		if len(n.Children) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteByte('>')
		for _, c := range n.Children {
			writeNode(b, c)
		}
		b.WriteString("</")
		b.WriteString(name)
		b.WriteByte('>')
	}
}

// escape writes s as character data or an attribute value. Whitespace other
// than spaces is escaped in attributes, so that attribute-value
// normalisation does not change it on the next read; characters XML cannot
// carry are written as U+FFFD.
func escape(b *bytes.Buffer, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r', attr && (r == '\n' || r == '\t'):
			b.WriteString("&#x")
			b.WriteString(strconv.FormatInt(int64(r), 16))
			b.WriteByte(';')
		case !isXMLChar(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// ValidText reports whether s can be written unchanged: valid UTF-8 made
// of XML 1.0 characters.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return false
		}
	}
	return true
}

// Is reports whether n is the element {space}local.
func (n *Node) Is(space, local string) bool {
	return n != nil && n.Kind == Element && n.Space == space && n.Local == local
}

// Elements returns the child elements.
func (n *Node) Elements() []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Kind == Element {
			out = append(out, c)
		}
	}
	return out
}

// Child returns the first child element {space}local, or nil.
func (n *Node) Child(space, local string) *Node {
	for _, c := range n.Children {
		if c.Is(space, local) {
			return c
		}
	}
	return nil
}

// Attr returns the value of the un-prefixed attribute local.
func (n *Node) Attr(local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttr sets (or adds) the un-prefixed attribute local.
func (n *Node) SetAttr(local, value string) {
	for i, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, Attr{Local: local, Value: value})
}

// TextContent returns the character data of n and its descendants, trimmed.
func (n *Node) TextContent() string {
	var b strings.Builder
	var walk func(*Node)
	walk = func(m *Node) {
		for _, c := range m.Children {
			switch c.Kind {
			case Text:
				b.WriteString(c.Text)
			case Element:
				walk(c)
			}
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// SetText replaces the children of n with one text node.
func (n *Node) SetText(s string) {
	n.Children = []*Node{{Kind: Text, Text: s, Parent: n}}
}

// Scope returns the namespace bindings in force on element n (prefix ->
// URI; "" is the default namespace).
func (n *Node) Scope() map[string]string {
	var chain []*Node
	for m := n; m != nil; m = m.Parent {
		chain = append(chain, m)
	}
	scope := map[string]string{"xml": NSXML}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attrs {
			switch {
			case a.Prefix == "xmlns":
				scope[a.Local] = a.Value
			case a.Prefix == "" && a.Local == "xmlns":
				scope[""] = a.Value
			}
		}
	}
	return scope
}

// NewElement creates an element {space}local to be placed under parent,
// using a prefix already bound to space there (the default namespace
// first, then preferred if it is bound to space, then any), or declaring
// preferred (or a free "nsN") on the new element when none is. The element
// is not attached; use Append or InsertAt.
func NewElement(parent *Node, space, local, preferred string) *Node {
	scope := parent.Scope()
	n := &Node{Kind: Element, Local: local, Space: space}
	if scope[""] == space {
		return n
	}
	if preferred != "" && scope[preferred] == space {
		n.Prefix = preferred
		return n
	}
	best := ""
	for p, u := range scope {
		if u == space && p != "" && (best == "" || p < best) {
			best = p // deterministic choice when several prefixes are bound
		}
	}
	if best != "" {
		n.Prefix = best
		return n
	}
	p := preferred
	if p == "" || p == "xml" || p == "xmlns" || scope[p] != "" {
		for i := 0; ; i++ {
			p = "ns" + strconv.Itoa(i)
			if _, used := scope[p]; !used {
				break
			}
		}
	}
	n.Prefix = p
	n.Attrs = append(n.Attrs, Attr{Prefix: "xmlns", Local: p, Value: space})
	return n
}

// AddElement creates a child element of n with NewElement and appends it.
func (n *Node) AddElement(space, local, preferred string) *Node {
	c := NewElement(n, space, local, preferred)
	n.Append(c)
	return c
}

// Append adds c as the last child of n. When n's element children are laid
// out one per line (or n is empty), c gets the same indentation, so edited
// documents stay readable.
func (n *Node) Append(c *Node) {
	c.Parent = n
	indent, ok := n.indent()
	if !ok {
		n.Children = append(n.Children, c)
		return
	}
	ws := func(t string) *Node { return &Node{Kind: Text, Text: t, Parent: n} }
	if k := len(n.Children); k > 0 && isBlank(n.Children[k-1]) {
		// Keep the whitespace before the closing tag last.
		closing := n.Children[k-1]
		n.Children = append(n.Children[:k-1], ws(indent), c, closing)
		return
	}
	n.Children = append(n.Children, ws(indent), c, ws(parentIndent(n)))
}

// AppendInline adds c as the last child of n without any whitespace.
func (n *Node) AppendInline(c *Node) {
	c.Parent = n
	n.Children = append(n.Children, c)
}

// InsertBefore inserts c as a child of n just before its child ref (which
// must be a child of n; otherwise c is appended), with the indentation of
// its siblings.
func (n *Node) InsertBefore(c, ref *Node) {
	i := n.Index(ref)
	if i < 0 {
		n.Append(c)
		return
	}
	c.Parent = n
	indent, ok := n.indent()
	if ok && i > 0 && isBlank(n.Children[i-1]) {
		n.Children = append(n.Children[:i], append([]*Node{c, {Kind: Text, Text: indent, Parent: n}}, n.Children[i:]...)...)
		return
	}
	n.Children = append(n.Children[:i], append([]*Node{c}, n.Children[i:]...)...)
}

func isBlank(n *Node) bool { return n.Kind == Text && strings.TrimSpace(n.Text) == "" }

// indent returns the newline + indentation used before n's element
// children, and false when they are not laid out one per line. An element
// with no element children is indented one step (two spaces) deeper than
// itself.
func (n *Node) indent() (string, bool) {
	hasElements := false
	for i, c := range n.Children {
		if c.Kind != Element {
			continue
		}
		hasElements = true
		if i > 0 && isBlank(n.Children[i-1]) {
			if t := n.Children[i-1].Text; strings.Contains(t, "\n") {
				return t[strings.LastIndexByte(t, '\n'):], true
			}
		}
	}
	if hasElements {
		return "", false
	}
	multiline := false
	for _, c := range n.Children {
		if !isBlank(c) {
			return "", false // text content: do not add whitespace to it
		}
		multiline = multiline || strings.Contains(c.Text, "\n")
	}
	// An empty element is laid out when it already spans lines, or when
	// it sits on a line of its own.
	own := parentIndent(n)
	if !multiline && (n.Parent == nil || own == "\n" && !startsLine(n)) {
		return "", false
	}
	return own + "  ", true
}

// startsLine reports whether whitespace with a newline precedes n.
func startsLine(n *Node) bool {
	p := n.Parent
	if p == nil {
		return false
	}
	i := p.Index(n)
	return i > 0 && isBlank(p.Children[i-1]) && strings.Contains(p.Children[i-1].Text, "\n")
}

// parentIndent returns the newline + indentation that precedes n itself.
func parentIndent(n *Node) string {
	p := n.Parent
	if p == nil {
		return "\n"
	}
	if i := p.Index(n); i > 0 && isBlank(p.Children[i-1]) {
		t := p.Children[i-1].Text
		if j := strings.LastIndexByte(t, '\n'); j >= 0 {
			return t[j:]
		}
	}
	return "\n"
}

// Remove detaches child c from n, with the whitespace that preceded it so
// no blank line is left behind. It reports whether c was a child of n.
func (n *Node) Remove(c *Node) bool {
	for i, k := range n.Children {
		if k != c {
			continue
		}
		start := i
		if i > 0 && n.Children[i-1].Kind == Text && strings.TrimSpace(n.Children[i-1].Text) == "" {
			start = i - 1
		}
		n.Children = append(n.Children[:start], n.Children[i+1:]...)
		c.Parent = nil
		return true
	}
	return false
}

// Index returns the position of child c in n.Children, or -1.
func (n *Node) Index(c *Node) int {
	for i, k := range n.Children {
		if k == c {
			return i
		}
	}
	return -1
}
