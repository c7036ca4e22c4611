package xmltree

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Parser reads documents. The zero Parser uses DefaultLimits and accepts
// UTF-8 (and its US-ASCII subset) only.
type Parser struct {
	Limits Limits
	// Latin1 also accepts documents that declare ISO-8859-1, as some old
	// presence clients send.
	Latin1 bool
}

// Parse reads a document with limits lim (zero fields: DefaultLimits).
func Parse(data []byte, lim Limits) (*Document, error) {
	return Parser{Limits: lim}.Parse(data)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// parser is the state of one Parse.
type parser struct {
	lim      Limits
	d        *xml.Decoder
	doc      *Document
	stack    []*Node
	binds    []Binding
	marks    []int // len(binds) when each open element started
	nodes    int
	elements int
	offset   int // bytes stripped before the decoder's input (a BOM)
	slab     []Node
	seen     map[[2]string]struct{} // duplicate check on elements with many attributes
	// text collects a run of character data (text, references, CDATA
	// sections) until the next markup, so a run made of many pieces
	// costs linear time.
	text []byte
}

// Parse reads one document.
func (p Parser) Parse(data []byte) (*Document, error) {
	lim := p.Limits.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, TooLarge(WhatSize, int64(len(data)), int64(lim.MaxBytes))
	}
	ps := &parser{lim: lim, doc: &Document{}}
	// An element has one or two tags and a run of text follows a tag, so
	// one and a half nodes per '<' fit most documents in one allocation.
	ps.slab = make([]Node, min(bytes.Count(data, []byte("<"))*3/2+2, 1024))
	if bytes.HasPrefix(data, utf8BOM) { // some Windows clients write one
		data, ps.offset = data[len(utf8BOM):], len(utf8BOM)
	}
	ps.d = xml.NewDecoder(bytes.NewReader(data))
	ps.d.Strict = true
	ps.d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
			if p.Latin1 {
				return latin1Reader(r)
			}
		}
		return nil, fmt.Errorf("unsupported encoding %q (only UTF-8)", charset)
	}
	if err := ps.run(); err != nil {
		return nil, err
	}
	return ps.doc, nil
}

func latin1Reader(r io.Reader) (io.Reader, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(len(data) + len(data)/8)
	for _, c := range data {
		b.WriteRune(rune(c))
	}
	return strings.NewReader(b.String()), nil
}

// malformed builds an ErrMalformed error that names the line.
func (ps *parser) malformed(format string, args ...any) error {
	line, _ := ps.d.InputPos()
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, line, fmt.Sprintf(format, args...))
}

func (ps *parser) newNode() *Node {
	if len(ps.slab) == 0 {
		// Nodes come in slabs: one allocation for many small nodes.
		ps.slab = make([]Node, min(max(ps.nodes/4, 8), 1024))
	}
	n := &ps.slab[0]
	ps.slab = ps.slab[1:]
	return n
}

func (ps *parser) run() error {
	for {
		start := int(ps.d.InputOffset()) + ps.offset
		tok, err := ps.d.RawToken()
		if err == io.EOF {
			if err := ps.flushText(); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			if len(ps.stack) == 0 {
				if len(bytes.TrimSpace(cd)) != 0 {
					return ps.malformed("text outside the root element")
				}
				continue // whitespace around the root is not kept
			}
			ps.text = append(ps.text, cd...)
			continue
		}
		if err := ps.flushText(); err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := ps.start(t, start); err != nil {
				return err
			}
		case xml.EndElement:
			if len(ps.stack) == 0 {
				return ps.malformed("</%s> closes nothing", qname(t.Name.Space, t.Name.Local))
			}
			top := ps.stack[len(ps.stack)-1]
			if top.Prefix != t.Name.Space || top.Local != t.Name.Local {
				return ps.malformed("<%s> closed by </%s>", qname(top.Prefix, top.Local), qname(t.Name.Space, t.Name.Local))
			}
			top.End = int(ps.d.InputOffset()) + ps.offset
			ps.stack = ps.stack[:len(ps.stack)-1]
			ps.binds = ps.binds[:ps.marks[len(ps.marks)-1]]
			ps.marks = ps.marks[:len(ps.marks)-1]
		case xml.Comment:
			if err := ps.addMarkup(Comment, "", string(t), "a comment"); err != nil {
				return err
			}
		case xml.ProcInst:
			if err := ps.addMarkup(ProcInst, t.Target, string(t.Inst), "a processing instruction"); err != nil {
				return err
			}
		case xml.Directive:
			if err := ps.addMarkup(Directive, "", string(t), "a directive"); err != nil {
				return err
			}
		}
	}
	if len(ps.stack) > 0 {
		top := ps.stack[len(ps.stack)-1]
		return ps.malformed("<%s> is not closed", qname(top.Prefix, top.Local))
	}
	if ps.doc.Root == nil {
		return fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return nil
}

// flushText adds the pending run of character data as one Text node.
func (ps *parser) flushText() error {
	if len(ps.text) == 0 {
		return nil
	}
	n := ps.newNode()
	n.Kind, n.Text = Text, string(ps.text)
	ps.text = ps.text[:0]
	return ps.add(n)
}

// add places n under the open element, or around the root.
// addMarkup adds a comment, processing instruction (target) or directive
// node; its text must be UTF-8 XML characters, or the error names what.
func (ps *parser) addMarkup(kind Kind, target, text, what string) error {
	if !ValidText(text) {
		return ps.malformed("%s holds bytes that are not UTF-8 XML characters", what)
	}
	n := ps.newNode()
	n.Kind, n.Local, n.Text = kind, target, text
	return ps.add(n)
}

func (ps *parser) add(n *Node) error {
	ps.nodes++
	if ps.nodes > ps.lim.MaxNodes {
		return &LimitError{What: WhatNodes, Limit: int64(ps.lim.MaxNodes)}
	}
	if len(ps.stack) == 0 {
		switch {
		case n.Kind == Element && ps.doc.Root != nil:
			return ps.malformed("more than one root element")
		case n.Kind == Element:
			ps.doc.Root = n
		case ps.doc.Root == nil:
			ps.doc.Prolog = append(ps.doc.Prolog, n)
		default:
			ps.doc.Epilog = append(ps.doc.Epilog, n)
		}
		return nil
	}
	p := ps.stack[len(ps.stack)-1]
	n.Parent = p
	p.Children = append(p.Children, n)
	return nil
}

func (ps *parser) lookup(prefix string) (string, bool) { return lookup(ps.binds, prefix) }

// lookup returns the URI prefix is bound to by the innermost of binds;
// "xml" is bound by definition and no default means no namespace.
func lookup(binds []Binding, prefix string) (string, bool) {
	for i := len(binds) - 1; i >= 0; i-- {
		if binds[i].Prefix == prefix {
			return binds[i].URI, true
		}
	}
	switch prefix {
	case "xml":
		return NSXML, true
	case "":
		return "", true
	}
	return "", false
}

func (ps *parser) start(t xml.StartElement, offset int) error {
	ps.elements++
	if ps.elements > ps.lim.MaxElements {
		return &LimitError{What: WhatElements, Limit: int64(ps.lim.MaxElements)}
	}
	if len(ps.stack) >= ps.lim.MaxDepth {
		return &LimitError{What: WhatDepth, Limit: int64(ps.lim.MaxDepth)}
	}
	if len(t.Attr) > ps.lim.MaxAttrs {
		return &LimitError{What: WhatAttrs, Limit: int64(ps.lim.MaxAttrs), Actual: int64(len(t.Attr))}
	}
	n := ps.newNode()
	n.Kind, n.Prefix, n.Local, n.Start = Element, t.Name.Space, t.Name.Local, offset
	if n.Prefix == "xmlns" {
		return ps.malformed("<%s:%s>: the prefix xmlns cannot name an element", n.Prefix, n.Local)
	}
	mark := len(ps.binds)
	if len(t.Attr) > 0 {
		n.Attrs = make([]Attr, len(t.Attr))
	}
	for i, a := range t.Attr {
		if len(a.Value) > ps.lim.MaxAttrLen {
			return &LimitError{What: WhatAttrLen, Limit: int64(ps.lim.MaxAttrLen), Actual: int64(len(a.Value)), Unit: Bytes}
		}
		at := Attr{Prefix: a.Name.Space, Local: a.Name.Local, Value: a.Value}
		if at.IsNamespaceDecl() {
			at.Space = NSXMLNS
			prefix := declPrefix(at)
			if err := ps.checkDecl(prefix, at.Value); err != nil {
				return err
			}
			ps.binds = append(ps.binds, Binding{prefix, at.Value})
		}
		n.Attrs[i] = at
	}
	uri, ok := ps.lookup(n.Prefix)
	if !ok {
		return ps.malformed("<%s:%s>: the prefix %s is not declared", n.Prefix, n.Local, n.Prefix)
	}
	n.Space = uri
	for i := range n.Attrs {
		a := &n.Attrs[i]
		if a.Prefix == "" || a.Space == NSXMLNS {
			continue
		}
		u, ok := ps.lookup(a.Prefix)
		if !ok {
			return ps.malformed("<%s>: the prefix of the attribute %s:%s is not declared", qname(n.Prefix, n.Local), a.Prefix, a.Local)
		}
		a.Space = u
	}
	if err := ps.checkDuplicates(n); err != nil {
		return err
	}
	if err := ps.add(n); err != nil {
		return err
	}
	ps.stack = append(ps.stack, n)
	ps.marks = append(ps.marks, mark)
	return nil
}

// checkDecl enforces the constraints of Namespaces in XML 1.0 §3 on one
// declaration.
func (ps *parser) checkDecl(prefix, uri string) error {
	switch {
	case prefix == "xmlns":
		return ps.malformed("the prefix xmlns cannot be declared")
	case prefix == "xml" && uri != NSXML, prefix != "xml" && uri == NSXML:
		return ps.malformed("only the prefix xml may be bound to %s", NSXML)
	case uri == NSXMLNS:
		return ps.malformed("no prefix may be bound to %s", NSXMLNS)
	case prefix != "" && uri == "":
		return ps.malformed("xmlns:%s=\"\": a prefix cannot be undeclared in XML 1.0", prefix)
	}
	return nil
}

// checkDuplicates rejects an element that has the same attribute twice:
// by its written name (XML 1.0 §3.1) or by its expanded name (Namespaces
// in XML §6.3: p:x and q:x with p and q bound to one URI). encoding/xml
// does not check either.
func (ps *parser) checkDuplicates(n *Node) error {
	key := func(a *Attr) [2]string {
		if a.Space == NSXMLNS {
			return [2]string{NSXMLNS, declPrefix(*a)}
		}
		return [2]string{a.Space, a.Local}
	}
	dup := func(a, b *Attr) error {
		if a.Prefix == b.Prefix {
			return ps.malformed("<%s> has the attribute %s twice", qname(n.Prefix, n.Local), qname(a.Prefix, a.Local))
		}
		return ps.malformed("<%s> has the attribute {%s}%s twice (as %s and %s)", qname(n.Prefix, n.Local), a.Space, a.Local,
			qname(a.Prefix, a.Local), qname(b.Prefix, b.Local))
	}
	if len(n.Attrs) <= 16 {
		for i := 1; i < len(n.Attrs); i++ {
			ki := key(&n.Attrs[i])
			for j := 0; j < i; j++ {
				if key(&n.Attrs[j]) == ki {
					return dup(&n.Attrs[j], &n.Attrs[i])
				}
			}
		}
		return nil
	}
	if ps.seen == nil {
		ps.seen = make(map[[2]string]struct{}, len(n.Attrs))
	}
	clear(ps.seen)
	for i := range n.Attrs {
		k := key(&n.Attrs[i])
		if _, ok := ps.seen[k]; ok {
			for j := range i {
				if key(&n.Attrs[j]) == k {
					return dup(&n.Attrs[j], &n.Attrs[i])
				}
			}
		}
		ps.seen[k] = struct{}{}
	}
	return nil
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}
