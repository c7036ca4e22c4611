package xmltree

import (
	"os"
	"strings"
	"testing"
)

func benchDoc(b *testing.B) []byte {
	data, err := os.ReadFile("../../sip/pidf/testdata/blink.xml")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkParse(b *testing.B) {
	data := benchDoc(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	doc, err := Parse(benchDoc(b), DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	buf := doc.Bytes()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Encoder{}.AppendDocument(buf[:0], doc)
	}
}

// BenchmarkParseManyCDATA: a 1 MiB element made of 80,000 CDATA sections
// costs linear time (the pieces of one text run are joined once).
func BenchmarkParseManyCDATA(b *testing.B) {
	data := []byte("<a>" + strings.Repeat("<![CDATA[x]]>", 80_000) + "</a>")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
