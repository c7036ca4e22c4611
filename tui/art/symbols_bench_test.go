package art

import (
	"fmt"
	"testing"

	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// BenchmarkSymbols measures symbol art per icon (a decoded 256x256 demo
// icon) at the sizes a buddy list draws, per symbol set and colour depth.
func BenchmarkSymbols(b *testing.B) {
	img := avatar(b)
	sets := []struct {
		name string
		o    Options
	}{
		{"sextant", Options{Mode: Symbols, Symbols: glyph.Default}},
		{"quad", Options{Mode: Symbols, Symbols: glyph.Half | glyph.Quad}},
		{"octant", Options{Mode: Symbols, Symbols: glyph.All}},
		{"sextant-256", Options{Mode: Symbols, Symbols: glyph.Default, Colors: ANSI256}},
	}
	for _, size := range fidelitySizes {
		for _, s := range sets {
			b.Run(fmt.Sprintf("%dx%d/%s", size[0], size[1], s.name), func(b *testing.B) {
				for b.Loop() {
					RenderOptions(img, size[0], size[1], s.o)
				}
			})
		}
	}
}
