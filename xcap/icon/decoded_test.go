package icon

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"runtime"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// deep16 is a 16-bit-per-channel test picture (png.Encode writes it as
// 16-bit truecolour).
func deep16(w, h int) *image.RGBA64 {
	img := image.NewRGBA64(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA64(x, y, color.RGBA64{R: uint16(x * 257), G: uint16(y * 31), B: 9, A: 0xffff})
		}
	}
	return img
}

func gray(w, h int, wide bool) image.Image {
	if wide {
		img := image.NewGray16(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = uint8(i)
		}
		return img
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	return img
}

func paletted(w, h int) *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 2)
	}
	return img
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// progressive turns a baseline JPEG's SOF0 into SOF2: the header then
// claims progressive coding (the estimate reads only the header).
func progressive(t *testing.T, data []byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 in the JPEG")
	}
	out[i+1] = 0xc2
	return out
}

func TestCheckDecodedBytesFromHeader(t *testing.T) {
	const w, h = 64, 32
	px := int64(w * h)
	cmyk := image.NewCMYK(image.Rect(0, 0, w, h))
	ycc := testtool.EncodeJPEG(t, gradient(w, h))
	for _, c := range []struct {
		name string
		data []byte
		want int64
	}{
		{"png gray 8-bit", testtool.EncodePNG(t, gray(w, h, false)), px},
		{"png gray 16-bit", testtool.EncodePNG(t, gray(w, h, true)), 2 * px},
		{"png paletted", testtool.EncodePNG(t, paletted(w, h)), px},
		{"png RGBA 8-bit", testtool.EncodePNG(t, gradient(w, h)), 4 * px},
		{"png RGB 16-bit", testtool.EncodePNG(t, deep16(w, h)), 8 * px},
		{"png interlaced header, 16-bit", pngHeader(w, h, 16, pngRGBA, 1), 8 * px * 3 / 2},
		{"jpeg gray", testtool.EncodeJPEG(t, gray(w, h, false)), px},
		{"jpeg YCbCr", ycc, 3 * px},
		{"jpeg CMYK", testtool.EncodeJPEG(t, cmyk), 3 * px}, // Go writes CMYK as YCbCr
		{"jpeg progressive YCbCr", progressive(t, ycc), 15 * px},
		{"gif", encodeGIF(t, paletted(w, h)), px},
		{"webp", webpSolid(w, h, color.NRGBA{1, 2, 3, 255}), 4 * px},
	} {
		cfg, err := Check(c.data, DefaultLimits)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if cfg.DecodedBytes != c.want {
			t.Errorf("%s: DecodedBytes %d, want %d", c.name, cfg.DecodedBytes, c.want)
		}
	}
}

// TestDecodeStaysWithinDecodedBytes decodes real images and checks that
// the estimate is not below what the decoder allocated.
func TestDecodeStaysWithinDecodedBytes(t *testing.T) {
	const w, h = 256, 256
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"png gray 8-bit", testtool.EncodePNG(t, gray(w, h, false))},
		{"png gray 16-bit", testtool.EncodePNG(t, gray(w, h, true))},
		{"png RGBA 8-bit", testtool.EncodePNG(t, gradient(w, h))},
		{"png RGB 16-bit", testtool.EncodePNG(t, deep16(w, h))},
		{"jpeg YCbCr", testtool.EncodeJPEG(t, gradient(w, h))},
		{"jpeg gray", testtool.EncodeJPEG(t, gray(w, h, false))},
		{"gif", encodeGIF(t, paletted(w, h))},
	} {
		cfg, err := Check(c.data, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img, _, err := Decode(c.data, DefaultLimits)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		runtime.KeepAlive(img)
		// The decoders' fixed buffers (inflate window, Huffman tables) come
		// on top of the image; 64 KiB covers them at this size.
		if got := int64(after.TotalAlloc - before.TotalAlloc); got > cfg.DecodedBytes+64<<10 {
			t.Errorf("%s: decoding allocated %d bytes, the header promised %d", c.name, got, cfg.DecodedBytes)
		}
	}
}

func TestCheckRefusesDecodedBytesBeforeDecoding(t *testing.T) {
	// 2048x2048 at 16 bits a channel: within 4 Mpx and 2048 a side, but a
	// 32 MiB decode. (xcap/server's test sends the whole 44 KB file.)
	data := pngHeader(2048, 2048, 16, pngRGBA, 0)
	limits := Limits{MaxBytes: 300 << 10, MaxPixels: 4 << 20, MaxSide: 2048, MaxDecodedBytes: 16 << 20}
	var le *xmltree.LimitError
	var err error
	allocs := testing.AllocsPerRun(3, func() {
		_, _, err = Decode(data, limits)
		if !errors.As(err, &le) || le.What != WhatDecoded {
			t.Fatalf("Decode(%d-byte 2048x2048 16-bit PNG) = %v, want a decoded-size LimitError", len(data), err)
		}
	})
	if allocs > 50 {
		t.Errorf("refusing it made %.0f allocations: it was decoded", allocs)
	}
	if le.Actual != 32<<20 || le.Limit != 16<<20 {
		t.Errorf("LimitError %+v", le)
	}
	want := "image is 2048x2048 pixels: the memory to decode it is 32 MiB, the limit is 16 MiB"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	// The same picture in 8 bits a channel passes.
	if _, err := Check(pngHeader(2048, 2048, 8, pngRGBA, 0), limits); err != nil {
		t.Errorf("8-bit 2048x2048: %v", err)
	}
}

func TestDamagedHeadersAssumeTheWorst(t *testing.T) {
	for _, data := range [][]byte{pngHeader(8, 8, 8, 5, 0), []byte("\x89PNG\r\n\x1a\n")} {
		if n := pngBytesPerPixel(data); n != maxPNGBytesPerPixel {
			t.Errorf("png % x: %d bytes per pixel, want the worst case %d", data, n, maxPNGBytesPerPixel)
		}
	}
	for _, data := range [][]byte{
		{0xff, 0xd8},
		{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01},          // length below 2
		{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 1, 2, 3}, // segment runs off the end
		{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02},          // scan before any frame
		{0xff, 0xd8, 0x00, 0x00, 0x00, 0x00},          // not a marker
	} {
		if n := jpegBytesPerPixel(data); n != maxJPEGBytesPerPixel {
			t.Errorf("% x: %d bytes per pixel, want the worst case %d", data, n, maxJPEGBytesPerPixel)
		}
	}
	if c, prog, ok := jpegFrame(testtool.EncodeJPEG(t, gray(8, 8, false))); !ok || c != 1 || prog {
		t.Errorf("gray baseline: %d components, progressive %v, ok %v", c, prog, ok)
	}
}
