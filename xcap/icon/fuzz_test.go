package icon

import (
	"bytes"
	"errors"
	"image/color"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

func FuzzParseContent(f *testing.F) {
	f.Add([]byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>base64</encoding><data>iVBORw0KGgo=</data></content>`))
	f.Add([]byte("<content xmlns=\"urn:oma:xml:prs:pres-content\"><data>\n QUJD\r\nREVG\n</data></content>"))
	f.Add([]byte(`<content xmlns="urn:oma:xml:prs:pres-content"><encoding>7bit</encoding><data>x</data></content>`))
	f.Add((&Content{MIMEType: "image/gif", Description: "a", Data: []byte("GIF89a")}).Marshal())
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseContent(doc)
		if err != nil {
			var le *xmltree.LimitError
			if !errors.Is(err, ErrInvalidContent) && !errors.As(err, &le) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(c.Data) == 0 {
			t.Fatal("accepted empty data")
		}
		// Whatever was accepted survives a write and a re-read.
		again, err := ParseContent(c.Marshal())
		if err != nil {
			t.Fatalf("re-parse of Marshal: %v", err)
		}
		if !bytes.Equal(again.Data, c.Data) || again.MIMEType != c.MIMEType {
			t.Fatalf("round trip changed %+v to %+v", c, again)
		}
	})
}

func fuzzImageSeeds(f *testing.F) {
	img := gradient(6, 4)
	var pngBuf, jpgBuf bytes.Buffer
	pngBuf.Write(testtool.EncodePNG(f, img))
	jpgBuf.Write(testtool.EncodeJPEG(f, img))
	f.Add(pngBuf.Bytes())
	f.Add(jpgBuf.Bytes())
	f.Add(animatedGIF(f, 3, 2))
	f.Add(webpSolid(3, 3, color.NRGBA{1, 2, 3, 4}))
	f.Add(pngHeaderOnly(30000, 30000))
	f.Add([]byte("II*\x00"))
}

// fuzzLimits keeps decoded images small so the fuzzer explores parsers, not
// allocations.
var fuzzLimits = Limits{MaxBytes: 1 << 16, MaxPixels: 1 << 16, MaxSide: 1024}

func FuzzCheck(f *testing.F) {
	fuzzImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Check(data, fuzzLimits)
		if err != nil {
			var le *xmltree.LimitError
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrUnsupportedFormat) && !errors.As(err, &le) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if c.Width <= 0 || c.Height <= 0 || c.Width > fuzzLimits.MaxSide || int64(c.Width)*int64(c.Height) > fuzzLimits.MaxPixels {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzDecode(f *testing.F) {
	fuzzImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(data, fuzzLimits)
		if err != nil {
			return
		}
		c, err := Check(data, fuzzLimits)
		if err != nil || c.Format != format {
			t.Fatalf("Decode accepted what Check says is %+v, %v", c, err)
		}
		if b := img.Bounds(); b.Dx() > c.Width || b.Dy() > c.Height {
			t.Fatalf("decoded %v from a %dx%d header", b, c.Width, c.Height)
		}
		if out := Fit(img, 8); out.Bounds().Dx() != 8 {
			t.Fatal("Fit size")
		}
	})
}
