package art

import (
	"image"
	"image/color"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// terminalPixels plays HalfBlock output back the way a terminal shows it:
// the pen colour of the upper and lower half of every cell (defaultPen where
// the terminal's background shows).
func terminalPixels(t *testing.T, s string, cols, rows int) [][]pen {
	px := make([][]pen, rows*2)
	for y, line := range strings.Split(s, "\n") {
		px[2*y], px[2*y+1] = make([]pen, 0, cols), make([]pen, 0, cols)
		fg, bg := defaultPen, defaultPen
		for len(line) > 0 {
			if strings.HasPrefix(line, "\x1b[") {
				end := strings.IndexByte(line, 'm')
				ps := strings.Split(line[2:end], ";")
				line = line[end+1:]
				for i := 0; i < len(ps); i++ {
					switch ps[i] {
					case "":
						fg, bg = defaultPen, defaultPen
					case "39":
						fg = defaultPen
					case "49":
						bg = defaultPen
					case "38", "48":
						v := pen(1 << 24)
						for k := 2; k <= 4; k++ {
							n, _ := strconv.Atoi(ps[i+k])
							v |= pen(n) << (8 * (4 - k))
						}
						if ps[i] == "38" {
							fg = v
						} else {
							bg = v
						}
						i += 4
					default:
						t.Fatalf("unexpected SGR parameter %q in %q", ps[i], s)
					}
				}
				continue
			}
			r := []rune(line)[0]
			line = line[len(string(r)):]
			top, bot := bg, bg
			switch r {
			case '▀':
				top = fg
			case '▄':
				bot = fg
			case '█':
				top, bot = fg, fg
			case ' ':
			default:
				t.Fatalf("unexpected glyph %q", r)
			}
			px[2*y] = append(px[2*y], top)
			px[2*y+1] = append(px[2*y+1], bot)
		}
		if fg != defaultPen || bg != defaultPen {
			t.Fatalf("line %d leaves colours set: %q", y, s)
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
