package art

import (
	"image"
	"strconv"
)

// alphaThreshold decides when a pixel counts as drawn. Pixels at or above it
// are shown in their own (un-premultiplied) colour, the rest are left to the
// terminal's background. Blending with a guessed background colour would put
// a dark halo around icons on light terminals, so the edge stays hard.
const alphaThreshold = 128

// A pen colour is 0 for the terminal's default, 1<<24 | r<<16 | g<<8 | b for
// a truecolour, or indexedPen | i for palette entry i.
type pen uint32

const defaultPen pen = 0

func pixelPen(p []uint8) pen {
	a := uint32(p[3])
	if a < alphaThreshold {
		return defaultPen
	}
	if a == 0xff {
		return pen(1<<24 | uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]))
	}
	r := (uint32(p[0])*0xff + a/2) / a
	g := (uint32(p[1])*0xff + a/2) / a
	b := (uint32(p[2])*0xff + a/2) / a
	return pen(1<<24 | min(r, 0xff)<<16 | min(g, 0xff)<<8 | min(b, 0xff))
}

const (
	upperHalf = "▀"
	lowerHalf = "▄"
	fullBlock = "█"
)

func renderHalfBlock(img image.Image, cols, rows int) string {
	grid := fitGrid(img, cols, rows*2)
	return halfBlocks(grid, cols, rows)
}

// halfBlocks writes the cols x 2*rows grid as cells of two pixels each. It
// tracks the terminal's current colours and only emits what changes, picking
// among equivalent glyphs ("▀" fg/bg or "▄" bg/fg, " " or "█") the one that
// needs the fewest changes. Each line that set a colour ends with a reset.
func halfBlocks(grid *image.RGBA, cols, rows int) string {
	// Worst case per cell: fg and bg both change (36 bytes) plus a 3-byte
	// glyph; sizing for it up front avoids regrowing the buffer.
	out := make([]byte, 0, cols*rows*39+rows*4)
	for y := 0; y < rows; y++ {
		if y > 0 {
			out = append(out, '\n')
		}
		top := grid.Pix[(2*y)*grid.Stride:]
		bot := grid.Pix[(2*y+1)*grid.Stride:]
		fg, bg := defaultPen, defaultPen
		for x := 0; x < cols; x++ {
			t, b := pixelPen(top[x*4:]), pixelPen(bot[x*4:])
			var glyph string
			wantFG, wantBG := fg, bg
			switch {
			case t == defaultPen && b == defaultPen:
				glyph, wantBG = " ", defaultPen
			case t == defaultPen:
				glyph, wantFG, wantBG = lowerHalf, b, defaultPen
			case b == defaultPen:
				glyph, wantFG, wantBG = upperHalf, t, defaultPen
			case t == b:
				switch {
				case bg == t:
					glyph = " "
				case fg == t:
					glyph = fullBlock
				default:
					glyph, wantBG = " ", t
				}
			default:
				upperCost := btoi(fg != t) + btoi(bg != b)
				lowerCost := btoi(fg != b) + btoi(bg != t)
				if lowerCost < upperCost {
					glyph, wantFG, wantBG = lowerHalf, b, t
				} else {
					glyph, wantFG, wantBG = upperHalf, t, b
				}
			}
			out = appendSGR(out, fg, bg, wantFG, wantBG)
			fg, bg = wantFG, wantBG
			out = append(out, glyph...)
		}
		if fg != defaultPen || bg != defaultPen {
			out = append(out, "\x1b[m"...)
		}
	}
	return string(out)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendSGR appends one SGR sequence moving the pens from (fg, bg) to
// (wantFG, wantBG), or nothing when they are unchanged.
func appendSGR(out []byte, fg, bg, wantFG, wantBG pen) []byte {
	if fg == wantFG && bg == wantBG {
		return out
	}
	out = append(out, "\x1b["...)
	if fg != wantFG {
		out = appendPen(out, wantFG, "39", "38;")
		if bg != wantBG {
			out = append(out, ';')
		}
	}
	if bg != wantBG {
		out = appendPen(out, wantBG, "49", "48;")
	}
	return append(out, 'm')
}

func appendPen(out []byte, p pen, reset, prefix string) []byte {
	if p == defaultPen {
		return append(out, reset...)
	}
	out = append(out, prefix...)
	if p&indexedPen != 0 {
		out = append(out, "5;"...)
		return strconv.AppendUint(out, uint64(p&0xff), 10)
	}
	out = append(out, "2;"...)
	out = strconv.AppendUint(out, uint64(p>>16&0xff), 10)
	out = append(out, ';')
	out = strconv.AppendUint(out, uint64(p>>8&0xff), 10)
	out = append(out, ';')
	return strconv.AppendUint(out, uint64(p&0xff), 10)
}
