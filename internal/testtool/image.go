package testtool

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
)

// noisySide is the width and height of NoisyPNG's picture: 72x72 opaque
// noise encodes to about 20 KB.
const noisySide = 72

// NoisyPNG returns the same 72x72 PNG of opaque noise (about 20 KB, as
// noise does not compress) on every call: a realistic icon for benchmarks
// whose cost grows with the bytes sent and stored.
func NoisyPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, noisySide, noisySide))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range noisySide {
		for x := range noisySide {
			img.Set(x, y, color.NRGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), 255})
		}
	}
	return EncodePNG(tb, img)
}

// EncodePNG returns img as a PNG file, failing the test if it cannot.
func EncodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatalf("encode PNG: %v", err)
	}
	return b.Bytes()
}

// EncodeJPEG returns img as a JPEG file of the default quality, failing
// the test if it cannot.
func EncodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		tb.Fatalf("encode JPEG: %v", err)
	}
	return b.Bytes()
}
