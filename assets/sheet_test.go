package assets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
)

// termBG is the terminal background the previews assume.
var termBG = color.RGBA{0x1e, 0x1e, 0x24, 0xff}

// decodeHalfBlocks turns art's HalfBlock output back into the pixels a
// terminal would show: cols x 2*rows, transparent cells in termBG.
func decodeHalfBlocks(t testing.TB, s string, cols, rows int) *image.RGBA {
	t.Helper()
	shown, err := arttest.Screen(s, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(shown.Bounds())
	draw.Draw(img, img.Bounds(), image.NewUniform(termBG), image.Point{}, draw.Src)
	draw.Draw(img, img.Bounds(), shown, image.Point{}, draw.Over)
	return img
}

// TestContactSheet writes every icon, and how it looks in a terminal at
// 8x4, 16x8 and 32x16 half-block cells, to the PNG named by SIPBUDDY_SHEET.
func TestContactSheet(t *testing.T) {
	out := os.Getenv("SIPBUDDY_SHEET")
	if out == "" {
		t.Skip("set SIPBUDDY_SHEET=/tmp/sheet.png to write the contact sheet")
	}
	// SIPBUDDY_SHEET_ONLY=ada,me picks icons whose file names start so.
	var all [][]byte
	only := strings.Split(os.Getenv("SIPBUDDY_SHEET_ONLY"), ",")
	for _, ic := range Gallery() {
		for _, o := range only {
			if strings.HasPrefix(ic.Name, o) {
				all = append(all, ic.PNG)
				break
			}
		}
	}
	const cell, pad = 128, 8
	perRow := 4 // icons per sheet row, each with its three previews
	if n, err := strconv.Atoi(os.Getenv("SIPBUDDY_SHEET_PER_ROW")); err == nil && n > 0 {
		perRow = n
	}
	perRow = min(perRow, len(all))
	w := perRow * (4*cell + 5*pad)
	h := (len(all) + perRow - 1) / perRow * (cell + pad)
	sheet := image.NewRGBA(image.Rect(0, 0, w, h+pad))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{0x30, 0x30, 0x36, 0xff}), image.Point{}, draw.Src)
	for i, data := range all {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ox := (i % perRow) * (4*cell + 5*pad)
		oy := (i/perRow)*(cell+pad) + pad
		blit := func(src image.Image, x int) {
			sb := src.Bounds()
			scale := cell / sb.Dx()
			r := image.Rect(ox+x, oy, ox+x+cell, oy+cell)
			if scale < 1 { // the original: scale down by sampling
				for y := 0; y < cell; y++ {
					for xx := 0; xx < cell; xx++ {
						c := src.At(sb.Min.X+xx*sb.Dx()/cell, sb.Min.Y+y*sb.Dy()/cell)
						draw.Draw(sheet, image.Rect(r.Min.X+xx, r.Min.Y+y, r.Min.X+xx+1, r.Min.Y+y+1), image.NewUniform(c), image.Point{}, draw.Over)
					}
				}
				return
			}
			for y := 0; y < sb.Dy(); y++ {
				for xx := 0; xx < sb.Dx(); xx++ {
					c := src.At(xx, y)
					draw.Draw(sheet, image.Rect(r.Min.X+xx*scale, r.Min.Y+y*scale, r.Min.X+(xx+1)*scale, r.Min.Y+(y+1)*scale), image.NewUniform(c), image.Point{}, draw.Src)
				}
			}
		}
		blit(img, pad)
		for j, cols := range []int{8, 16, 32} {
			s := art.Render(img, cols, cols/2, art.HalfBlock)
			blit(decodeHalfBlocks(t, s, cols, cols/2), pad+(j+1)*(cell+pad))
		}
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, sheet); err != nil {
		t.Fatal(err)
	}
	fmt.Println("wrote", out)
}
