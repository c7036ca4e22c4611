package icon

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

func TestContentRoundTrip(t *testing.T) {
	data := testtool.EncodePNG(t, gradient(64, 64))
	c := &Content{MIMEType: "image/png", Description: "me & <my> cat", Data: data}
	doc := c.Marshal()
	if !bytes.Contains(doc, []byte(`<content xmlns="urn:oma:xml:prs:pres-content">`)) ||
		!bytes.Contains(doc, []byte("<encoding>base64</encoding>")) ||
		!bytes.Contains(doc, []byte("<mime-type>image/png</mime-type>")) {
		t.Fatalf("document:\n%s", doc)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if len(line) > 76 && !strings.Contains(line, "<") {
			t.Fatalf("base64 line of %d columns", len(line))
		}
	}
	got, err := ParseContent(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got.MIMEType != "image/png" || got.Encoding != "base64" || got.Description != c.Description || !bytes.Equal(got.Data, data) {
		t.Errorf("round trip: %+v", got)
	}
	start := bytes.Index(doc, []byte("<data>")) + len("<data>")
	end := bytes.Index(doc, []byte("</data>"))
	if n := end - start; n != c.DataChars() {
		t.Errorf("DataChars = %d, document has %d", c.DataChars(), n)
	}
}

func TestParseContentLegacyAndPython(t *testing.T) {
	data := testtool.EncodeJPEG(t, gradient(16, 16))
	enc := base64.StdEncoding.EncodeToString(data)
	// Python's encodestring: 76 columns, "\n" line ends, plus CRLF and tabs
	// from other writers; no mime-type and no encoding (the 2010 xcap-icon).
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 60 {
		wrapped.WriteString("\r\n\t " + enc[i:min(i+60, len(enc))])
	}
	doc := `<?xml version="1.0"?><content xmlns="urn:oma:xml:prs:pres-content"><data>` + wrapped.String() + "\n</data></content>"
	c, err := ParseContent([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.MIMEType != "" || c.Encoding != "" || !bytes.Equal(c.Data, data) {
		t.Errorf("got %+v", c)
	}
	// Unpadded base64.
	raw := base64.RawStdEncoding.EncodeToString([]byte("ab"))
	c, err = ParseContent([]byte(`<content xmlns="urn:oma:xml:prs:pres-content"><data>` + raw + `</data></content>`))
	if err != nil || string(c.Data) != "ab" {
		t.Errorf("unpadded: %v %+v", err, c)
	}
}

func TestParseContentErrors(t *testing.T) {
	cases := map[string]string{
		"not xml":         "\x89PNG\r\n\x1a\n",
		"wrong root":      `<data xmlns="urn:oma:xml:prs:pres-content">AAAA</data>`,
		"wrong namespace": `<content xmlns="urn:example"><data>AAAA</data></content>`,
		"no data":         `<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type></content>`,
		"empty data":      `<content xmlns="urn:oma:xml:prs:pres-content"><data> </data></content>`,
		"bad base64":      `<content xmlns="urn:oma:xml:prs:pres-content"><data>!!!!</data></content>`,
		"bad encoding":    `<content xmlns="urn:oma:xml:prs:pres-content"><encoding>quoted-printable</encoding><data>AAAA</data></content>`,
	}
	for name, doc := range cases {
		if _, err := ParseContent([]byte(doc)); !errors.Is(err, ErrInvalidContent) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseContent([]byte(cases["no data"])); !errors.Is(err, ErrNoIconData) || err.Error() != "invalid pres-content document: no <data> element" {
		t.Errorf("no data: %v", err)
	}
	if _, err := ParseContent([]byte(cases["empty data"])); !errors.Is(err, ErrNoIconData) {
		t.Errorf("empty data: %v", err)
	}
	if _, err := ParseContent([]byte(cases["bad encoding"])); !errors.Is(err, ErrUnsupportedEncoding) {
		t.Errorf("bad encoding: %v", err)
	}
	var le *xmltree.LimitError
	big := `<content xmlns="urn:oma:xml:prs:pres-content"><data>` + strings.Repeat("A", MaxIconDataChars+4) + `</data></content>`
	if _, err := ParseContent([]byte(big)); !errors.As(err, &le) || le.What != WhatDataChars {
		t.Errorf("data limit: %v", err)
	}
	if _, err := ParseContent(make([]byte, MaxDocumentSize+1)); !errors.As(err, &le) || le.What != WhatDocument {
		t.Errorf("document limit: %v", err)
	}
}

func TestStoredIconFitsOpenXCAPLimit(t *testing.T) {
	// The worst case for a 256x256 icon: opaque noise stored as PNG.
	img := image.NewRGBA(image.Rect(0, 0, Side, Side))
	x := uint32(1)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	data, err := Encode(img, PNG)
	if err != nil {
		t.Fatal(err)
	}
	c := &Content{MIMEType: "image/png", Data: data}
	if c.DataChars() > MaxIconDataChars {
		t.Errorf("opaque 256x256 PNG needs %d characters", c.DataChars())
	}
}
