// Package glyph is the model of a terminal cell that symbol art draws on:
// which part of the cell each half block, quadrant, sextant and octant
// covers, and the xterm palette its colours come from, shared by the renderer (tui/art) and the playback that tests and
// benchmarks use (tui/art/arttest).
package glyph

import (
	"fmt"
	"strings"
	"sync"
)

// Set selects the block glyphs Symbols mode may draw, like chafa's
// --symbols. The space and the full block are always in the set.
type Set uint8

const (
	// Half is the four half blocks ▀ ▄ ▌ ▐ (every terminal font).
	Half Set = 1 << iota
	// Quad is the 2x2 quadrants ▘ ▝ ▖ ▗ ▚ ▞ ▛ ▜ ▙ ▟ (every terminal font).
	Quad
	// Sextant is the 2x3 sextants U+1FB00..U+1FB3B (Unicode 13; drawn
	// natively by kitty, foot, WezTerm, Ghostty, Windows Terminal; xterm
	// needs a font that has them).
	Sextant
	// Octant is the 2x4 octants U+1CD00..U+1CDE5 and the quarter blocks
	// they reuse (Unicode 16, 2024: few fonts yet, so opt-in).
	Octant
)

// Default is the set Symbols mode uses unless told otherwise.
const Default = Half | Quad | Sextant

// All is every set this package knows.
const All = Half | Quad | Sextant | Octant

var symbolNames = []struct {
	name string
	set  Set
}{{"half", Half}, {"quad", Quad}, {"sextant", Sextant}, {"octant", Octant}}

// String returns the set as Parse accepts it, e.g. "half+quad".
func (s Set) String() string {
	var parts []string
	for _, n := range symbolNames {
		if s&n.set != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Parse parses a symbol set: class names joined by "+" or ","
// ("half", "quad", "sextant", "octant", "all"), e.g. "quad+sextant". An
// empty string gives Default.
func Parse(s string) (Set, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "default" {
		return Default, nil
	}
	var set Set
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == ',' }) {
		part = strings.TrimSpace(part)
		if part == "all" {
			set |= All
			continue
		}
		found := false
		for _, n := range symbolNames {
			if part == n.name || part == n.name+"s" {
				set |= n.set
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown symbol class %q (want half, quad, sextant, octant or all, joined by +)", part)
		}
	}
	if set == 0 {
		return 0, fmt.Errorf("empty symbol set %q", s)
	}
	return set, nil
}

// A cell is modelled as 6x12 units: two columns of 3 and six bands of rows
// whose heights (3,1,2,2,1,3) put a boundary at every half, third and
// quarter of the height, so every glyph of every set covers whole atoms (one
// column of one band). A coverage mask has bit c*6+k set when the glyph
// covers band k of column c.
const (
	// CellW and CellH are the cell's size in units: the pixel size at
	// which tui/art/arttest plays art back.
	CellW = 6
	CellH = 12
	// Bands is the number of row bands of a column.
	Bands = 6
	// Atoms is the number of atoms of a cell (bits of a coverage mask).
	Atoms = 2 * Bands
	// Full is the coverage mask of the whole cell.
	Full = 1<<Atoms - 1
)

// bandTop is the first unit row of each band, and of the row after the last.
var bandTop = [Bands + 1]int{0, 3, 4, 6, 8, 9, 12}

// Band returns the unit rows [top, end) of band k (0 <= k < Bands).
func Band(k int) (top, end int) { return bandTop[k], bandTop[k+1] }

// Row masks of one column, in bands: halves, thirds and quarters of a cell.
var (
	halfRows    = [2]uint16{0b000111, 0b111000}
	thirdRows   = [3]uint16{0b000011, 0b001100, 0b110000}
	quarterRows = [4]uint16{0b000001, 0b000110, 0b011000, 0b100000}
)

// Glyph is one symbol and the atoms it covers.
type Glyph struct {
	Rune  rune
	Cover uint16
}

// gridMask turns a pattern of a 2 x len(rows) grid (bit 2*r+c for row r,
// column c: the bit order of Unicode's "BLOCK SEXTANT-n"/"OCTANT-n" names
// minus one) into a coverage mask.
func gridMask(pattern uint, rows []uint16) uint16 {
	var m uint16
	for r, rm := range rows {
		if pattern&(1<<(2*r)) != 0 {
			m |= rm
		}
		if pattern&(1<<(2*r+1)) != 0 {
			m |= rm << Bands
		}
	}
	return m
}

// quadrantRunes maps a 2x2 pattern (bit 0 upper left, 1 upper right, 2
// lower left, 3 lower right) to its Block Elements character.
var quadrantRunes = [16]rune{' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█'}

// sextantRune is the character of a 2x3 pattern: U+1FB00 onwards in pattern
// order, skipping the four patterns Block Elements already has.
func sextantRune(p uint) rune {
	switch p {
	case 0:
		return ' '
	case 0b010101:
		return '▌'
	case 0b101010:
		return '▐'
	case 0b111111:
		return '█'
	}
	n := rune(p) - 1
	if p > 0b010101 {
		n--
	}
	if p > 0b101010 {
		n--
	}
	return 0x1FB00 + n
}

// octantReused holds the 2x4 patterns that have a character outside the
// octant block (besides the 16 quadrant patterns): the quarter blocks.
var octantReused = map[uint]rune{
	0x03: '\U0001FB82', // UPPER ONE QUARTER BLOCK
	0xC0: '▂',          // LOWER ONE QUARTER BLOCK
	0x3F: '\U0001FB85', // UPPER THREE QUARTERS BLOCK
	0xFC: '▆',          // LOWER THREE QUARTERS BLOCK
	0x14: '\U0001FBE6', // MIDDLE LEFT ONE QUARTER BLOCK
	0x28: '\U0001FBE7', // MIDDLE RIGHT ONE QUARTER BLOCK
	0x01: '\U0001CEA8', // LEFT HALF UPPER ONE QUARTER BLOCK
	0x02: '\U0001CEAB', // RIGHT HALF UPPER ONE QUARTER BLOCK
	0x40: '\U0001CEA3', // LEFT HALF LOWER ONE QUARTER BLOCK
	0x80: '\U0001CEA0', // RIGHT HALF LOWER ONE QUARTER BLOCK
}

// octantQuadrant reports the quadrant pattern of a 2x4 pattern whose rows
// come in equal pairs.
func octantQuadrant(p uint) (uint, bool) {
	r0, r1, r2, r3 := p&3, p>>2&3, p>>4&3, p>>6&3
	if r0 != r1 || r2 != r3 {
		return 0, false
	}
	return r0 | r2<<2, true
}

// octantRunes maps every 2x4 pattern to its character: the 230 octants
// U+1CD00..U+1CDE5 run in pattern order, skipping the 26 patterns drawn by
// quadrants and quarter blocks.
var octantRunes = sync.OnceValue(func() [256]rune {
	var t [256]rune
	next := rune(0x1CD00)
	for p := uint(0); p < 256; p++ {
		if q, ok := octantQuadrant(p); ok {
			t[p] = quadrantRunes[q]
		} else if r, ok := octantReused[p]; ok {
			t[p] = r
		} else {
			t[p] = next
			next++
		}
	}
	return t
})

// Glyphs returns the glyphs of set, each coverage mask once, space first.
func Glyphs(set Set) []Glyph {
	return glyphTables()[set&All]
}

var glyphTables = sync.OnceValue(func() [All + 1][]Glyph {
	var t [All + 1][]Glyph
	for s := range t {
		t[s] = buildGlyphs(Set(s))
	}
	return t
})

func buildGlyphs(set Set) []Glyph {
	seen := map[uint16]bool{}
	var out []Glyph
	add := func(r rune, m uint16) {
		if !seen[m] {
			seen[m] = true
			out = append(out, Glyph{r, m})
		}
	}
	add(' ', 0)
	add('█', Full)
	if set&Half != 0 {
		for _, p := range []uint{0b0011, 0b1100, 0b0101, 0b1010} {
			add(quadrantRunes[p], gridMask(p, halfRows[:]))
		}
	}
	if set&Quad != 0 {
		for p := uint(0); p < 16; p++ {
			add(quadrantRunes[p], gridMask(p, halfRows[:]))
		}
	}
	if set&Sextant != 0 {
		for p := uint(0); p < 64; p++ {
			add(sextantRune(p), gridMask(p, thirdRows[:]))
		}
	}
	if set&Octant != 0 {
		runes := octantRunes()
		for p := uint(0); p < 256; p++ {
			add(runes[p], gridMask(p, quarterRows[:]))
		}
	}
	return out
}

// CoverOf returns the coverage mask of a glyph that some symbol set
// draws, for playing art back.
func CoverOf(r rune) (uint16, bool) {
	m, ok := coverByRune()[r]
	return m, ok
}

var coverByRune = sync.OnceValue(func() map[rune]uint16 {
	t := map[rune]uint16{}
	for _, g := range Glyphs(All) {
		t[g.Rune] = g.Cover
	}
	return t
})
