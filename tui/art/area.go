package art

import (
	"image"
	"image/draw"
	"math"
)

// maxFilterSide bounds the source fitArea filters directly: a larger image
// (a camera photo given to "sipbuddy art") is first shrunk to this side by
// point sampling, which bounds the filter's buffer to a few MiB.
const maxFilterSide = 1024

// fitArea scales img into a new w x h canvas (premultiplied RGBA) whose
// pixels are pw units wide and ph units tall, keeping the image's aspect
// ratio in units, centred, the rest transparent. Every canvas pixel is the
// exact average of its units after a Catmull-Rom resampling to whole units
// (the filter of the fidelity benchmark's reference: sharper than a box,
// without the aliasing of point sampling at the uneven 1.33:1 a 256-pixel
// icon meets at 32x16 cells), so the colours symbol art derives from it are
// exact means of what a sharp downscale shows. Both steps are one separable
// filter.
func fitArea(img image.Image, w, h, pw, ph int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := img.Bounds()
	if sb.Dx() > maxFilterSide || sb.Dy() > maxFilterSide {
		img = fitGrid(img, min(sb.Dx(), maxFilterSide), min(sb.Dy(), maxFilterSide))
		img = trimTransparentBorder(img.(*image.RGBA))
		sb = img.Bounds()
	}
	sw, sh := int64(sb.Dx()), int64(sb.Dy())
	uw, uh := int64(w*pw), int64(h*ph)
	var dw, dh int
	if sw*uh <= sh*uw {
		dh = h
		dw = int((sw*uh*2 + sh*int64(pw)) / (2 * sh * int64(pw))) // rounded sw*uh/sh/pw
	} else {
		dw = w
		dh = int((sh*uw*2 + sw*int64(ph)) / (2 * sw * int64(ph)))
	}
	dw = max(1, min(dw, w))
	dh = max(1, min(dh, h))
	dr := image.Rect((w-dw)/2, (h-dh)/2, (w-dw)/2+dw, (h-dh)/2+dh)
	filterScale(dst, dr, img, filterTaps(int(sw), dw, pw), filterTaps(int(sh), dh, ph))
	return dst
}

// trimTransparentBorder undoes fitGrid's centring (the margins it leaves
// are fully transparent and would otherwise be fitted again).
func trimTransparentBorder(img *image.RGBA) image.Image {
	r := img.Rect
	opaqueRow := func(y int) bool {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.Pix[img.PixOffset(x, y)+3] != 0 {
				return true
			}
		}
		return false
	}
	opaqueCol := func(x int) bool {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if img.Pix[img.PixOffset(x, y)+3] != 0 {
				return true
			}
		}
		return false
	}
	for r.Dy() > 1 && !opaqueRow(r.Min.Y) && !opaqueRow(r.Max.Y-1) {
		r.Min.Y++
		r.Max.Y--
	}
	for r.Dx() > 1 && !opaqueCol(r.Min.X) && !opaqueCol(r.Max.X-1) {
		r.Min.X++
		r.Max.X--
	}
	return img.SubImage(r)
}

// tap is the source span of one output pixel along one axis.
type tap struct {
	first   int
	weights []float32 // per source pixel from first, summing to 1
}

// catmullRom is the Catmull-Rom cubic (B=0, C=1/2), support [-2, 2].
func catmullRom(t float64) float64 {
	t = math.Abs(t)
	switch {
	case t < 1:
		return (1.5*t-2.5)*t*t + 1
	case t < 2:
		return ((-0.5*t+2.5)*t-4)*t + 2
	}
	return 0
}

// filterTaps maps src pixels to dst output pixels of k units each: the
// average of the Catmull-Rom taps of the output's k units (the kernel widened
// by the shrink factor so every source pixel counts). Edges repeat the
// border pixel.
func filterTaps(src, dst, k int) []tap {
	units := dst * k
	scale := float64(src) / float64(units)
	support := 2 * max(scale, 1)
	taps := make([]tap, dst)
	acc := make([]float64, src)
	for o := range taps {
		clear(acc)
		lo, hi := src, -1
		for u := o * k; u < (o+1)*k; u++ {
			c := (float64(u)+0.5)*scale - 0.5
			var sum float64
			first, last := int(math.Ceil(c-support)), int(math.Floor(c+support))
			for i := first; i <= last; i++ {
				sum += catmullRom((float64(i) - c) / max(scale, 1))
			}
			for i := first; i <= last; i++ {
				j := min(max(i, 0), src-1)
				acc[j] += catmullRom((float64(i)-c)/max(scale, 1)) / sum / float64(k)
				lo, hi = min(lo, j), max(hi, j)
			}
		}
		ws := make([]float32, hi-lo+1)
		for j := range ws {
			ws[j] = float32(acc[lo+j])
		}
		taps[o] = tap{lo, ws}
	}
	return taps
}

// filterScale filters img (its whole bounds) into dst's rectangle dr, with
// the taps of each output column (xt) and row (yt).
func filterScale(dst *image.RGBA, dr image.Rectangle, img image.Image, xt, yt []tap) {
	sb := img.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	dw := dr.Dx()
	rgba, direct := img.(*image.RGBA)
	// One premultiplied source row at a time: draw.Draw has fast paths
	// for the decoders' types (NRGBA, YCbCr, Paletted).
	row := image.NewRGBA(image.Rect(0, 0, sw, 1))
	// Horizontal pass: every source row filtered to dw pixels.
	rows := make([]float32, sh*dw*4)
	for y := 0; y < sh; y++ {
		var line []uint8
		if direct {
			line = rgba.Pix[rgba.PixOffset(sb.Min.X, sb.Min.Y+y):]
		} else {
			draw.Draw(row, row.Rect, img, image.Pt(sb.Min.X, sb.Min.Y+y), draw.Src)
			line = row.Pix
		}
		out := rows[y*dw*4 : (y+1)*dw*4]
		for x, t := range xt {
			var r, g, b, a float32
			p := line[t.first*4:]
			for j, wt := range t.weights {
				q := p[j*4 : j*4+4 : j*4+4]
				r += wt * float32(q[0])
				g += wt * float32(q[1])
				b += wt * float32(q[2])
				a += wt * float32(q[3])
			}
			out[x*4], out[x*4+1], out[x*4+2], out[x*4+3] = r, g, b, a
		}
	}
	// Vertical pass. Catmull-Rom overshoots at edges; clamping colour to
	// alpha keeps the result valid premultiplied RGBA.
	for y, t := range yt {
		d := dst.Pix[(dr.Min.Y+y)*dst.Stride+dr.Min.X*4:]
		for x := 0; x < dw; x++ {
			var r, g, b, a float32
			for j, wt := range t.weights {
				q := rows[((t.first+j)*dw+x)*4:]
				r += wt * q[0]
				g += wt * q[1]
				b += wt * q[2]
				a += wt * q[3]
			}
			o := d[x*4 : x*4+4 : x*4+4]
			o[3] = round8(a)
			o[0], o[1], o[2] = min(round8(r), o[3]), min(round8(g), o[3]), min(round8(b), o[3])
		}
	}
}

func round8(v float32) uint8 { return uint8(min(max(v+0.5, 0), 255)) }
