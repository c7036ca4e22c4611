package art

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
)

// terminalPixels plays HalfBlock output back the way a terminal shows it:
// the pen colour of the upper and lower half of every cell (defaultPen where
// the terminal's background shows).
func terminalPixels(t *testing.T, s string, cols, rows int) [][]pen {
	img, err := arttest.Screen(s, cols, rows)
	if err != nil {
		t.Fatalf("%v in %q", err, s)
	}
	px := make([][]pen, rows*2)
	for y := range px {
		px[y] = make([]pen, cols)
		for x := range px[y] {
			if c := img.RGBAAt(x, y); c.A != 0 {
				px[y][x] = pen(1<<24 | uint32(c.R)<<16 | uint32(c.G)<<8 | uint32(c.B))
			}
		}
	}
	return px
}

// Whatever glyph and SGR shortcuts the encoder takes, a terminal must show
// exactly the fitted pixels. A small palette makes runs, repeats, swapped
// pairs and transparent holes all common.
func TestHalfBlockRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	palette := []color.NRGBA{{}, {255, 0, 0, 255}, {0, 0, 255, 255}, {10, 200, 10, 255}, {9, 9, 9, 60}}
	for n := 0; n < 200; n++ {
		cols, rows := 1+r.IntN(12), 1+r.IntN(6)
		img := image.NewNRGBA(image.Rect(0, 0, cols, rows*2))
		for i := 0; i < len(img.Pix); i += 4 {
			c := palette[r.IntN(len(palette))]
			copy(img.Pix[i:], []uint8{c.R, c.G, c.B, c.A})
		}
		s := Render(img, cols, rows, HalfBlock)
		got := terminalPixels(t, s, cols, rows)
		grid := fitGrid(img, cols, rows*2)
		for y := 0; y < rows*2; y++ {
			for x := 0; x < cols; x++ {
				if want := pixelPen(grid.Pix[grid.PixOffset(x, y):]); got[y][x] != want {
					t.Fatalf("case %d pixel (%d,%d): terminal shows %x, want %x\n%q", n, x, y, got[y][x], want, s)
				}
			}
		}
	}
}
