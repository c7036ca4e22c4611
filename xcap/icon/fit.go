package icon

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
)

// JPEGQuality is the quality Encode writes JPEG icons with: a 256x256 photo
// stays around 20-40 KB, far below every server's limit.
const JPEGQuality = 90

// Fit returns img as a side x side square without distorting it: the image is
// scaled so that its shorter edge equals side and the centre square is kept
// (centre-crop, like the avatars of most messengers). Cropping rather than
// padding means the result is the same for every output format: no
// transparent bars that would turn black in a JPEG, no white bars that would
// show on a dark terminal. Smaller images are scaled up so every stored icon
// has the same size. Catmull-Rom is used for quality; it runs once per upload.
func Fit(img image.Image, side int) *image.RGBA {
	if side <= 0 {
		side = Side
	}
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return dst
	}
	edge := min(w, h)
	x0 := b.Min.X + (w-edge)/2
	y0 := b.Min.Y + (h-edge)/2
	src := image.Rect(x0, y0, x0+edge, y0+edge)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, src, draw.Src, nil)
	return dst
}

// Encode writes img in format f (webp is written as png, see
// Format.EncodedFormat).
func Encode(img image.Image, f Format) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch f.EncodedFormat() {
	case PNG:
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		err = enc.Encode(&buf, img)
	case JPEG:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality})
	case GIF:
		// Plan 9 palette with Floyd-Steinberg dithering (gif's defaults).
		err = gif.Encode(&buf, img, &gif.Options{NumColors: 256})
	default:
		return nil, fmt.Errorf("%w %q", ErrUnsupportedFormat, string(f))
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", f.EncodedFormat(), err)
	}
	return buf.Bytes(), nil
}
