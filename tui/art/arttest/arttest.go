// Package arttest plays terminal art back the way a terminal shows it, so
// tests can compare what a person would see with the picture drawn.
package arttest

import (
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
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
