package glyph

import (
	"testing"
)

// both returns a mask covering the bands in m in both columns.
func both(m uint16) uint16 { return m | m<<Bands }

func TestGlyphCounts(t *testing.T) {
	for _, c := range []struct {
		set  Set
		want int
	}{
		{Half, 6},                   // space, full, ▀ ▄ ▌ ▐
		{Quad, 16},                  // every 2x2 pattern
		{Half | Quad | Sextant, 76}, // 64 sextant patterns + 12 quadrant-only ones
		{All, 316},                  // 256 octant patterns + 60 sextants (4 are shared)
		{Octant, 256},               // includes the quadrants and quarter blocks it reuses
		{Sextant, 64},               // includes space, full, ▌ ▐
		{Half | Sextant, 66},        // + ▀ ▄
		{Half | Quad | Octant, 256}, // quadrants are octant patterns
		{Quad | Sextant | Octant, 316},
	} {
		if got := len(Glyphs(c.set)); got != c.want {
			t.Errorf("%v: %d glyphs, want %d", c.set, got, c.want)
		}
	}
}

// Spot checks against the Unicode 16 character names (BLOCK SEXTANT-n and
// BLOCK OCTANT-n number the cells row by row, left to right, from 1).
func TestGlyphCoverMatchesUnicodeNames(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want uint16
	}{
		{' ', 0},
		{'█', Full},
		{'▀', both(0b000111)},
		{'▄', both(0b111000)},
		{'▌', 0b111111},
		{'▐', 0b111111 << Bands},
		{'▘', 0b000111},
		{'▗', 0b111000 << Bands},
		{'▚', 0b000111 | 0b111000<<Bands},
		{'▟', 0b111000 | 0b111111<<Bands},
		{'\U0001FB00', 0b000011},                   // BLOCK SEXTANT-1
		{'\U0001FB01', 0b000011 << Bands},          // BLOCK SEXTANT-2
		{'\U0001FB13', 0b111100},                   // BLOCK SEXTANT-35
		{'\U0001FB14', 0b111100 | 0b000011<<Bands}, // BLOCK SEXTANT-235
		{'\U0001FB3B', Full ^ 0b000011},            // BLOCK SEXTANT-23456
		{'\U0001CD00', 0b000110},                   // BLOCK OCTANT-3
		{'\U0001CD01', 0b000110 | 0b000001<<Bands}, // BLOCK OCTANT-23
		{'\U0001CD03', 0b000110 << Bands},          // BLOCK OCTANT-4
		{'\U0001CDE5', Full ^ 0b000001},            // BLOCK OCTANT-2345678
		{'\U0001FB82', both(0b000001)},             // UPPER ONE QUARTER BLOCK
		{'▆', both(0b111110)},                      // LOWER THREE QUARTERS BLOCK
		{'\U0001CEA8', 0b000001},                   // LEFT HALF UPPER ONE QUARTER BLOCK
		{'\U0001CEA0', 0b100000 << Bands},          // RIGHT HALF LOWER ONE QUARTER BLOCK
	} {
		got, ok := CoverOf(c.r)
		if !ok || got != c.want {
			t.Errorf("%U %c: cover %012b (known %v), want %012b", c.r, c.r, got, ok, c.want)
		}
	}
}

func TestEverySetHasComplements(t *testing.T) {
	for s := Set(0); s <= All; s++ {
		covers := map[uint16]bool{}
		runes := map[rune]bool{}
		for _, g := range Glyphs(s) {
			if covers[g.Cover] || runes[g.Rune] {
				t.Fatalf("%v: %U %012b twice", s, g.Rune, g.Cover)
			}
			covers[g.Cover], runes[g.Rune] = true, true
		}
		for c := range covers {
			if !covers[Full^c] {
				t.Errorf("%v: %012b has no complement", s, c)
			}
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Set{
		"":                  Default,
		"quad":              Quad,
		"half+quad+sextant": Default,
		"Quads, Sextants":   Quad | Sextant,
		"all":               All,
		"octant+half":       Octant | Half,
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q.String() = %q) = %v, %v", in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"braille", "quad+wedge", "+", "none"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestXtermColor(t *testing.T) {
	for n, want := range map[uint8][3]uint8{16: {0, 0, 0}, 21: {0, 0, 255}, 196: {255, 0, 0}, 231: {255, 255, 255}, 232: {8, 8, 8}, 255: {238, 238, 238}, 1: {205, 0, 0}} {
		r, g, b := XtermColor(n)
		if [3]uint8{r, g, b} != want {
			t.Errorf("XtermColor(%d) = %d,%d,%d, want %v", n, r, g, b, want)
		}
	}
}

// FuzzParse: any input is a valid set or an error, never a panic, and a
// valid set round-trips through String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "quad+sextant", "all", "half,,octant", "+++", "sextants"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		if set == 0 || set&^All != 0 {
			t.Fatalf("Parse(%q) = %v", s, set)
		}
		if back, err := Parse(set.String()); err != nil || back != set {
			t.Fatalf("round trip of %v: %v, %v", set, back, err)
		}
	})
}
