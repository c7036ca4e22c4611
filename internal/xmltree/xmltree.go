// Package xmltree is sipbuddy's one XML tree: every document that comes
// from the network (PIDF, watcherinfo, resource-lists, pres-rules, XCAP
// documents, the pres-content icon document) is read with it.
//
// # Reading
//
// Parse turns bytes into a Document. Names are namespace-aware: every
// element and attribute carries the namespace URI its prefix stands for
// (Space), so code matches elements by URI with Node.Is and never cares
// which prefix a client chose. The prefix as written (Prefix) and the
// namespace declarations (xmlns attributes, in Attrs where they were
// written) are kept too, with unknown elements, comments and processing
// instructions, so that a document read and written back is the document
// another client wrote.
//
// Parse enforces Limits while it reads (size, depth, elements, nodes,
// attributes per element, attribute length) and returns a *LimitError
// when one is exceeded. It also rejects what XML and Namespaces in XML
// forbid and encoding/xml lets through: the same attribute twice on one
// element (by expanded name, so p:x and q:x with p and q bound to one URI
// count as twice), undeclared prefixes, mismatched tags, more than one
// root, text outside the root. These errors wrap ErrMalformed.
//
// # Writing
//
// Document.Bytes and Encoder write a tree back. For a tree that came from
// Parse the output is the input up to lexical details: references and
// CDATA sections become escaped text, attribute values are double-quoted,
// an empty element is written <x/>, whitespace outside the root is one
// newline per node. Trees built or edited in code need no prefix
// bookkeeping: a node whose Prefix is not bound to its Space where it is
// written gets a prefix that is (or a declaration of one), so the output
// is always namespace-well-formed. Text and attribute values are escaped so
// that reading them again gives the same strings; characters XML cannot
// carry are written as U+FFFD.
//
// # Editing
//
// NewElement, Node.Append, InsertBefore and Remove keep the layout of the
// element being edited (one child per line stays one child per line), so
// an XCAP document edited by sipbuddy still reads well in another client.
package xmltree

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a Node.
type Kind uint8

// Node kinds.
const (
	Element Kind = iota
	Text
	Comment
	ProcInst  // <?target inst?>, the XML declaration included
	Directive // <!DOCTYPE ...>
)

// Namespace URIs bound by definition.
const (
	NSXML   = "http://www.w3.org/XML/1998/namespace"
	NSXMLNS = "http://www.w3.org/2000/xmlns/"
)

// ErrMalformed is wrapped by every Parse error about XML that is not
// well-formed (or not namespace-well-formed).
var ErrMalformed = errors.New("XML is not well-formed")

// Attr is one attribute as written. Namespace declarations are attributes
// too (Prefix "xmlns", or Local "xmlns" with no prefix; Space NSXMLNS).
type Attr struct {
	Prefix, Local string
	// Space is the namespace URI of a prefixed attribute; "" for an
	// unprefixed one (attributes do not take the default namespace).
	Space string
	Value string
}

// IsNamespaceDecl reports whether the attribute declares a namespace.
func (a Attr) IsNamespaceDecl() bool {
	return a.Prefix == "xmlns" || (a.Prefix == "" && a.Local == "xmlns")
}

// Node is one node of the tree.
type Node struct {
	Kind   Kind
	Prefix string // Element: prefix as written ("" for none)
	Local  string // Element: local name; ProcInst: target
	Space  string // Element: namespace URI ("" for none)
	Attrs  []Attr // Element: in document order, declarations included
	// Text is the character data of a Text node (references resolved),
	// the content of a Comment, the instruction of a ProcInst, the body of
	// a Directive.
	Text     string
	Children []*Node
	Parent   *Node
	// Start and End are the byte offsets of a parsed element in the
	// data given to Parse: data[Start:End] is the element as written.
	// Both are 0 for nodes built in code (and meaningless after edits
	// that change the element, or for a document read as Latin-1).
	Start, End int
}

// Document is a parsed document: the nodes before the root (declaration,
// comments), the root element, and the nodes after it.
type Document struct {
	Prolog []*Node
	Root   *Node
	Epilog []*Node
}

// Is reports whether n is the element {space}local.
func (n *Node) Is(space, local string) bool {
	return n != nil && n.Kind == Element && n.Local == local && n.Space == space
}

// Elements returns the child elements.
func (n *Node) Elements() []*Node {
	out := make([]*Node, 0, len(n.Children))
	for _, c := range n.Children {
		if c.Kind == Element {
			out = append(out, c)
		}
	}
	return out
}

// EachElement calls fn for each child element, without allocating.
func (n *Node) EachElement(fn func(c *Node)) {
	for _, c := range n.Children {
		if c.Kind == Element {
			fn(c)
		}
	}
}

// FirstElement returns the first child element, or nil.
func (n *Node) FirstElement() *Node {
	for _, c := range n.Children {
		if c.Kind == Element {
			return c
		}
	}
	return nil
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

// KeepFirstText sets *dst to n's text content unless an earlier element
// already gave it one: where a document repeats an element that should
// appear once (a note, a name, an icon), the first with text counts.
func KeepFirstText(dst *string, n *Node) {
	if *dst == "" {
		*dst = n.TextContent()
	}
}

// Attr returns the value of the unprefixed attribute local.
func (n *Node) Attr(local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// AttrNS returns the value of the attribute {space}local; space "" is an
// unprefixed attribute.
func (n *Node) AttrNS(space, local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Local == local && a.Space == space && !a.IsNamespaceDecl() {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttr sets (or adds) the unprefixed attribute local.
func (n *Node) SetAttr(local, value string) {
	for i, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, Attr{Local: local, Value: value})
}

// OwnText returns the character data of n's own Text children, as
// written (not trimmed, descendants' text not included).
func (n *Node) OwnText() string {
	if len(n.Children) == 1 && n.Children[0].Kind == Text {
		return n.Children[0].Text
	}
	var b strings.Builder
	for _, c := range n.Children {
		if c.Kind == Text {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// TextContent returns the character data of n and its descendants, trimmed.
func (n *Node) TextContent() string {
	if len(n.Children) == 1 && n.Children[0].Kind == Text {
		return strings.TrimSpace(n.Children[0].Text)
	}
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
// URI; "" is the default namespace, absent when there is none).
func (n *Node) Scope() map[string]string {
	scope := declared(n)
	scope["xml"] = NSXML
	if scope[""] == "" {
		delete(scope, "")
	}
	return scope
}

// Inherited returns the namespace bindings n gets from its ancestors and
// does not declare itself: what must be added to n's start tag for n to
// mean the same thing out of its document. "xml" is not included.
func (n *Node) Inherited() map[string]string {
	scope := declared(n.Parent)
	for _, a := range n.Attrs {
		if a.IsNamespaceDecl() {
			delete(scope, declPrefix(a))
		}
	}
	if scope[""] == "" {
		delete(scope, "")
	}
	return scope
}

// declared collects the declarations of n and its ancestors, the nearest
// winning.
func declared(n *Node) map[string]string {
	var chain []*Node
	for m := n; m != nil; m = m.Parent {
		chain = append(chain, m)
	}
	scope := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attrs {
			if a.IsNamespaceDecl() {
				scope[declPrefix(a)] = a.Value
			}
		}
	}
	return scope
}

// declPrefix is the prefix a declaration binds ("" for the default).
func declPrefix(a Attr) string {
	if a.Prefix == "xmlns" {
		return a.Local
	}
	return ""
}

// ValidText reports whether s can be written unchanged: valid UTF-8 made
// of XML 1.0 characters.
func ValidText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
			return false
		}
		i += size
	}
	return true
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// IsNCName reports whether s is an XML name without a colon (an xs:ID, a
// prefix, a local name). Only ASCII letters, digits, '-', '.', '_' and
// non-ASCII letters are accepted; a digit, '-' or '.' cannot come first.
func IsNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && r != utf8.RuneError:
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}
