// Package arttest plays terminal art back the way a terminal shows it, so
// tests can compare what a person would see with the picture drawn.
package arttest

import (
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// Screen decodes half-block art (tui/art's HalfBlock mode): the colour of
// the upper and lower half of every cell, cols x 2*rows pixels, transparent
// where the terminal's own background shows. Anything the renderer does not
// emit is an error: another escape sequence or glyph, a truecolour value out
// of range, or a line that leaves a colour set for the next one.
func Screen(s string, cols, rows int) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, cols, rows*2))
	for y, line := range strings.Split(s, "\n") {
		if y >= rows {
			return nil, fmt.Errorf("more than %d lines", rows)
		}
		var fg, bg color.RGBA // zero: the terminal's default
		x := 0
		for len(line) > 0 {
			if strings.HasPrefix(line, "\x1b[") {
				end := strings.IndexByte(line, 'm')
				if end < 0 {
					return nil, fmt.Errorf("line %d: unterminated escape sequence %q", y, line)
				}
				ps := strings.Split(line[2:end], ";")
				line = line[end+1:]
				for i := 0; i < len(ps); i++ {
					switch ps[i] {
					case "", "0":
						fg, bg = color.RGBA{}, color.RGBA{}
					case "39":
						fg = color.RGBA{}
					case "49":
						bg = color.RGBA{}
					case "38", "48":
						if i+4 >= len(ps) || ps[i+1] != "2" {
							return nil, fmt.Errorf("line %d: not a truecolour SGR: %q", y, ps)
						}
						var v [3]uint8
						for k := range v {
							n, err := strconv.Atoi(ps[i+2+k])
							if err != nil || n < 0 || n > 255 {
								return nil, fmt.Errorf("line %d: colour component %q", y, ps[i+2+k])
							}
							v[k] = uint8(n)
						}
						c := color.RGBA{v[0], v[1], v[2], 0xff}
						if ps[i] == "38" {
							fg = c
						} else {
							bg = c
						}
						i += 4
					default:
						return nil, fmt.Errorf("line %d: unexpected SGR parameter %q", y, ps[i])
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
				return nil, fmt.Errorf("line %d: unexpected glyph %q", y, r)
			}
			if x >= cols {
				return nil, fmt.Errorf("line %d: wider than %d cells", y, cols)
			}
			img.SetRGBA(x, 2*y, top)
			img.SetRGBA(x, 2*y+1, bot)
			x++
		}
		if fg != (color.RGBA{}) || bg != (color.RGBA{}) {
			return nil, fmt.Errorf("line %d leaves colours set", y)
		}
	}
	return img, nil
}

// Reconstruct plays symbol art back (tui/art's Symbols and HalfBlock modes,
// or chafa's symbols output) the way a terminal shows it: every cell is
// glyph.CellW x glyph.CellH pixels, each covered pixel in the foreground
// colour and the rest in the background colour, transparent where the
// terminal's default colour shows. It understands the SGR parameters 0, 7,
// 27, 39, 49, 38/48;2;r;g;b and 38/48;5;n (xterm's palette); anything else
// is an error.
func Reconstruct(s string, cols, rows int) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, cols*glyph.CellW, rows*glyph.CellH))
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != rows {
		return nil, fmt.Errorf("%d lines, want %d", len(lines), rows)
	}
	for y, line := range lines {
		var fg, bg color.RGBA // zero: the terminal's default
		inverse := false
		x := 0
		for len(line) > 0 {
			if strings.HasPrefix(line, "\x1b[") {
				end := strings.IndexByte(line, 'm')
				if end < 0 {
					return nil, fmt.Errorf("line %d: unterminated escape sequence %q", y, line)
				}
				params := line[2:end]
				line = line[end+1:]
				if err := applySGR(params, &fg, &bg, &inverse); err != nil {
					return nil, fmt.Errorf("line %d: %w", y, err)
				}
				continue
			}
			r, size := utf8.DecodeRuneInString(line)
			line = line[size:]
			cover, ok := glyph.CoverOf(r)
			if !ok {
				return nil, fmt.Errorf("line %d: unexpected glyph %q", y, r)
			}
			if x >= cols {
				return nil, fmt.Errorf("line %d: wider than %d cells", y, cols)
			}
			on, off := fg, bg
			if inverse {
				on, off = bg, fg
			}
			paintCell(img, x, y, cover, on, off)
			x++
		}
		if x != cols {
			return nil, fmt.Errorf("line %d: %d cells, want %d", y, x, cols)
		}
	}
	return img, nil
}

func paintCell(img *image.RGBA, x, y int, cover uint16, on, off color.RGBA) {
	for c := 0; c < 2; c++ {
		for k := 0; k < glyph.Bands; k++ {
			col := off
			if cover&(1<<(c*glyph.Bands+k)) != 0 {
				col = on
			}
			top, end := glyph.Band(k)
			for py := top; py < end; py++ {
				for px := c * glyph.CellW / 2; px < (c+1)*glyph.CellW/2; px++ {
					img.SetRGBA(x*glyph.CellW+px, y*glyph.CellH+py, col)
				}
			}
		}
	}
}

func applySGR(params string, fg, bg *color.RGBA, inverse *bool) error {
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		switch ps[i] {
		case "", "0":
			*fg, *bg, *inverse = color.RGBA{}, color.RGBA{}, false
		case "7":
			*inverse = true
		case "27":
			*inverse = false
		case "39":
			*fg = color.RGBA{}
		case "49":
			*bg = color.RGBA{}
		case "38", "48":
			target := fg
			if ps[i] == "48" {
				target = bg
			}
			switch {
			case i+4 < len(ps) && ps[i+1] == "2":
				var v [3]uint8
				for k := range v {
					n, err := strconv.Atoi(ps[i+2+k])
					if err != nil || n < 0 || n > 255 {
						return fmt.Errorf("colour component %q", ps[i+2+k])
					}
					v[k] = uint8(n)
				}
				*target = color.RGBA{v[0], v[1], v[2], 0xff}
				i += 4
			case i+2 < len(ps) && ps[i+1] == "5":
				n, err := strconv.Atoi(ps[i+2])
				if err != nil || n < 0 || n > 255 {
					return fmt.Errorf("palette index %q", ps[i+2])
				}
				r, g, b := glyph.XtermColor(uint8(n))
				*target = color.RGBA{r, g, b, 0xff}
				i += 2
			default:
				return fmt.Errorf("not a 24-bit or 256-colour SGR: %q", params)
			}
		default:
			return fmt.Errorf("unexpected SGR parameter %q in %q", ps[i], params)
		}
	}
	return nil
}
