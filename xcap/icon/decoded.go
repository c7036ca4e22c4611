package icon

import (
	"bytes"
	"encoding/binary"
)

// Worst-case bytes per pixel of the images Go's decoders build, for the
// headers that do not say more (and for headers this file cannot read).
const (
	// maxPNGBytesPerPixel is RGBA64/NRGBA64: 16-bit colour.
	maxPNGBytesPerPixel = 8
	// maxJPEGBytesPerPixel is a progressive CMYK JPEG: the YCbCr and
	// black planes, the CMYK image they become, and 4 bytes of DCT
	// coefficients per component.
	maxJPEGBytesPerPixel = 3 + 1 + 4 + 4*4
	// webpBytesPerPixel is NRGBA, what lossless WebP decodes to (lossy
	// decodes to less).
	webpBytesPerPixel = 4
	// gifBytesPerPixel is one palette index: only the first frame is
	// decoded.
	gifBytesPerPixel = 1
)

// decodedBytes is the memory the decoder of format f will allocate for a
// width×height image, read from the header only: PNG bit depth, colour
// type, transparency and interlacing; JPEG components and progressive
// coding. Where it cannot tell, it assumes the worst, so a refusal may be
// too strict but a decode never allocates more than this says.
func decodedBytes(data []byte, f Format, width, height int) int64 {
	px := int64(width) * int64(height)
	switch f {
	case PNG:
		return px * pngBytesPerPixel(data) * pngInterlaceFactor(data) / 2
	case JPEG:
		return px * jpegBytesPerPixel(data)
	case GIF:
		return px * gifBytesPerPixel
	}
	return px * webpBytesPerPixel
}

// PNG colour types (PNG spec §11.2.2).
const (
	pngGray      = 0
	pngTrueColor = 2
	pngPaletted  = 3
	pngGrayAlpha = 4
	pngRGBA      = 6
)

// pngBytesPerPixel follows image/png: 8-bit gray becomes Gray, 16-bit gray
// Gray16, paletted Paletted, everything else RGBA/NRGBA (4) or
// RGBA64/NRGBA64 (8); a tRNS chunk turns gray into NRGBA. The IHDR chunk
// is always the first (the decoder refuses anything else), at offset 8.
func pngBytesPerPixel(data []byte) int64 {
	if len(data) < 29 || string(data[12:16]) != "IHDR" {
		return maxPNGBytesPerPixel
	}
	depth, colour := data[24], data[25]
	wide := depth == 16
	transparent := bytes.Contains(data, []byte("tRNS"))
	switch colour {
	case pngPaletted:
		return 1
	case pngGray:
		switch {
		case transparent && wide:
			return 8
		case transparent:
			return 4
		case wide:
			return 2
		}
		return 1
	case pngTrueColor, pngGrayAlpha, pngRGBA:
		if wide {
			return 8
		}
		return 4
	}
	return maxPNGBytesPerPixel
}

// pngInterlaceFactor is twice the peak memory of a decode relative to its
// image: 2 (×1) for a plain PNG, 3 (×1.5) for Adam7, which image/png
// decodes pass by pass into images of their own and then merges.
func pngInterlaceFactor(data []byte) int64 {
	if len(data) < 29 || data[28] != 0 {
		return 3
	}
	return 2
}

// jpegBytesPerPixel reads the frame header (SOFn): its component count
// and whether it is progressive, for which image/jpeg keeps every DCT
// coefficient (64 int32 per 8×8 block and component) until the end.
func jpegBytesPerPixel(data []byte) int64 {
	components, progressive, ok := jpegFrame(data)
	if !ok {
		return maxJPEGBytesPerPixel
	}
	var n int64
	switch components {
	case 1:
		n = 1
	case 3:
		n = 3 // YCbCr, as if not subsampled
	case 4:
		n = 3 + 1 + 4
	default:
		return maxJPEGBytesPerPixel
	}
	if progressive {
		n += 4 * int64(components)
	}
	return n
}

// jpegFrame walks the marker segments from SOI to the first SOFn.
func jpegFrame(data []byte) (components int, progressive, ok bool) {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return 0, false, false
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd7: // no length
			i += 2
			continue
		case marker == 0xd9 || marker == 0xda: // EOI or SOS before any frame
			return 0, false, false
		}
		length := int(binary.BigEndian.Uint16(data[i+2:]))
		if length < 2 {
			return 0, false, false
		}
		isFrame := marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc
		if isFrame {
			// length(2) precision(1) height(2) width(2) components(1)
			if i+9 >= len(data) {
				return 0, false, false
			}
			prog := marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
			return int(data[i+9]), prog, true
		}
		i += 2 + length
	}
	return 0, false, false
}
