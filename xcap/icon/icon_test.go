package icon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// gradient is a deterministic test picture with distinct left/right halves
// so crops can be checked.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(255 * x / max(w-1, 1)), G: uint8(255 * y / max(h-1, 1)), B: 128, A: 255})
		}
	}
	return img
}

// animatedGIF has a red first frame and a blue second frame.
func animatedGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	red := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	blue := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range blue.Pix {
		blue.Pix[i] = 1
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{red, blue}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeaderOnly is a PNG signature and IHDR chunk claiming w x h pixels, with
// no image data at all: a decompression-bomb header.
func pngHeaderOnly(w, h uint32) []byte { return pngHeader(w, h, 8, pngRGBA, 0) }

// pngHeader is a PNG signature and an IHDR chunk with the given bit depth,
// colour type and interlace method, and nothing else.
func pngHeader(w, h uint32, depth, colour, interlace byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9], ihdr[12] = depth, colour, interlace
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// webpSolid writes a lossless (VP8L) WebP of one colour: no transforms, no
// colour cache, and five single-symbol Huffman codes, so every pixel costs
// zero bits. Go has no WebP encoder; this is the smallest valid stream.
func webpSolid(w, h int, c color.NRGBA) []byte {
	var bits []bool
	put := func(v uint32, n int) {
		for i := 0; i < n; i++ {
			bits = append(bits, v>>i&1 == 1)
		}
	}
	put(0x2f, 8)
	put(uint32(w-1), 14)
	put(uint32(h-1), 14)
	put(1, 1) // alpha hint
	put(0, 3) // version
	put(0, 1) // no transform
	put(0, 1) // no colour cache
	put(0, 1) // no meta Huffman codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		put(1, 1) // simple code
		put(0, 1) // one symbol
		put(1, 1) // 8-bit symbol
		put(uint32(sym), 8)
	}
	data := make([]byte, (len(bits)+7)/8)
	for i, bit := range bits {
		if bit {
			data[i/8] |= 1 << (i % 8)
		}
	}
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(data)))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestSniffAndMIME(t *testing.T) {
	img := gradient(4, 3)
	cases := []struct {
		data []byte
		want Format
	}{
		{testtool.EncodePNG(t, img), PNG},
		{testtool.EncodeJPEG(t, img), JPEG},
		{animatedGIF(t, 4, 3), GIF},
		{webpSolid(4, 3, color.NRGBA{1, 2, 3, 255}), WebP},
	}
	for _, c := range cases {
		got, ok := Sniff(c.data)
		if !ok || got != c.want {
			t.Errorf("Sniff = %q, %v; want %q", got, ok, c.want)
		}
		if f, ok := FormatFromMIME(strings.ToUpper(c.want.MIMEType()) + "; q=1"); !ok || f != c.want {
			t.Errorf("FormatFromMIME(%q) = %q, %v", c.want.MIMEType(), f, ok)
		}
	}
	if _, ok := Sniff([]byte("hello")); ok {
		t.Error("Sniff accepted text")
	}
	if f, ok := FormatFromMIME("image/jpg"); !ok || f != JPEG {
		t.Error("image/jpg is not jpeg")
	}
	if _, ok := FormatFromMIME("image/bmp"); ok {
		t.Error("image/bmp accepted")
	}
	if JPEG.Ext() != "jpg" || PNG.Ext() != "png" || WebP.EncodedFormat() != PNG {
		t.Error("Ext/EncodedFormat")
	}
}

func TestCheckReadsHeaders(t *testing.T) {
	img := gradient(40, 30)
	for _, data := range [][]byte{testtool.EncodePNG(t, img), testtool.EncodeJPEG(t, img), animatedGIF(t, 40, 30), webpSolid(40, 30, color.NRGBA{9, 9, 9, 255})} {
		c, err := Check(data, DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if c.Width != 40 || c.Height != 30 {
			t.Errorf("%s: %dx%d", c.Format, c.Width, c.Height)
		}
	}
}

func TestCheckRejectsBombWithoutDecoding(t *testing.T) {
	bomb := pngHeaderOnly(30000, 30000)
	_, err := Check(bomb, UploadLimits)
	var le *xmltree.LimitError
	if !errors.As(err, &le) || le.What != WhatSide || le.Actual != 30000 || le.Limit != 16384 {
		t.Fatalf("Check(30000x30000 header) = %v", err)
	}
	if want := "image is 30000x30000 pixels, the limit is 16384 pixels a side"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// Decode must fail the same way without allocating the 3.6 GB canvas.
	allocs := testing.AllocsPerRun(5, func() {
		if _, _, err := Decode(bomb, UploadLimits); !errors.As(err, &le) {
			t.Fatalf("Decode = %v", err)
		}
	})
	if allocs > 50 {
		t.Errorf("Decode of a bomb header made %.0f allocations", allocs)
	}

	// Within the side limit but over the pixel count.
	_, err = Check(pngHeaderOnly(9000, 9000), UploadLimits)
	if !errors.As(err, &le) || le.What != WhatPixels || le.Actual != 81_000_000 {
		t.Fatalf("Check(9000x9000) = %v", err)
	}
	if !strings.Contains(err.Error(), "9000x9000") {
		t.Errorf("message %q lacks the dimensions", err)
	}
	// WebP headers too: VP8L can claim up to 16384x16384.
	if _, err := Check(webpSolid(16384, 16384, color.NRGBA{}), DefaultLimits); !errors.As(err, &le) {
		t.Errorf("webp bomb: %v", err)
	}
}

func TestCheckByteLimit(t *testing.T) {
	data := testtool.EncodePNG(t, gradient(64, 64))
	_, err := Check(data, Limits{MaxBytes: 100})
	var le *xmltree.LimitError
	if !errors.As(err, &le) || le.What != WhatBytes || le.Actual != int64(len(data)) || le.Limit != 100 {
		t.Fatalf("Check = %v", err)
	}
	if _, err := Check(make([]byte, UploadMaxBytes+1), UploadLimits); !errors.As(err, &le) || err.Error() != "image size is 20.0 MiB (20971521 bytes), the limit is 20 MiB" {
		t.Errorf("20 MiB: %v", err)
	}
}

func TestCheckNotImage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("just some text\n"), []byte("\x89PNG\r\n\x1a\n garbage"), []byte("\xff\xd8\xff")} {
		_, err := Check(data, DefaultLimits)
		if !errors.Is(err, ErrNotImage) {
			t.Errorf("Check(%q) = %v, want ErrNotImage", data, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "not an image") {
			t.Errorf("message %q", err)
		}
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00rest")
	if _, err := Check(tiff, DefaultLimits); !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "tiff") {
		t.Errorf("tiff: %v", err)
	}
	if _, err := Check([]byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), DefaultLimits); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("svg: %v", err)
	}
	// Truncated pixel data: the header passes, Decode reports a damaged image.
	full := testtool.EncodePNG(t, gradient(64, 64))
	if _, _, err := Decode(full[:len(full)-40], DefaultLimits); !errors.Is(err, ErrNotImage) {
		t.Errorf("truncated png: %v", err)
	}
}

func TestDecodeFormats(t *testing.T) {
	img, f, err := Decode(animatedGIF(t, 8, 8), DefaultLimits)
	if err != nil || f != GIF {
		t.Fatal(f, err)
	}
	if r, g, b, _ := img.At(3, 3).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
		t.Errorf("GIF decoded a frame other than the first: %v", img.At(3, 3))
	}
	want := color.NRGBA{R: 10, G: 200, B: 30, A: 255}
	img, f, err = Decode(webpSolid(5, 7, want), DefaultLimits)
	if err != nil || f != WebP {
		t.Fatal(f, err)
	}
	if img.Bounds().Dx() != 5 || img.Bounds().Dy() != 7 || color.NRGBAModel.Convert(img.At(4, 6)) != want {
		t.Errorf("webp: %v %v", img.Bounds(), img.At(4, 6))
	}
}

func TestFitCropsCentreSquare(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 300, 100))
	// Red left third, green centre, blue right third.
	for y := 0; y < 100; y++ {
		for x := 0; x < 300; x++ {
			c := color.RGBA{0, 255, 0, 255}
			if x < 100 {
				c = color.RGBA{255, 0, 0, 255}
			} else if x >= 200 {
				c = color.RGBA{0, 0, 255, 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	out := Fit(src, Side)
	if out.Bounds() != image.Rect(0, 0, Side, Side) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	for _, p := range []image.Point{{0, 0}, {128, 128}, {255, 255}} {
		if c := out.RGBAAt(p.X, p.Y); c.G < 250 || c.R > 5 || c.B > 5 {
			t.Errorf("pixel %v = %v, want the green centre", p, c)
		}
	}
	// A portrait picture offset from the origin keeps its middle too.
	tall := gradient(50, 200).SubImage(image.Rect(0, 50, 50, 200))
	if out := Fit(tall, 32); out.Bounds().Dx() != 32 || out.Bounds().Dy() != 32 {
		t.Errorf("bounds %v", out.Bounds())
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	fitted := Fit(gradient(1024, 768), Side)
	for _, f := range []Format{PNG, JPEG, GIF, WebP} {
		data, err := Encode(fitted, f)
		if err != nil {
			t.Fatal(f, err)
		}
		c, err := Check(data, DefaultLimits)
		if err != nil {
			t.Fatal(f, err)
		}
		if c.Format != f.EncodedFormat() || c.Width != Side || c.Height != Side {
			t.Errorf("%s encoded as %+v", f, c)
		}
	}
	if _, err := Encode(fitted, "bmp"); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("bmp: %v", err)
	}
}

// BenchmarkPrepareUpload is the local work of one icon upload: header check,
// decode of a 1024x768 JPEG, centre-crop to 256x256 with Catmull-Rom,
// re-encode.
func BenchmarkPrepareUpload(b *testing.B) {
	data := testtool.EncodeJPEG(b, gradient(1024, 768))
	b.ReportAllocs()
	for b.Loop() {
		img, f, err := Decode(data, UploadLimits)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Encode(Fit(img, Side), f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckBomb is the cost of rejecting a 30000x30000 PNG header.
func BenchmarkCheckBomb(b *testing.B) {
	data := pngHeaderOnly(30000, 30000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(data, UploadLimits); err == nil {
			b.Fatal("accepted")
		}
	}
}
