package xmltree

import (
	"os"
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
