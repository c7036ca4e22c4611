package xmltree

import (
	"strconv"
	"strings"
)

// NewElement creates an element {space}local to be placed under parent,
// using a prefix already bound to space there (the default namespace
// first, then preferred if it is bound to space, then any), or declaring
// preferred (or a free "nsN") on the new element when none is. The element
// is not attached; use Append or InsertBefore.
func NewElement(parent *Node, space, local, preferred string) *Node {
	scope := parent.Scope()
	n := &Node{Kind: Element, Local: local, Space: space}
	if def := scope[""]; def == space {
		return n
	}
	if space == "" {
		// No namespace cannot have a prefix: undeclare the default.
		n.Attrs = append(n.Attrs, Attr{Local: "xmlns", Space: NSXMLNS})
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
	n.Attrs = append(n.Attrs, Attr{Prefix: "xmlns", Local: p, Space: NSXMLNS, Value: space})
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

// InsertBefore inserts c as a child of n just before its child ref, with
// the indentation of its siblings. When ref is nil or not a child of n, c
// is appended: "before the first X, or last when there is none" is one
// call.
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
