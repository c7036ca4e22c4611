package xmltree

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encoder writes trees. The zero Encoder writes a whole document.
type Encoder struct {
	// Prefixes suggests a prefix for a namespace URI, used when the
	// encoder has to declare one for a node built in code ("dm" for the
	// PIDF data model). Without a suggestion it declares "ns0", "ns1"...
	Prefixes map[string]string
	// Context is the namespace bindings in force where AppendElement's
	// output goes ("" the default namespace), when that is inside another
	// element; a later binding of a prefix wins.
	Context []Binding
}

// Binding binds a namespace prefix ("" for the default namespace) to a URI.
type Binding struct{ Prefix, URI string }

// Bytes writes the document: prolog nodes, root and epilog nodes, each
// followed by a newline.
func (d *Document) Bytes() []byte {
	return Encoder{}.AppendDocument(nil, d)
}

// AppendDocument appends the document to b.
func (e Encoder) AppendDocument(b []byte, d *Document) []byte {
	w := e.writer(b)
	for _, n := range d.Prolog {
		w.node(n)
		w.b = append(w.b, '\n')
	}
	if d.Root != nil {
		w.node(d.Root)
		w.b = append(w.b, '\n')
	}
	for _, n := range d.Epilog {
		w.node(n)
		w.b = append(w.b, '\n')
	}
	return w.b
}

// AppendElement appends node n (usually an element) to b, as it is to be
// read where e.Context is in force.
func (e Encoder) AppendElement(b []byte, n *Node) []byte {
	w := e.writer(b)
	w.node(n)
	return w.b
}

func (e Encoder) writer(b []byte) *writer {
	w := &writer{b: b, prefixes: e.Prefixes}
	w.binds = append(w.bindBuf[:0], e.Context...)
	w.attrPre, w.added = w.attrBuf[:0], w.addedBuf[:0]
	return w
}

type writer struct {
	b        []byte
	prefixes map[string]string
	binds    []Binding
	attrPre  []string // scratch: the prefix chosen for each attribute
	added    []Binding
	// Room for the usual document, so writing allocates nothing else.
	bindBuf  [16]Binding
	attrBuf  [8]string
	addedBuf [4]Binding
}

func (w *writer) lookup(prefix string) (string, bool) { return lookup(w.binds, prefix) }

// boundTo returns a visible non-empty prefix bound to uri, preferring the
// suggested one.
func (w *writer) boundTo(uri string) (string, bool) {
	if p := w.prefixes[uri]; p != "" {
		if u, ok := w.lookup(p); ok && u == uri {
			return p, true
		}
	}
	for i := len(w.binds) - 1; i >= 0; i-- {
		if b := w.binds[i]; b.URI == uri && b.Prefix != "" {
			if u, _ := w.lookup(b.Prefix); u == uri {
				return b.Prefix, true
			}
		}
	}
	return "", false
}

// declare binds a prefix that is free everywhere in scope to uri on the
// element being written: the written one, the suggested one, or nsN.
// A free prefix shadows nothing, so no name chosen before changes meaning.
func (w *writer) declare(uri, written string) string {
	free := func(p string) bool {
		if p == "" || p == "xml" || p == "xmlns" || strings.HasPrefix(strings.ToLower(p), "xml") {
			return false
		}
		_, bound := w.lookup(p)
		return !bound
	}
	p := written
	if !free(p) {
		p = w.prefixes[uri]
	}
	for i := 0; !free(p); i++ {
		p = "ns" + strconv.Itoa(i)
	}
	w.binds = append(w.binds, Binding{p, uri})
	w.added = append(w.added, Binding{p, uri})
	return p
}

func (w *writer) node(n *Node) {
	switch n.Kind {
	case Text:
		w.b = appendEscaped(w.b, n.Text, false)
	case Comment:
		w.b = append(w.b, "<!--"...)
		w.b = appendComment(w.b, n.Text)
		w.b = append(w.b, "-->"...)
	case ProcInst:
		w.b = append(w.b, "<?"...)
		w.b = append(w.b, n.Local...)
		if n.Text != "" {
			w.b = append(w.b, ' ')
			w.b = append(w.b, strings.ReplaceAll(n.Text, "?>", "? >")...)
		}
		w.b = append(w.b, "?>"...)
	case Directive:
		w.b = append(w.b, "<!"...)
		w.b = append(w.b, n.Text...)
		w.b = append(w.b, '>')
	case Element:
		w.element(n)
	}
}

func (w *writer) element(n *Node) {
	mark := len(w.binds)
	w.added = w.added[:0]
	skipDefault := false // the element's own default declaration is overridden
	for _, a := range n.Attrs {
		if a.IsNamespaceDecl() {
			w.binds = append(w.binds, Binding{declPrefix(a), a.Value})
		}
	}
	// The element's name: its own prefix when that means its namespace
	// here, else any prefix that does, else a new declaration.
	prefix := n.Prefix
	if u, ok := w.lookup(prefix); !ok || u != n.Space {
		switch d, _ := w.lookup(""); {
		case n.Space == "" && d == "":
			prefix = ""
		case n.Space == "":
			// No namespace: unprefixed, with the default undeclared.
			prefix = ""
			for i := mark; i < len(w.binds); i++ {
				if w.binds[i].Prefix == "" {
					w.binds[i].URI = ""
					skipDefault = true
				}
			}
			if !skipDefault {
				w.binds = append(w.binds, Binding{"", ""})
				w.added = append(w.added, Binding{"", ""})
			}
		case d == n.Space:
			prefix = ""
		default:
			if p, ok := w.boundTo(n.Space); ok {
				prefix = p
			} else {
				prefix = w.declare(n.Space, n.Prefix)
			}
		}
	}
	w.attrPre = w.attrPre[:0]
	for _, a := range n.Attrs {
		p := ""
		switch {
		case a.IsNamespaceDecl():
			p = a.Prefix
		case a.Space == "":
		case a.Space == NSXML:
			p = "xml"
		default:
			if u, ok := w.lookup(a.Prefix); a.Prefix != "" && ok && u == a.Space {
				p = a.Prefix
			} else if q, ok := w.boundTo(a.Space); ok {
				p = q
			} else {
				p = w.declare(a.Space, a.Prefix)
			}
		}
		w.attrPre = append(w.attrPre, p)
	}

	w.b = append(w.b, '<')
	w.b = appendQName(w.b, prefix, n.Local)
	for _, d := range w.added {
		w.b = appendDecl(w.b, d.Prefix, d.URI)
	}
	for i, a := range n.Attrs {
		if skipDefault && a.Prefix == "" && a.Local == "xmlns" {
			w.b = appendDecl(w.b, "", "")
			continue
		}
		w.b = append(w.b, ' ')
		w.b = appendQName(w.b, w.attrPre[i], a.Local)
		w.b = append(w.b, `="`...)
		w.b = appendEscaped(w.b, a.Value, true)
		w.b = append(w.b, '"')
	}
	if len(n.Children) == 0 {
		w.b = append(w.b, "/>"...)
	} else {
		w.b = append(w.b, '>')
		for _, c := range n.Children {
			w.node(c)
		}
		w.b = append(w.b, "</"...)
		w.b = appendQName(w.b, prefix, n.Local)
		w.b = append(w.b, '>')
	}
	w.binds = w.binds[:mark]
}

func appendQName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

func appendDecl(b []byte, prefix, uri string) []byte {
	b = append(b, " xmlns"...)
	if prefix != "" {
		b = append(b, ':')
		b = append(b, prefix...)
	}
	b = append(b, `="`...)
	b = appendEscaped(b, uri, true)
	return append(b, '"')
}

// AppendDecls appends a namespace declaration (` xmlns:p="uri"`, or
// ` xmlns="uri"` for the prefix "") for each of bindings (prefix → URI),
// in prefix order so the output is the same on every call: for code that
// writes a start tag by hand and must carry the bindings in scope.
func AppendDecls(b []byte, bindings map[string]string) []byte {
	for _, p := range slices.Sorted(maps.Keys(bindings)) {
		b = appendDecl(b, p, bindings[p])
	}
	return b
}

// AppendAttr appends the attribute ` name="value"` (value escaped), for
// code that writes start tags by hand.
func AppendAttr(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// AppendAttrIfSet is AppendAttr for an optional attribute: an empty value
// writes nothing.
func AppendAttrIfSet(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return AppendAttr(b, name, value)
}

// AppendAttrValue appends s escaped for an attribute value in double
// quotes (the quotes are not written), for code that writes XML by hand.
func AppendAttrValue(b []byte, s string) []byte { return appendEscaped(b, s, true) }

// AppendText appends s escaped as character data.
func AppendText(b []byte, s string) []byte { return appendEscaped(b, s, false) }

// appendEscaped writes s as character data or an attribute value. In
// attributes, whitespace other than the space is written as a reference
// so that attribute-value normalisation does not change it on the next
// read; characters XML cannot carry (and bytes that are not UTF-8) are
// written as U+FFFD.
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '"' && attr:
				esc = "&quot;"
			case c == '\r':
				esc = "&#xd;"
			case c == '\n' && attr:
				esc = "&#xa;"
			case c == '\t' && attr:
				esc = "&#x9;"
			case c < 0x20 && c != '\n' && c != '\t':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
				esc = "\uFFFD"
			} else {
				i += n
				continue
			}
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += size
		last = i
	}
	return append(b, s[last:]...)
}

// appendComment writes comment text so that it cannot end the comment
// early: "--" is not allowed inside, nor "-" at the end.
func appendComment(b []byte, s string) []byte {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	if strings.HasSuffix(s, "-") {
		s += " "
	}
	return appendEscapedChars(b, s)
}

// appendEscapedChars writes s with only the characters XML cannot carry
// replaced (comments and the like take no references).
func appendEscapedChars(b []byte, s string) []byte {
	if ValidText(s) {
		return append(b, s...)
	}
	for _, r := range s {
		if !isXMLChar(r) {
			r = utf8.RuneError
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}
