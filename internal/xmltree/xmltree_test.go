package xmltree

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const sample = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by another client -->
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <rl:list name="a &amp; b" x:flag='yes'>
    <rl:entry uri="sip:bob@example.test"><rl:display-name xml:lang="en">Bob &lt;B&gt;</rl:display-name></rl:entry>
    <x:extra xmlns:x="urn:example:other" attr="line1&#10;line2"><![CDATA[a < b]]><?keep me?></x:extra>
  </rl:list>
</rl:resource-lists>
`

const sampleOut = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by another client -->
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <rl:list name="a &amp; b" x:flag="yes">
    <rl:entry uri="sip:bob@example.test"><rl:display-name xml:lang="en">Bob &lt;B&gt;</rl:display-name></rl:entry>
    <x:extra xmlns:x="urn:example:other" attr="line1&#xa;line2">a &lt; b<?keep me?></x:extra>
  </rl:list>
</rl:resource-lists>
`

const nsRL = "urn:ietf:params:xml:ns:resource-lists"

func TestRoundTrip(t *testing.T) {
	doc, err := Parse([]byte(sample), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(doc.Bytes()); got != sampleOut {
		t.Errorf("round trip:\n%s\nwant:\n%s", got, sampleOut)
	}
	list := doc.Root.Child(nsRL, "list")
	if list == nil {
		t.Fatal("list not found by namespace URI")
	}
	if v, ok := list.AttrNS("urn:example:x", "flag"); !ok || v != "yes" {
		t.Errorf("x:flag resolved to %q, %v", v, ok)
	}
	extra := list.Elements()[1]
	if extra.Space != "urn:example:other" || extra.Prefix != "x" {
		t.Errorf("redeclared prefix resolved to %q", extra.Space)
	}
	if v, _ := extra.Attr("attr"); v != "line1\nline2" {
		t.Errorf("attr = %q", v)
	}
	dn := list.Child(nsRL, "entry").Child(nsRL, "display-name")
	if v, _ := dn.AttrNS(NSXML, "lang"); v != "en" || dn.TextContent() != "Bob <B>" {
		t.Errorf("display-name: lang %q, text %q", v, dn.TextContent())
	}
	again, err := Parse(doc.Bytes(), DefaultLimits)
	if err != nil || !bytes.Equal(again.Bytes(), doc.Bytes()) {
		t.Errorf("second round trip differs: %v", err)
	}
}

func TestOffsetsAndInherited(t *testing.T) {
	data := []byte("\xef\xbb\xbf" + sample)
	doc, err := Parse(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	entry := doc.Root.Child(nsRL, "list").Child(nsRL, "entry")
	want := `<rl:entry uri="sip:bob@example.test"><rl:display-name xml:lang="en">Bob &lt;B&gt;</rl:display-name></rl:entry>`
	if got := string(data[entry.Start:entry.End]); got != want {
		t.Errorf("entry bytes %q", got)
	}
	empty, _ := Parse([]byte(`<a><b x="1"/></a>`), Limits{})
	if b := empty.Root.Children[0]; b.Start != 3 || b.End != 13 {
		t.Errorf("<b/> at %d:%d", b.Start, b.End)
	}
	extra := doc.Root.Child(nsRL, "list").Elements()[1]
	inh := extra.Inherited()
	if len(inh) != 1 || inh["rl"] != nsRL {
		t.Errorf("inherited %v: want only rl (x is redeclared)", inh)
	}
	if sc := extra.Scope(); sc["x"] != "urn:example:other" || sc["rl"] != nsRL || sc["xml"] != NSXML {
		t.Errorf("scope %v", sc)
	}
}

func TestEditKeepsLayoutAndPrefixes(t *testing.T) {
	doc, err := Parse([]byte(sample), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	list := doc.Root.Child(nsRL, "list")
	e := NewElement(list, nsRL, "entry", "")
	e.SetAttr("uri", "sip:carol@example.test")
	list.InsertBefore(e, list.Elements()[1])
	other := list.AddElement("urn:example:new", "thing", "x")
	other.SetText("t")
	if !list.Remove(list.Elements()[0]) {
		t.Fatal("Remove failed")
	}
	fresh := doc.Root.AddElement(nsRL, "list", "")
	fresh.SetAttr("name", "buddies")
	fresh.AddElement(nsRL, "entry", "").SetAttr("uri", "sip:dave@example.test")
	want := `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by another client -->
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <rl:list name="a &amp; b" x:flag="yes">
    <rl:entry uri="sip:carol@example.test"/>
    <x:extra xmlns:x="urn:example:other" attr="line1&#xa;line2">a &lt; b<?keep me?></x:extra>
    <ns0:thing xmlns:ns0="urn:example:new">t</ns0:thing>
  </rl:list>
  <rl:list name="buddies">
    <rl:entry uri="sip:dave@example.test"/>
  </rl:list>
</rl:resource-lists>
`
	if got := string(doc.Bytes()); got != want {
		t.Errorf("edited:\n%s\nwant:\n%s", got, want)
	}
}

// A tree built in code names namespaces only; the encoder picks prefixes:
// the suggested one, else nsN, declared where first needed.
func TestEncoderChoosesPrefixes(t *testing.T) {
	const nsA, nsB = "urn:a", "urn:b"
	root := &Node{Kind: Element, Space: nsA, Local: "root", Attrs: []Attr{{Local: "xmlns", Space: NSXMLNS, Value: nsA}}}
	kid := &Node{Kind: Element, Space: nsB, Local: "kid", Parent: root,
		Attrs: []Attr{{Space: nsB, Local: "x", Value: `"q" & <t>` + "\t\n\r\x01"}, {Local: "plain", Value: "1"}}}
	free := &Node{Kind: Element, Local: "free", Parent: root}
	odd := &Node{Kind: Element, Space: "urn:c", Local: "odd", Parent: root, Attrs: []Attr{{Space: NSXML, Local: "lang", Value: "en"}}}
	root.Children = []*Node{kid, free, odd}
	kid.Children = []*Node{{Kind: Text, Text: "a]]>b\r\xff", Parent: kid}}
	got := string(Encoder{Prefixes: map[string]string{nsB: "b"}}.AppendElement(nil, root))
	want := `<root xmlns="urn:a"><b:kid xmlns:b="urn:b" b:x="&quot;q&quot; &amp; &lt;t&gt;&#x9;&#xa;&#xd;` + "\uFFFD" + `" plain="1">a]]&gt;b&#xd;` + "\uFFFD" +
		`</b:kid><free xmlns=""/><ns0:odd xmlns:ns0="urn:c" xml:lang="en"/></root>`
	if got != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
	doc, err := Parse([]byte(got), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	k := doc.Root.Child(nsB, "kid")
	if v, _ := k.AttrNS(nsB, "x"); k == nil || v != "\"q\" & <t>\t\n\r\uFFFD" {
		t.Errorf("kid attribute %q", v)
	}
	if doc.Root.Child("", "free") == nil {
		t.Error("<free> is not in no namespace")
	}

	// Written where the context already binds the namespaces, no
	// declaration is repeated.
	ctx := Encoder{Context: []Binding{{"", nsA}, {"b", nsB}}}
	if got := string(ctx.AppendElement(nil, kid)); !strings.HasPrefix(got, `<b:kid b:x=`) {
		t.Errorf("in context: %s", got)
	}
}

// An element moved to another namespace keeps a well-formed name.
func TestEncoderFixesStalePrefixes(t *testing.T) {
	doc, err := Parse([]byte(`<p:a xmlns:p="urn:old"><p:b p:x="1"/></p:a>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := doc.Root.Children[0]
	b.Space = "urn:new"
	got := string(Encoder{Context: []Binding{{"", "urn:new"}}}.AppendElement(nil, b))
	// b takes the context's default namespace; p, which the attribute
	// still needs and the context does not bind, is declared on b.
	if got != `<b xmlns:p="urn:old" p:x="1"/>` {
		t.Errorf("moved element written as %s", got)
	}
	re, err := Parse([]byte(`<r xmlns="urn:new">`+got+`</r>`), Limits{})
	if err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if rb := re.Root.Children[0]; !rb.Is("urn:new", "b") {
		t.Errorf("moved element reads as {%s}%s", rb.Space, rb.Local)
	} else if v, _ := rb.AttrNS("urn:old", "x"); v != "1" {
		t.Errorf("attribute lost: %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	small := Limits{MaxDepth: 5, MaxNodes: 15, MaxElements: 12, MaxAttrs: 4, MaxAttrLen: 8, MaxBytes: 400}
	for name, tt := range map[string]struct {
		doc  string
		what string // "" for ErrMalformed
	}{
		"empty":          {"", ""},
		"mismatch":       {"<a><b></a></b>", ""},
		"prefix swap":    {`<p:a xmlns:p="u" xmlns:q="u"></q:a>`, ""},
		"undeclared":     {"<p:a/>", ""},
		"undeclared att": {`<a p:x="1"/>`, ""},
		"dup attr":       {`<a x="1" x="2"/>`, ""},
		"dup expanded":   {`<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, ""},
		"dup decl":       {`<a xmlns:p="u" xmlns:p="v"/>`, ""},
		"two roots":      {"<a/><b/>", ""},
		"text outside":   {"<a/>junk", ""},
		"entity":         {"<a>&nope;</a>", ""},
		"unclosed":       {"<a><b>", ""},
		"bad xmlns":      {`<a xmlns:p=""/>`, ""},
		"xml rebound":    {`<a xmlns:xml="urn:x"/>`, ""},
		"xmlns element":  {`<xmlns:a/>`, ""},
		"latin1":         {`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, ""},
		"comment bytes":  {"<a><!--\xb2--></a>", ""},
		"pi control":     {"<a><?p \x01?></a>", ""},
		"deep":           {strings.Repeat("<a>", 10) + strings.Repeat("</a>", 10), WhatDepth},
		"elements":       {"<a>" + strings.Repeat("<b/>", 12) + "</a>", WhatElements},
		"nodes":          {"<a>" + strings.Repeat("<b/>t", 8) + "</a>", WhatNodes},
		"attrs":          {`<a b="1" c="2" d="3" e="4" f="5"/>`, WhatAttrs},
		"attr length":    {`<a b="123456789"/>`, WhatAttrLen},
		"size":           {"<a>" + strings.Repeat(" ", 400) + "</a>", WhatSize},
	} {
		_, err := Parse([]byte(tt.doc), small)
		var le *LimitError
		switch {
		case tt.what == "" && !errors.Is(err, ErrMalformed):
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		case tt.what != "" && (!errors.As(err, &le) || le.What != tt.what):
			t.Errorf("%s: %v, want the %s limit", name, err, tt.what)
		}
	}
}

func TestParseLatin1(t *testing.T) {
	doc, err := Parser{Latin1: true}.Parse([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>"))
	if err != nil || doc.Root.TextContent() != "café" {
		t.Fatalf("latin-1: %v", err)
	}
}

// issue 11: 150,000 duplicate attributes were accepted as well-formed.
func TestDuplicateAttributes(t *testing.T) {
	_, err := Parse([]byte(`<entry uri="sip:a@x" uri="sip:b@x"/>`), Limits{})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "<entry> has the attribute uri twice") {
		t.Errorf("two uri attributes: %v", err)
	}
	_, err = Parse([]byte(`<r xmlns:a="urn:u" xmlns:b="urn:u"><e a:id="1" b:id="2"/></r>`), Limits{})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "{urn:u}id twice (as a:id and b:id)") {
		t.Errorf("same expanded name: %v", err)
	}
	// Many distinct attributes take the map path; a duplicate at the end
	// is still found.
	var b strings.Builder
	b.WriteString("<e")
	for i := range 40 {
		fmt.Fprintf(&b, ` a%d="v"`, i)
	}
	b.WriteString(` a3="w"/>`)
	if _, err := Parse([]byte(b.String()), Limits{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "a3 twice") {
		t.Errorf("duplicate among 41: %v", err)
	}
	// The probe's document: 150,000 copies of one attribute, under 1 MiB.
	bomb := "<e" + strings.Repeat(` a="1"`, 150_000) + "/>"
	_, err = Parse([]byte(bomb), Limits{MaxBytes: 2 << 20})
	var le *LimitError
	if !errors.As(err, &le) || le.What != WhatAttrs || le.Actual != 150_000 {
		t.Errorf("150,000 attributes: %v", err)
	}
	// With the attribute limit raised, the duplicates themselves are the error.
	_, err = Parse([]byte(bomb), Limits{MaxBytes: 2 << 20, MaxAttrs: 200_000})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "attribute a twice") {
		t.Errorf("150,000 duplicates with no attribute limit: %v", err)
	}
}

func TestLimitErrorMessages(t *testing.T) {
	for _, tt := range []struct {
		err  *LimitError
		want string
	}{
		{TooLarge(WhatSize, 70000, 64<<10), "document size is 68.4 KiB (70000 bytes), the limit is 64 KiB"},
		{&LimitError{What: WhatDepth, Limit: 32}, "nesting depth is over the limit of 32"},
		{&LimitError{What: "image area", Limit: 16_777_216, Actual: 81_000_000, Unit: Pixels}, "image area is 81.0 megapixels, the limit is 16.8 megapixels"},
		{&LimitError{What: "image side", Limit: 4096, Actual: 30000, Unit: Pixels}, "image side is 30000 pixels, the limit is 4096 pixels"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestParseByteOrderMark(t *testing.T) {
	doc, err := Parse([]byte("\xef\xbb\xbf<a/>"), DefaultLimits)
	if err != nil || string(doc.Bytes()) != "<a/>\n" {
		t.Fatalf("BOM: %v", err)
	}
}

func TestValidTextAndNCName(t *testing.T) {
	for s, want := range map[string]bool{"ok é \t\n": true, "a\x00": false, "\xff": false, "\uFFFE": false, "": true} {
		if ValidText(s) != want {
			t.Errorf("ValidText(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"a-1.b_c": true, "é": true, "1a": false, "-a": false, "a:b": false, "": false} {
		if IsNCName(s) != want {
			t.Errorf("IsNCName(%q) != %v", s, want)
		}
	}
}

// Text, references and CDATA sections in a row are one Text node.
func TestTextRunIsOneNode(t *testing.T) {
	doc, err := Parse([]byte(`<a>x<![CDATA[<y>]]>&amp;z&#33;<!--c-->w</a>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	k := doc.Root.Children
	if len(k) != 3 || k[0].Kind != Text || k[0].Text != "x<y>&z!" || k[1].Kind != Comment || k[2].Text != "w" {
		t.Errorf("children %+v", k)
	}
}

func TestAppendDecls(t *testing.T) {
	got := string(AppendDecls([]byte("<e"), map[string]string{"rl": "urn:x", "": "urn:d", "a": `q"&<`}))
	want := `<e xmlns="urn:d" xmlns:a="q&quot;&amp;&lt;" xmlns:rl="urn:x"`
	if got != want {
		t.Errorf("AppendDecls = %s, want %s", got, want)
	}
	if got := string(AppendDecls(nil, nil)); got != "" {
		t.Errorf("AppendDecls of no bindings = %q, want nothing", got)
	}
}

// TestInsertBeforeNilAppends: with no element to go before, InsertBefore
// appends, laid out as Append lays out, so callers need no second branch.
func TestInsertBeforeNilAppends(t *testing.T) {
	for _, ref := range []func(list *Node) *Node{
		func(*Node) *Node { return nil },
		func(list *Node) *Node { return &Node{Kind: Element, Local: "stranger"} },
	} {
		a, err := Parse([]byte(sample), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Parse([]byte(sample), DefaultLimits)
		la, lb := a.Root.Child(nsRL, "list"), b.Root.Child(nsRL, "list")
		la.InsertBefore(NewElement(la, nsRL, "entry", ""), ref(la))
		lb.Append(NewElement(lb, nsRL, "entry", ""))
		if got, want := string(a.Bytes()), string(b.Bytes()); got != want {
			t.Errorf("InsertBefore without a sibling wrote\n%s\nAppend writes\n%s", got, want)
		}
	}
}

func TestAppendAttr(t *testing.T) {
	b := AppendAttr([]byte("<e"), "uri", `sip:a@x;p="1"&<`)
	b = AppendAttrIfSet(b, "reason", "")
	b = AppendAttrIfSet(b, "cid", "c\t1")
	want := `<e uri="sip:a@x;p=&quot;1&quot;&amp;&lt;" cid="c&#x9;1"`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestKeepFirstText(t *testing.T) {
	doc, err := Parse([]byte(`<r><n/><n>first</n><n>second</n></r>`), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, n := range doc.Root.Elements() {
		KeepFirstText(&got, n)
	}
	if got != "first" {
		t.Errorf("got %q, want the first element with text", got)
	}
}
