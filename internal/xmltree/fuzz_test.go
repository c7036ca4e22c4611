package xmltree

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzXMLTree: Parse never panics and honours its limits; what parses is
// written back into a document that parses to the same tree, and writing
// that again gives the same bytes. The seed corpus in
// testdata/fuzz/FuzzXMLTree holds the seeds of the parsers this package
// replaced (pidf, winfo, resourcelists, xmldom, presrules, the XCAP
// server's node selectors, the pres-content codec).
func FuzzXMLTree(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`<a xmlns="u"><b xmlns="">t</b><!--c--></a>`))
	f.Add([]byte(`<!DOCTYPE a><a xmlns:p="u" p:x="1" x="&#9;"><![CDATA[]]>]]><p:b/></a>`))
	lim := Limits{MaxBytes: 64 << 10, MaxDepth: 16, MaxElements: 500, MaxNodes: 1000, MaxAttrs: 16, MaxAttrLen: 1024}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, lim)
		if err != nil {
			return
		}
		checkLimits(t, doc, lim)
		out := doc.Bytes()
		again, err := Parse(out, Limits{MaxBytes: 4 * len(out)})
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if a, b := dump(doc), dump(again); a != b {
			t.Fatalf("tree changed:\n%s\n---\n%s\noutput:\n%s", a, b, out)
		}
		if out2 := again.Bytes(); string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n---\n%s", out, out2)
		}
	})
}

func checkLimits(t *testing.T, doc *Document, lim Limits) {
	elements, nodes := 0, len(doc.Prolog)+len(doc.Epilog)
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		nodes++
		if n.Kind != Element {
			return
		}
		elements++
		if depth > lim.MaxDepth || len(n.Attrs) > lim.MaxAttrs {
			t.Fatalf("<%s> at depth %d with %d attributes passed the limits", n.Local, depth, len(n.Attrs))
		}
		for _, a := range n.Attrs {
			if len(a.Value) > lim.MaxAttrLen {
				t.Fatalf("attribute of %d bytes passed the limit", len(a.Value))
			}
		}
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(doc.Root, 1)
	if elements > lim.MaxElements || nodes > lim.MaxNodes {
		t.Fatalf("%d elements, %d nodes passed the limits", elements, nodes)
	}
}

// dump renders what a tree means: kinds, names as written and resolved,
// attributes, text.
func dump(d *Document) string {
	var b strings.Builder
	var walk func(n *Node, indent string)
	walk = func(n *Node, indent string) {
		switch n.Kind {
		case Element:
			fmt.Fprintf(&b, "%s<%s:%s {%s}", indent, n.Prefix, n.Local, n.Space)
			for _, a := range n.Attrs {
				fmt.Fprintf(&b, " %s:%s{%s}=%q", a.Prefix, a.Local, a.Space, a.Value)
			}
			b.WriteString("\n")
			for _, c := range n.Children {
				walk(c, indent+"  ")
			}
		default:
			fmt.Fprintf(&b, "%s%d %q %q\n", indent, n.Kind, n.Local, n.Text)
		}
	}
	for _, n := range d.Prolog {
		walk(n, "prolog ")
	}
	walk(d.Root, "")
	for _, n := range d.Epilog {
		walk(n, "epilog ")
	}
	return b.String()
}
