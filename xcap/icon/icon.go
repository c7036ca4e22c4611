// Package icon validates, decodes, fits and encodes buddy icons, and reads and
// writes the OMA pres-content document (urn:oma:xml:prs:pres-content) that
// carries an icon on an XCAP server.
//
// Every image entry point reads the image header first and rejects oversized
// files and pixel counts before a single pixel is decoded, so a 40-byte PNG
// claiming 30000x30000 pixels fails at once instead of allocating gigabytes.
package icon

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"golang.org/x/image/webp"
)

// Format is an image container format.
type Format string

// The formats icons can be read in. Icons are written as png, jpeg or gif;
// webp is accepted on input and written as png (OpenXCAP allows only
// image/jpeg, image/gif and image/png).
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
	GIF  Format = "gif"
	WebP Format = "webp"
)

// MIMEType returns the media type of the format ("image/png"), or "" for an
// unknown format.
func (f Format) MIMEType() string {
	switch f {
	case PNG, JPEG, GIF, WebP:
		return "image/" + string(f)
	}
	return ""
}

// Ext returns the usual file-name extension without the dot ("png", "jpg").
func (f Format) Ext() string {
	if f == JPEG {
		return "jpg"
	}
	return string(f)
}

// EncodedFormat is the format Encode writes for f: f itself, except that webp
// (which Go cannot encode and OpenXCAP does not accept) becomes png.
func (f Format) EncodedFormat() Format {
	if f == WebP {
		return PNG
	}
	return f
}

// FormatFromMIME maps a media type ("image/jpeg", "IMAGE/PNG; x=y") to its
// format. "image/jpg" and "image/pjpeg" are accepted as jpeg because real
// clients send them.
func FormatFromMIME(mime string) (Format, bool) {
	mime, _, _ = strings.Cut(mime, ";")
	switch strings.ToLower(strings.TrimSpace(mime)) {
	case "image/png", "image/x-png":
		return PNG, true
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return JPEG, true
	case "image/gif":
		return GIF, true
	case "image/webp":
		return WebP, true
	}
	return "", false
}

// Sniff detects a supported format from the magic bytes at the start of data.
func Sniff(data []byte) (Format, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, true
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return JPEG, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF, true
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP, true
	}
	return "", false
}

// sniffUnsupported names well-known image formats this package does not
// read, so the user is told "unsupported image format tiff" instead of the
// misleading "not an image".
func sniffUnsupported(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case len(data) >= 18 && data[0] == 'B' && data[1] == 'M' && data[15] == 0 && data[16] == 0 && data[17] == 0 &&
		(data[14] == 12 || data[14] == 40 || data[14] == 56 || data[14] == 108 || data[14] == 124):
		return "bmp"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "mif1", "msf1":
			return "heic"
		case "avif", "avis":
			return "avif"
		}
	case bytes.HasPrefix(data, []byte("\x00\x00\x01\x00")) && len(data) >= 6 && data[4] != 0:
		return "ico"
	case bytes.HasPrefix(data, []byte("\xff\x0a")), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "jxl"
	}
	head := data[:min(len(data), 1024)]
	if bytes.Contains(head, []byte("<svg")) {
		return "svg"
	}
	return ""
}

// Limits bound what Check and Decode accept.
type Limits struct {
	MaxBytes  int64 // size of the encoded image
	MaxPixels int64 // width*height
	MaxSide   int   // the larger of width and height
	// MaxDecodedBytes bounds the memory a decode allocates (pixels times
	// the bytes per pixel the header's bit depth and channels call for):
	// a 2048x2048 PNG passes a pixel limit in 8 bits a channel and takes
	// twice as much in 16.
	MaxDecodedBytes int64
}

// Limits for icons received from others (watchers' and buddies' icons).
const (
	DefaultMaxBytes  = 1 << 20  // 1 MiB: a 256x256 icon is far smaller
	DefaultMaxSide   = 4096     // pixels
	DefaultMaxPixels = 16 << 20 // 16 Mpx (4096x4096)
	// DefaultMaxDecodedBytes is 16 Mpx at 4 bytes a pixel (8-bit RGBA).
	DefaultMaxDecodedBytes = 64 << 20
	UploadMaxBytes         = 20 << 20   // 20 MiB: the largest file xcap-icon/PutIcon reads
	UploadMaxSide          = 16384      // pixels; enough for any camera photo
	UploadMaxPixels        = 50_000_000 // 50 Mpx: bounds decode memory (about 200 MB as RGBA)
	// Side is the edge of the square icon stored on the server (OpenXCAP's
	// historical maximum).
	Side = 256
)

// DefaultLimits is generous for decoding the icons of others.
var DefaultLimits = Limits{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels, MaxSide: DefaultMaxSide,
	MaxDecodedBytes: DefaultMaxDecodedBytes}

// UploadLimits bounds a local file offered for upload (it is fitted to Side
// before it leaves the machine).
var UploadLimits = Limits{MaxBytes: UploadMaxBytes, MaxPixels: UploadMaxPixels, MaxSide: UploadMaxSide}

// Config is what the image header says.
type Config struct {
	Format        Format
	Width, Height int
	// DecodedBytes is the memory a decode of the image takes at most.
	DecodedBytes int64
}

// ErrNotImage means the data is not an image in any format this package
// knows (or its header is damaged).
var ErrNotImage = errors.New("not an image")

// ErrUnsupportedFormat means the data (or a declared MIME type) is an image
// format this package cannot read.
var ErrUnsupportedFormat = errors.New("unsupported image format")

// What an *xmltree.LimitError from this package is about (its What).
const (
	WhatBytes     = "image size"                     // encoded image bytes
	WhatSide      = "image side"                     // width or height
	WhatPixels    = "image area"                     // width*height
	WhatDecoded   = "the memory to decode it"        // bytes of the decoded image
	WhatDocument  = xmltree.WhatSize                 // pres-content XML bytes
	WhatDataChars = "icon data in base64 characters" // base64 characters in <data>
	WhatBody      = "response size"                  // HTTP body bytes
	WhatFile      = "file size"                      // local file bytes
)

// pixelError is the *xmltree.LimitError for an image over a pixel limit,
// with a message that names the image's dimensions.
func pixelError(c image.Config, what string, n, limit int64) error {
	return &pixelLimitError{c: c, limit: &xmltree.LimitError{What: what, Limit: limit, Actual: n, Unit: xmltree.Pixels}}
}

type pixelLimitError struct {
	c     image.Config
	limit *xmltree.LimitError
}

func (e *pixelLimitError) Error() string {
	if e.limit.What == WhatDecoded {
		return fmt.Sprintf("image is %dx%d pixels: %v", e.c.Width, e.c.Height, e.limit)
	}
	if e.limit.What == WhatSide {
		return fmt.Sprintf("image is %dx%d pixels, the limit is %d pixels a side", e.c.Width, e.c.Height, e.limit.Limit)
	}
	return fmt.Sprintf("image is %dx%d pixels (%s), the limit is %s", e.c.Width, e.c.Height, megapixels(e.limit.Actual), megapixels(e.limit.Limit))
}

func (e *pixelLimitError) Unwrap() error { return e.limit }

func megapixels(n int64) string {
	return fmt.Sprintf("%.1f megapixels", float64(n)/1e6)
}

// Check reads only the image header and enforces l: it never decodes a pixel,
// so it is cheap and safe on hostile input. A zero field in l means no limit
// on that value.
func Check(data []byte, l Limits) (Config, error) {
	if l.MaxBytes > 0 && int64(len(data)) > l.MaxBytes {
		return Config{}, xmltree.TooLarge(WhatBytes, int64(len(data)), l.MaxBytes)
	}
	f, ok := Sniff(data)
	if !ok {
		if name := sniffUnsupported(data); name != "" {
			return Config{}, fmt.Errorf("%w %s (supported: png, jpeg, gif, webp)", ErrUnsupportedFormat, name)
		}
		return Config{}, ErrNotImage
	}
	var (
		c   image.Config
		err error
	)
	r := bytes.NewReader(data)
	switch f {
	case PNG:
		c, err = png.DecodeConfig(r)
	case JPEG:
		c, err = jpeg.DecodeConfig(r)
	case GIF:
		c, err = gif.DecodeConfig(r)
	case WebP:
		c, err = webp.DecodeConfig(r)
	}
	if err != nil {
		return Config{}, fmt.Errorf("%w (damaged %s header: %v)", ErrNotImage, f, err)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return Config{}, fmt.Errorf("%w (%s header claims %dx%d pixels)", ErrNotImage, f, c.Width, c.Height)
	}
	if l.MaxSide > 0 && (c.Width > l.MaxSide || c.Height > l.MaxSide) {
		return Config{}, pixelError(c, WhatSide, int64(max(c.Width, c.Height)), int64(l.MaxSide))
	}
	if px := int64(c.Width) * int64(c.Height); l.MaxPixels > 0 && px > l.MaxPixels {
		return Config{}, pixelError(c, WhatPixels, px, l.MaxPixels)
	}
	decoded := decodedBytes(data, f, c.Width, c.Height)
	if l.MaxDecodedBytes > 0 && decoded > l.MaxDecodedBytes {
		return Config{}, &pixelLimitError{c: c, limit: &xmltree.LimitError{What: WhatDecoded, Limit: l.MaxDecodedBytes, Actual: decoded, Unit: xmltree.Bytes}}
	}
	return Config{Format: f, Width: c.Width, Height: c.Height, DecodedBytes: decoded}, nil
}

// Decode checks the header against l, then decodes the image. For an
// animated GIF only the first frame is decoded.
func Decode(data []byte, l Limits) (image.Image, Format, error) {
	c, err := Check(data, l)
	if err != nil {
		return nil, "", err
	}
	var img image.Image
	r := bytes.NewReader(data)
	switch c.Format {
	case PNG:
		img, err = png.Decode(r)
	case JPEG:
		img, err = jpeg.Decode(r)
	case GIF:
		img, err = gif.Decode(r) // stops after the first frame
	case WebP:
		img, err = webp.Decode(r)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w (damaged %s data: %v)", ErrNotImage, c.Format, err)
	}
	if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height {
		// The header was checked, not the decoded frame; never hand out
		// something larger than what passed the limits.
		if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > c.Width || b.Dy() > c.Height {
			return nil, "", fmt.Errorf("%w (%s frame is %dx%d, header says %dx%d)", ErrNotImage, c.Format, b.Dx(), b.Dy(), c.Width, c.Height)
		}
	}
	return img, c.Format, nil
}
