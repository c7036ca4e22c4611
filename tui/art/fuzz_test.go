package art

import (
	"image"
	"strings"
	"testing"
	"unicode"
)

// FuzzPlaceholder: any label (display names come from remote peers) gives
// the exact shape and never lets a control character through.
func FuzzPlaceholder(f *testing.F) {
	f.Add("Ada Lovelace", 16, 8, 0)
	f.Add("sip:grace@example.test", 3, 1, 2)
	f.Add("\x1b]52;c;AAAA\x07李小龍", 5, 3, 1)
	f.Fuzz(func(t *testing.T, label string, cols, rows, mode int) {
		cols, rows = cols%80, rows%40
		s := Placeholder(cols, rows, label, Mode(mode%4))
		if cols <= 0 || rows <= 0 {
			if s != "" {
				t.Fatalf("want empty, got %q", s)
			}
			return
		}
		checkShape(t, "fuzz", s, cols, rows)
		plain := strings.ReplaceAll(strings.ReplaceAll(s, placeholderBG, ""), reset, "")
		for _, r := range plain {
			if r != '\n' && unicode.IsControl(r) {
				t.Fatalf("control character %U in %q", r, s)
			}
		}
	})
}

// FuzzRender: any image shape and pixel content renders in the exact shape.
func FuzzRender(f *testing.F) {
	f.Add(uint16(2), uint16(2), []byte{255, 0, 0, 255, 0, 255, 0, 255}, 2, 1, 0)
	f.Add(uint16(300), uint16(1), []byte{1, 2, 3, 4, 5}, 16, 8, 1)
	f.Add(uint16(1), uint16(999), []byte{}, 7, 3, 2)
	f.Fuzz(func(t *testing.T, w, h uint16, pix []byte, cols, rows, mode int) {
		w, h = w%1024, h%1024
		cols, rows = cols%64, rows%32
		img := image.NewNRGBA(image.Rect(0, 0, int(w), int(h)))
		for i := range img.Pix {
			if len(pix) > 0 {
				img.Pix[i] = pix[i%len(pix)]
			}
		}
		s := Render(img, cols, rows, Mode(mode%4))
		checkShape(t, "fuzz", s, max(cols, 0), max(rows, 0))
	})
}
