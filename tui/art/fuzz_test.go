package art

import (
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
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
		s := Placeholder(cols, rows, label, Mode(mode%5))
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
// FuzzReconstruct: playback of any text never panics, and art it accepts
// has the size it was asked for.
func FuzzReconstruct(f *testing.F) {
	f.Add("\x1b[38;2;1;2;3;48;5;17m🬓▀\x1b[m", 2, 1)
	f.Add("\x1b[7m\x1b[38;5;300m ", 1, 1)
	f.Add("ab\ncd", 2, 2)
	f.Fuzz(func(t *testing.T, s string, cols, rows int) {
		cols, rows = cols%64, rows%32
		if cols <= 0 || rows <= 0 {
			return
		}
		img, err := arttest.Reconstruct(s, cols, rows)
		if err == nil && (img.Rect.Dx() != cols*glyph.CellW || img.Rect.Dy() != rows*glyph.CellH) {
			t.Fatalf("%v for %dx%d", img.Rect, cols, rows)
		}
	})
}

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
		s := Render(img, cols, rows, Mode(mode%5))
		checkShape(t, "fuzz", s, max(cols, 0), max(rows, 0))
	})
}
