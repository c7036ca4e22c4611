package xmldom

import (
	"bytes"
	"errors"
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

func TestRoundTrip(t *testing.T) {
	doc, err := Parse([]byte(sample), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(doc.Bytes()); got != sampleOut {
		t.Errorf("round trip:\n%s\nwant:\n%s", got, sampleOut)
	}
	list := doc.Root.Child("urn:ietf:params:xml:ns:resource-lists", "list")
	if list == nil {
		t.Fatal("list not found by namespace URI")
	}
	extra := list.Elements()[1]
	if extra.Space != "urn:example:other" || extra.Prefix != "x" {
		t.Errorf("redeclared prefix resolved to %q", extra.Space)
	}
	if v, _ := extra.Attr("attr"); v != "line1\nline2" {
		t.Errorf("attr = %q", v)
	}
	again, err := Parse(doc.Bytes(), DefaultLimits)
	if err != nil || !bytes.Equal(again.Bytes(), doc.Bytes()) {
		t.Errorf("second round trip differs: %v", err)
	}
}

func TestEditKeepsLayoutAndPrefixes(t *testing.T) {
	doc, err := Parse([]byte(sample), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "urn:ietf:params:xml:ns:resource-lists"
	list := doc.Root.Child(ns, "list")
	e := NewElement(list, ns, "entry", "")
	e.SetAttr("uri", "sip:carol@example.test")
	list.InsertBefore(e, list.Elements()[1])
	other := list.AddElement("urn:example:new", "thing", "x")
	other.SetText("t")
	if !list.Remove(list.Elements()[0]) {
		t.Fatal("Remove failed")
	}
	fresh := doc.Root.AddElement(ns, "list", "")
	fresh.SetAttr("name", "buddies")
	fresh.AddElement(ns, "entry", "").SetAttr("uri", "sip:dave@example.test")
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

func TestParseErrors(t *testing.T) {
	for name, tt := range map[string]struct {
		doc  string
		want error
	}{
		"empty":          {"", ErrMalformed},
		"mismatch":       {"<a><b></a></b>", ErrMalformed},
		"prefix swap":    {`<p:a xmlns:p="u" xmlns:q="u"></q:a>`, ErrMalformed},
		"undeclared":     {"<p:a/>", ErrMalformed},
		"undeclared att": {`<a p:x="1"/>`, ErrMalformed},
		"dup attr":       {`<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, ErrMalformed},
		"two roots":      {"<a/><b/>", ErrMalformed},
		"text outside":   {"<a/>junk", ErrMalformed},
		"entity":         {"<a>&nope;</a>", ErrMalformed},
		"unclosed":       {"<a><b>", ErrMalformed},
		"bad xmlns":      {`<a xmlns:p=""/>`, ErrMalformed},
		"latin1":         {`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, ErrMalformed},
		"deep":           {strings.Repeat("<a>", 10) + strings.Repeat("</a>", 10), ErrLimit},
		"many":           {"<a>" + strings.Repeat("<b/>", 20) + "</a>", ErrLimit},
	} {
		if _, err := Parse([]byte(tt.doc), Limits{MaxDepth: 5, MaxNodes: 15}); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", name, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`<a xmlns="u"><b xmlns="">t</b><!--c--></a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, DefaultLimits)
		if err != nil {
			return
		}
		out := doc.Bytes()
		again, err := Parse(out, DefaultLimits)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if out2 := again.Bytes(); !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n---\n%s", out, out2)
		}
	})
}

func TestParseByteOrderMark(t *testing.T) {
	doc, err := Parse([]byte("\xef\xbb\xbf<a/>"), DefaultLimits)
	if err != nil || string(doc.Bytes()) != "<a/>\n" {
		t.Fatalf("BOM: %v", err)
	}
}
