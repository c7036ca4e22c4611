package testtool

import (
	"bytes"
	"image"
	"image/color"
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
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
