package art

import "image"

// plainRamp orders glyphs from empty to dense. It assumes a dark terminal
// (the common case): bright pixels get dense glyphs.
const plainRamp = " .:-=+*#%@"

func renderPlain(img image.Image, cols, rows int) string {
	grid := fitGrid(img, cols, rows*2)
	out := make([]byte, 0, (cols+1)*rows)
	for y := 0; y < rows; y++ {
		if y > 0 {
			out = append(out, '\n')
		}
		top := grid.Pix[(2*y)*grid.Stride:]
		bot := grid.Pix[(2*y+1)*grid.Stride:]
		for x := 0; x < cols; x++ {
			// Premultiplied values, so transparency darkens towards " ".
			l := luma(top[x*4:]) + luma(bot[x*4:]) // 0..2*255*1000
			i := (l*(len(plainRamp)-1) + 255*1000) / (2 * 255 * 1000)
			out = append(out, plainRamp[i])
		}
	}
	return string(out)
}

// luma is the Rec. 709 luminance of a pixel, times 1000.
func luma(p []uint8) int {
	return 2126*int(p[0])/10 + 7152*int(p[1])/10 + 722*int(p[2])/10
}
