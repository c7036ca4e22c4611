package art

import (
	"image"
	"image/color"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// glyphPicture draws, per cell of 6x12 pixels, a random glyph of set in two
// random colours, and returns the picture with the covers it used.
func glyphPicture(r *rand.Rand, set glyph.Set, cols, rows int) (*image.NRGBA, []uint16) {
	gs := glyph.Glyphs(set)
	img := image.NewNRGBA(image.Rect(0, 0, cols*glyph.CellW, rows*glyph.CellH))
	covers := make([]uint16, cols*rows)
	for cy := 0; cy < rows; cy++ {
		for cx := 0; cx < cols; cx++ {
			g := gs[r.IntN(len(gs))]
			covers[cy*cols+cx] = g.Cover
			on := color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			off := color.NRGBA{255 - on.R, 255 - on.G, uint8(r.IntN(256)), 255}
			for c := 0; c < 2; c++ {
				for k := 0; k < glyph.Bands; k++ {
					col := off
					if g.Cover&(1<<(c*glyph.Bands+k)) != 0 {
						col = on
					}
					top, end := glyph.Band(k)
					for y := top; y < end; y++ {
						for x := c * 3; x < c*3+3; x++ {
							img.SetNRGBA(cx*glyph.CellW+x, cy*glyph.CellH+y, col)
						}
					}
				}
			}
		}
	}
	return img, covers
}

// A picture made of the set's own glyphs must come back glyph for glyph:
// every pixel nearer its own colour than the cell's other colour, and
// within the small contrast widening of it.
func TestSymbolsReproduceGlyphPictures(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, set := range []glyph.Set{glyph.Half | glyph.Quad, glyph.Default, glyph.All} {
		for n := 0; n < 20; n++ {
			rows := 1 + r.IntN(4)
			cols := 2 * rows // a square picture fills the cells exactly
			img, _ := glyphPicture(r, set, cols, rows)
			out := RenderOptions(img, cols, rows, Options{Mode: Symbols, Symbols: set})
			shown, err := arttest.Reconstruct(out, cols, rows)
			if err != nil {
				t.Fatalf("%v: %v\n%q", set, err, out)
			}
			tolerance := 15 // 255*contrastWiden, and rounding
			for y := 0; y < img.Rect.Dy(); y++ {
				for x := 0; x < img.Rect.Dx(); x++ {
					want := img.NRGBAAt(x, y)
					got := shown.RGBAAt(x, y)
					for _, d := range []int{int(got.R) - int(want.R), int(got.G) - int(want.G), int(got.B) - int(want.B)} {
						if d > tolerance || d < -tolerance {
							t.Fatalf("%v case %d %dx%d: pixel (%d,%d) shows %v, source %v\n%q", set, n, cols, rows, x, y, got, want, out)
						}
					}
				}
			}
		}
	}
}

var sgrColour = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

func TestSymbols256UsesOnlyFixedPaletteColours(t *testing.T) {
	img := avatar(t)
	out := RenderOptions(img, 16, 8, Options{Mode: Symbols, Colors: ANSI256})
	checkShape(t, "symbols-256", out, 16, 8)
	if strings.Contains(out, "38;2;") || strings.Contains(out, "48;2;") {
		t.Fatalf("truecolour in 256-colour art: %q", out)
	}
	seen := 0
	for _, m := range sgrColour.FindAllStringSubmatch(out, -1) {
		ps := strings.Split(m[1], ";")
		for i := 0; i < len(ps); i++ {
			if (ps[i] == "38" || ps[i] == "48") && i+2 < len(ps) && ps[i+1] == "5" {
				n, _ := strconv.Atoi(ps[i+2])
				if n < firstPaletteColour || n > 255 {
					t.Errorf("palette colour %d (the terminal's themable 0-15, or out of range)", n)
				}
				seen++
				i += 2
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d palette colours in %q", seen, out)
	}
	if _, err := arttest.Reconstruct(out, 16, 8); err != nil {
		t.Fatal(err)
	}
}

// The palette colours are chosen by the same error as the glyphs (the glyph
// is re-chosen with the colours it will really get), so 256-colour art is
// more faithful than truecolour art downsampled cell by cell the way Bubble
// Tea does it (ansi.Convert256, tmux's algorithm).
func TestSymbols256BeatsDownsampledTruecolour(t *testing.T) {
	imgs := fidelityImages(t)
	var oursSSIM, downSSIM, oursMSE, downMSE float64
	for _, im := range imgs {
		ref := reference(im.img, 16, 8)
		ours, err := arttest.Reconstruct(RenderOptions(im.img, 16, 8, Options{Mode: Symbols, Colors: ANSI256}), 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		full, err := arttest.Reconstruct(RenderOptions(im.img, 16, 8, Options{Mode: Symbols}), 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		down := image.NewRGBA(full.Rect)
		for i := 0; i < len(full.Pix); i += 4 {
			r, g, b := glyph.XtermColor(uint8(ansi.Convert256(color.RGBA{full.Pix[i], full.Pix[i+1], full.Pix[i+2], 255})))
			down.Pix[i], down.Pix[i+1], down.Pix[i+2], down.Pix[i+3] = r, g, b, 255
		}
		oursSSIM += arttest.SSIM(ours, ref)
		downSSIM += arttest.SSIM(down, ref)
		oursMSE += arttest.MSE(ours, ref)
		downMSE += arttest.MSE(down, ref)
	}
	n := float64(len(imgs))
	t.Logf("SSIM %.4f palette-aware, %.4f downsampled; MSE %.1f, %.1f", oursSSIM/n, downSSIM/n, oursMSE/n, downMSE/n)
	if oursSSIM <= downSSIM || oursMSE >= downMSE {
		t.Errorf("palette-aware SSIM %.4f MSE %.1f, downsampled truecolour SSIM %.4f MSE %.1f", oursSSIM/n, oursMSE/n, downSSIM/n, downMSE/n)
	}
}

// Transparent parts stay the terminal's own background: no colour is set
// for a fully transparent cell, and edge cells only set a foreground.
func TestSymbolsTransparency(t *testing.T) {
	img := avatar(t) // a disc on a transparent square
	out := RenderOptions(img, 16, 8, Options{Mode: Symbols})
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], " ") {
		t.Errorf("corner cell is not a bare space: %q", lines[0])
	}
	shown, err := arttest.Reconstruct(out, 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	if c := shown.RGBAAt(0, 0); c.A != 0 {
		t.Errorf("corner shows %v, want the terminal's background", c)
	}
	if c := shown.RGBAAt(48, 48); c.A == 0 {
		t.Errorf("centre shows the terminal's background")
	}
	if strings.Contains(out, "48;2;") && strings.Contains(lines[0], "48;2;") {
		t.Errorf("background colour set in the transparent top row: %q", lines[0])
	}
}

func TestSymbolsEncodesChangesOnly(t *testing.T) {
	img := solid(64, 64, color.NRGBA{10, 20, 30, 255})
	out := RenderOptions(img, 8, 4, Options{Mode: Symbols})
	if n := strings.Count(out, "\x1b["); n != 8 { // one colour and one reset per line
		t.Errorf("%d escape sequences for a flat colour, want 8: %q", n, out)
	}
}

// nearest256 must find what a search of all 240 fixed colours finds.
func TestNearest256IsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := palette256()
	for n := 0; n < 20000; n++ {
		c := rgbf{r.Float32(), r.Float32(), r.Float32()}
		if n%4 == 0 { // near-greys
			v := r.Float32()
			c = rgbf{v, v + r.Float32()*0.02, v}
		}
		want := float32(1e9)
		for i := firstPaletteColour; i < 256; i++ {
			want = min(want, p[i].sub(c).norm2())
		}
		i, d := nearest256(c)
		if d > want+1e-6 || p[i].sub(c).norm2() != d {
			t.Fatalf("nearest256(%v) = %d at %g, the nearest is at %g", c, i, d, want)
		}
	}
}
