package art

import (
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

// cubeLevels are the component values of xterm's 6x6x6 colour cube.
var cubeLevels = [6]float32{0, 95.0 / 255, 135.0 / 255, 175.0 / 255, 215.0 / 255, 1}

// nearest256 returns the palette entry closest to c and the squared
// distance to it. The distance is a sum over components and the cube is a
// product of levels, so the nearest cube colour is the nearest level per
// component; the nearest grey is the one nearest the components' mean. The
// closer of the two is the nearest of all 240 colours.
func nearest256(c rgbf) (int, float32) {
	level := func(v float32) int {
		best := 0
		for i := 1; i < len(cubeLevels); i++ {
			if abs32(cubeLevels[i]-v) < abs32(cubeLevels[best]-v) {
				best = i
			}
		}
		return best
	}
	r, g, b := level(c.R), level(c.G), level(c.B)
	cube := 16 + 36*r + 6*g + b
	p := palette256()
	dCube := p[cube].sub(c).norm2()
	// Greys 232-255 are 8 + 10k for k = 0..23.
	mean := (c.R + c.G + c.B) / 3 * 255
	k := int(min(max((mean-8)/10+0.5, 0), 23))
	grey := 232 + k
	if dGrey := p[grey].sub(c).norm2(); dGrey < dCube {
		return grey, dGrey
	}
	return cube, dCube
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
