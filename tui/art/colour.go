package art

import (
	"math"
	"sync"

	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// Symbol art measures colour error as squared distance between sRGB values
// (gamma-encoded, scaled to 0..1). The sRGB curve is close to perceived
// lightness (CIE L* within a few per cent), which makes it the perceptual-ish
// space chafa works in too; Oklab was tried and lost on the fidelity
// benchmark (SSIM 0.5564 against 0.5663 at 8x4, 0.4177 against 0.4670 with
// the 256-colour palette): its weight on hue spends the palette's few
// colours on chroma where lightness carries the picture's structure.

// rgbf is a colour in sRGB, each component 0..1 (or a sum of such).
type rgbf struct{ R, G, B float32 }

func (c rgbf) add(d rgbf) rgbf        { return rgbf{c.R + d.R, c.G + d.G, c.B + d.B} }
func (c rgbf) sub(d rgbf) rgbf        { return rgbf{c.R - d.R, c.G - d.G, c.B - d.B} }
func (c rgbf) scale(k float32) rgbf   { return rgbf{c.R * k, c.G * k, c.B * k} }
func (c rgbf) norm2() float32         { return c.R*c.R + c.G*c.G + c.B*c.B }
func toRGBF(r, g, b uint8) rgbf       { return rgbf{float32(r) / 255, float32(g) / 255, float32(b) / 255} }
func unit8(v float32) uint8           { return uint8(min(max(v, 0), 1)*255 + 0.5) }
func (c rgbf) bytes() (r, g, b uint8) { return unit8(c.R), unit8(c.G), unit8(c.B) }

// firstPaletteColour is the first xterm 256-colour entry whose colour is
// fixed: 0-15 are the terminal's themable colours, so they are never chosen.
const firstPaletteColour = 16

// palette256 is xterm's colours 16-255: the 6x6x6 cube and the 24 greys.
var palette256 = sync.OnceValue(func() *[256]rgbf {
	t := new([256]rgbf)
	for i := firstPaletteColour; i < 256; i++ {
		t[i] = toRGBF(glyph.XtermColor(uint8(i)))
	}
	return t
})

// nearest256 returns the palette entry closest to c and the squared
// distance to it.
func nearest256(c rgbf) (int, float32) {
	p := palette256()
	best, bestD := firstPaletteColour, float32(math.MaxFloat32)
	for i := firstPaletteColour; i < 256; i++ {
		if d := p[i].sub(c).norm2(); d < bestD {
			best, bestD = i, d
		}
	}
	return best, bestD
}
