package art

import (
	"image"
	"image/draw"
	"sync"

	xdraw "golang.org/x/image/draw"
)

// maxSupersample is how many samples per output pixel side fitGrid takes
// when it shrinks an image. ApproxBiLinear alone reads only 2x2 source pixels
// per output pixel, which aliases thin lines away at 16:1; averaging 4x4
// point samples keeps them while staying far cheaper than a filter kernel
// (CatmullRom costs about 1 ms for a 256x256 icon).
const maxSupersample = 4

var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// fitGrid scales img into a new w x h canvas (premultiplied RGBA), keeping
// its aspect ratio, centred, with the rest left fully transparent.
func fitGrid(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := img.Bounds()
	sw, sh := int64(sb.Dx()), int64(sb.Dy())
	var dw, dh int
	if sw*int64(h) <= sh*int64(w) {
		dh = h
		dw = int((sw*int64(h)*2 + sh) / (2 * sh)) // rounded sw*h/sh
	} else {
		dw = w
		dh = int((sh*int64(w)*2 + sw) / (2 * sw))
	}
	dw = max(1, min(dw, w))
	dh = max(1, min(dh, h))
	dr := image.Rect((w-dw)/2, (h-dh)/2, (w-dw)/2+dw, (h-dh)/2+dh)

	s := int(min(int64(maxSupersample), sw/int64(dw), sh/int64(dh)))
	switch {
	case int64(dw) == sw && int64(dh) == sh:
		draw.Draw(dst, dr, img, sb.Min, draw.Src)
	case s <= 1:
		xdraw.ApproxBiLinear.Scale(dst, dr, img, sb, xdraw.Src, nil)
	case sampleDown(dst, dr, img, s):
	default:
		buf := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(buf)
		n := dw * s * dh * s * 4
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		tmp := &image.RGBA{Pix: (*buf)[:n], Stride: dw * s * 4, Rect: image.Rect(0, 0, dw*s, dh*s)}
		xdraw.ApproxBiLinear.Scale(tmp, tmp.Rect, img, sb, xdraw.Src, nil)
		boxDown(dst, dr, tmp, s)
	}
	return dst
}

// boxDown averages each s x s block of src into one pixel of dst's rectangle
// dr. Averaging premultiplied values is the correct way to mix alpha.
func boxDown(dst *image.RGBA, dr image.Rectangle, src *image.RGBA, s int) {
	n := uint32(s * s)
	for y := 0; y < dr.Dy(); y++ {
		d := dst.Pix[(dr.Min.Y+y)*dst.Stride+dr.Min.X*4:]
		for x := 0; x < dr.Dx(); x++ {
			var r, g, b, a uint32
			for yy := 0; yy < s; yy++ {
				row := src.Pix[(y*s+yy)*src.Stride+x*s*4:][: s*4 : s*4]
				for i := 0; i < len(row); i += 4 {
					r += uint32(row[i])
					g += uint32(row[i+1])
					b += uint32(row[i+2])
					a += uint32(row[i+3])
				}
			}
			o := d[x*4 : x*4+4 : x*4+4]
			o[0] = uint8((r + n/2) / n)
			o[1] = uint8((g + n/2) / n)
			o[2] = uint8((b + n/2) / n)
			o[3] = uint8((a + n/2) / n)
		}
	}
}

// sampleDown fills dst's rectangle dr from img by averaging s x s evenly
// spaced point samples per output pixel, reading the pixel buffers of the
// common decoded types directly. It reports false for other image types.
func sampleDown(dst *image.RGBA, dr image.Rectangle, img image.Image, s int) bool {
	var (
		pix    []uint8
		stride int
		lut    *[256][4]uint32 // premultiplied palette, for *image.Paletted
		nrgba  bool
		bpp    = 4
	)
	switch src := img.(type) {
	case *image.NRGBA:
		pix, stride, nrgba = src.Pix, src.Stride, true
	case *image.RGBA:
		pix, stride = src.Pix, src.Stride
	case *image.Paletted:
		pix, stride, bpp = src.Pix, src.Stride, 1
		lut = new([256][4]uint32)
		for i, c := range src.Palette {
			if i >= len(lut) {
				break
			}
			r, g, b, a := c.RGBA()
			lut[i] = [4]uint32{r >> 8, g >> 8, b >> 8, a >> 8}
		}
	default:
		return false
	}
	sb := img.Bounds()
	dw, dh := dr.Dx(), dr.Dy()
	// Byte offsets of the sample columns and rows, at the centres of an
	// even dw*s x dh*s subdivision of the source.
	cols := make([]int, dw*s)
	for i := range cols {
		cols[i] = int((int64(2*i+1) * int64(sb.Dx()) / int64(2*dw*s))) * bpp
	}
	rows := make([]int, dh*s)
	for i := range rows {
		rows[i] = int((int64(2*i+1) * int64(sb.Dy()) / int64(2*dh*s))) * stride
	}
	n := uint32(s * s)
	for y := 0; y < dh; y++ {
		d := dst.Pix[(dr.Min.Y+y)*dst.Stride+dr.Min.X*4:]
		for x := 0; x < dw; x++ {
			var r, g, b, a uint32
			for _, ro := range rows[y*s : y*s+s] {
				line := pix[ro:]
				for _, co := range cols[x*s : x*s+s] {
					switch {
					case lut != nil:
						p := &lut[line[co]]
						r, g, b, a = r+p[0], g+p[1], b+p[2], a+p[3]
					case nrgba:
						p := line[co : co+4 : co+4]
						switch pa := uint32(p[3]); pa {
						case 0:
						case 0xff: // most pixels: no division
							r, g, b, a = r+uint32(p[0]), g+uint32(p[1]), b+uint32(p[2]), a+0xff
						default:
							r += (uint32(p[0])*pa + 127) / 255
							g += (uint32(p[1])*pa + 127) / 255
							b += (uint32(p[2])*pa + 127) / 255
							a += pa
						}
					default:
						p := line[co : co+4 : co+4]
						r, g, b, a = r+uint32(p[0]), g+uint32(p[1]), b+uint32(p[2]), a+uint32(p[3])
					}
				}
			}
			o := d[x*4 : x*4+4 : x*4+4]
			o[0] = uint8((r + n/2) / n)
			o[1] = uint8((g + n/2) / n)
			o[2] = uint8((b + n/2) / n)
			o[3] = uint8((a + n/2) / n)
		}
	}
	return true
}
