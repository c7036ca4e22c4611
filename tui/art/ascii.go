package art

import (
	"image"
	"strings"

	"github.com/qeesung/image2ascii/convert"
)

// renderASCII draws through image2ascii. Its default options measure the
// process's own terminal (exec'ing stty) and call log.Fatal when there is
// none, so both fixed sizes are always set and the screen fitting is off;
// the ImageFile2* helpers (log.Fatal on errors) are never used.
//
// The image is first fitted (aspect kept) onto a 2*cols x 4*rows canvas:
// that bounds image2ascii's slow Lanczos resize to a tiny input whatever the
// source size, and its 2:1 squeeze of rows matches the cell shape.
func renderASCII(img image.Image, cols, rows int) string {
	grid := fitGrid(img, cols*2, rows*4)
	opts := convert.Options{
		Ratio:           1,
		FixedWidth:      cols,
		FixedHeight:     rows,
		FitScreen:       false,
		StretchedScreen: false,
		Colored:         true,
	}
	cells := convert.NewImageConverter().Image2ASCIIMatrix(grid, &opts)
	var b strings.Builder
	b.Grow(len(cells) * 20)
	line, n := 0, 0
	for _, c := range cells {
		if c == "\n" {
			line++
			continue
		}
		if n > 0 && n%cols == 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c)
		n++
	}
	if n != cols*rows || line != rows {
		// image2ascii always resizes to exactly FixedWidth x FixedHeight; a
		// different count would break every layout, so fall back to plain.
		return renderPlain(img, cols, rows)
	}
	return b.String()
}
