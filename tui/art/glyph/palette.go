package glyph

// xterm16 is xterm's default colours 0-15 (terminals theme them, so symbol
// art never chooses them, but chafa's output and playback may meet them).
var xterm16 = [16][3]uint8{
	{0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0}, {0, 0, 238}, {205, 0, 205}, {0, 205, 205}, {229, 229, 229},
	{127, 127, 127}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0}, {92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
}

// XtermColor returns xterm's default sRGB colour for palette index n
// (0-255): the 16 system colours, the 6x6x6 cube from 16, the 24 greys
// from 232.
func XtermColor(n uint8) (r, g, b uint8) {
	switch {
	case n < 16:
		c := xterm16[n]
		return c[0], c[1], c[2]
	case n >= 232:
		v := 8 + 10*(n-232)
		return v, v, v
	}
	level := func(i uint8) uint8 {
		if i == 0 {
			return 0
		}
		return 55 + 40*i
	}
	n -= 16
	return level(n / 36), level(n / 6 % 6), level(n % 6)
}
