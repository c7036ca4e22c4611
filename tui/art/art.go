// Package art turns buddy icons into terminal art: symbol art (block glyphs
// chosen per cell to minimise the colour error, see Symbols), half-block
// truecolour cells, coloured ASCII through image2ascii, or plain ASCII
// without any escape sequence (for NO_COLOR).
//
// Every renderer returns exactly rows lines (joined by "\n", no trailing
// newline) of exactly cols terminal cells, whatever the image's size or
// shape, so the result can be placed next to other text by Lip Gloss.
// Images keep their aspect ratio: a terminal cell is taken to be twice as
// tall as it is wide, so a square icon fills 16x8 cells. The rest of the
// area is left transparent (plain spaces without colour).
//
// The half-block glyph U+2580 has ambiguous East Asian width; a terminal set
// to treat ambiguous characters as wide will break the layout.
package art

import (
	"fmt"
	"image"
	"strings"

	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// Mode selects how an image is drawn.
type Mode int

const (
	// HalfBlock draws two vertical pixels per cell with "▀"/"▄" in 24-bit
	// colour. Bubble Tea v2 downsamples the colours for each terminal.
	HalfBlock Mode = iota
	// ASCII draws one glyph per cell with github.com/qeesung/image2ascii in
	// 256 colours.
	ASCII
	// Plain draws one glyph per cell from a luminance ramp, without any
	// colour or escape sequence (for NO_COLOR).
	Plain
	// Symbols draws each cell as the block glyph and two colours (from a
	// SymbolSet) that reproduce its pixels with the least Oklab error: about
	// three times the detail of HalfBlock with the default set.
	Symbols
)

// String returns the mode's name as accepted by ParseMode.
func (m Mode) String() string {
	switch m {
	case HalfBlock:
		return "halfblock"
	case ASCII:
		return "ascii"
	case Plain:
		return "plain"
	case Symbols:
		return "symbols"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses a mode name ("symbols", "halfblock", "ascii" or "plain").
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "halfblock", "half-block", "half", "block", "":
		return HalfBlock, nil
	case "ascii":
		return ASCII, nil
	case "plain", "none", "nocolor", "no-color":
		return Plain, nil
	case "symbols", "symbol", "sym":
		return Symbols, nil
	}
	return HalfBlock, fmt.Errorf("art: unknown mode %q (want symbols, halfblock, ascii or plain)", s)
}

// Limits on the size of the art. A request beyond them is clamped: they
// bound the work and the memory that one call can cost.
const (
	MaxCols = 512
	MaxRows = 256
)

// Render draws img in cols x rows terminal cells with mode m. It returns
// exactly rows lines of exactly cols cells (an empty string when either is
// zero or negative; both are clamped to MaxCols and MaxRows). A nil or empty
// image gives a neutral placeholder. An unknown mode renders as HalfBlock.
//
// Render is safe for concurrent use.
func Render(img image.Image, cols, rows int, m Mode) string {
	return RenderOptions(img, cols, rows, Options{Mode: m})
}

// SymbolSet selects the glyphs of Symbols mode (see glyph.Set).
type SymbolSet = glyph.Set

// The symbol classes, for Options.Symbols.
const (
	SymHalf        = glyph.Half
	SymQuad        = glyph.Quad
	SymSextant     = glyph.Sextant
	SymOctant      = glyph.Octant
	DefaultSymbols = glyph.Default
)

// ParseSymbols parses a symbol set such as "half+quad+sextant" (see
// glyph.Parse).
func ParseSymbols(s string) (SymbolSet, error) {
	set, err := glyph.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("art: %w", err)
	}
	return set, nil
}

// Options says how RenderOptions draws: the mode, and for Symbols the glyph
// set (zero: DefaultSymbols) and the colour depth.
type Options struct {
	Mode    Mode
	Symbols SymbolSet
	Colors  Colors
}

// RenderOptions is Render with the symbol set and colour depth of o.
func RenderOptions(img image.Image, cols, rows int, o Options) string {
	cols, rows = clampSize(cols, rows)
	if cols == 0 || rows == 0 {
		return ""
	}
	m := o.Mode
	if img == nil || img.Bounds().Empty() {
		return Placeholder(cols, rows, "", m)
	}
	switch m {
	case Symbols:
		return renderSymbols(img, cols, rows, o.Symbols, o.Colors)
	case ASCII:
		return renderASCII(img, cols, rows)
	case Plain:
		return renderPlain(img, cols, rows)
	default:
		return renderHalfBlock(img, cols, rows)
	}
}

func clampSize(cols, rows int) (int, int) {
	cols = max(0, min(cols, MaxCols))
	rows = max(0, min(rows, MaxRows))
	return cols, rows
}
