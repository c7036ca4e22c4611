package arttest

import (
	"image"
	"math"
)

// SSIM constants of Wang, Bovik, Sheikh and Simoncelli (2004): an 11x11
// Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range 255.
const (
	ssimRadius = 5
	ssimSigma  = 1.5
	ssimC1     = (0.01 * 255) * (0.01 * 255)
	ssimC2     = (0.03 * 255) * (0.03 * 255)
)

// SSIM returns the structural similarity of two images of the same size,
// averaged over the R, G and B channels and over every window that fits
// (1 is identical). Transparent pixels count as black. SSIM compares local
// means, contrasts and correlations, so it rewards the edges and shapes
// that make a face recognisable rather than a pixel-exact colour, and it is
// not the measure symbol art optimises, so it does not favour it by design.
func SSIM(a, b *image.RGBA) float64 {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	if b.Rect.Dx() != w || b.Rect.Dy() != h || w < 2*ssimRadius+1 || h < 2*ssimRadius+1 {
		return math.NaN()
	}
	var kernel [2*ssimRadius + 1]float64
	var ksum float64
	for i := range kernel {
		d := float64(i - ssimRadius)
		kernel[i] = math.Exp(-d * d / (2 * ssimSigma * ssimSigma))
		ksum += kernel[i]
	}
	for i := range kernel {
		kernel[i] /= ksum
	}
	var total float64
	const nch = 3
	for ch := 0; ch < nch; ch++ {
		x := channel(a, ch)
		y := channel(b, ch)
		mx, my := blur(x, w, h, kernel[:]), blur(y, w, h, kernel[:])
		xx, yy, xy := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
		for i := range x {
			xx[i], yy[i], xy[i] = x[i]*x[i], y[i]*y[i], x[i]*y[i]
		}
		sxx, syy, sxy := blur(xx, w, h, kernel[:]), blur(yy, w, h, kernel[:]), blur(xy, w, h, kernel[:])
		var sum float64
		n := 0
		for py := ssimRadius; py < h-ssimRadius; py++ {
			for px := ssimRadius; px < w-ssimRadius; px++ {
				i := py*w + px
				vx := sxx[i] - mx[i]*mx[i]
				vy := syy[i] - my[i]*my[i]
				cov := sxy[i] - mx[i]*my[i]
				sum += (2*mx[i]*my[i] + ssimC1) * (2*cov + ssimC2) /
					((mx[i]*mx[i] + my[i]*my[i] + ssimC1) * (vx + vy + ssimC2))
				n++
			}
		}
		total += sum / float64(n)
	}
	return total / float64(nch)
}

func channel(img *image.RGBA, ch int) []float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			out[y*w+x] = float64(row[x*4+ch])
		}
	}
	return out
}

// blur convolves v with the separable kernel, clamping at the edges (only
// the windows that fit are scored, so the clamping never counts).
func blur(v []float64, w, h int, k []float64) []float64 {
	r := len(k) / 2
	tmp := make([]float64, len(v))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for i, kv := range k {
				xx := min(max(x+i-r, 0), w-1)
				s += kv * v[y*w+xx]
			}
			tmp[y*w+x] = s
		}
	}
	out := make([]float64, len(v))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for i, kv := range k {
				yy := min(max(y+i-r, 0), h-1)
				s += kv * tmp[yy*w+x]
			}
			out[y*w+x] = s
		}
	}
	return out
}

// MSE returns the mean squared error per R, G and B sample of two images of
// the same size (0 is identical, 65025 the worst).
func MSE(a, b *image.RGBA) float64 {
	if a.Rect.Size() != b.Rect.Size() {
		return math.NaN()
	}
	var sum float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := 0; y < h; y++ {
		ra, rb := a.Pix[y*a.Stride:], b.Pix[y*b.Stride:]
		for x := 0; x < w*4; x++ {
			if x%4 == 3 {
				continue
			}
			d := float64(ra[x]) - float64(rb[x])
			sum += d * d
		}
	}
	return sum / float64(w*h*3)
}
