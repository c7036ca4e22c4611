package art

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/kitty"
)

var kittyAPC = regexp.MustCompile(`\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\`)

// kittyPayload reassembles a chunked kitty transmission: the keys of the
// first chunk and the concatenated base64 payload, checking the chunk rules
// (m=1 on all but the last, payload a multiple of 4, at most 4096 bytes).
func kittyPayload(t *testing.T, s string) (map[string]string, []byte) {
	t.Helper()
	chunks := kittyAPC.FindAllStringSubmatch(s, -1)
	if len(chunks) == 0 {
		t.Fatalf("no kitty graphics sequence in %q", s)
	}
	if strings.Join(kittyAPC.FindAllString(s, -1), "") != s {
		t.Fatalf("stray text between kitty chunks")
	}
	keys := map[string]string{}
	for _, kv := range strings.Split(chunks[0][1], ",") {
		k, v, _ := strings.Cut(kv, "=")
		keys[k] = v
	}
	var b64 strings.Builder
	for i, c := range chunks {
		last := i == len(chunks)-1
		if strings.Contains(c[1], "m=1") == last {
			t.Fatalf("chunk %d of %d has keys %q", i, len(chunks), c[1])
		}
		if len(c[2]) > kitty.MaxChunkSize || (!last && len(c[2])%4 != 0) {
			t.Fatalf("chunk %d has %d bytes", i, len(c[2]))
		}
		b64.WriteString(c[2])
	}
	data, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		t.Fatal(err)
	}
	return keys, data
}

func TestKittyTransmitDecodesToTheIconsPixels(t *testing.T) {
	img := avatar(t)
	for _, p := range []Protocol{KittyPlaceholders, KittyDirect} {
		s, err := Graphics{Protocol: p}.Transmit(7, img, 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		keys, data := kittyPayload(t, s)
		if keys["i"] != "7" || keys["f"] != "100" || keys["q"] != "2" {
			t.Errorf("%v: keys %v", p, keys)
		}
		if p == KittyPlaceholders && (keys["a"] != "T" || keys["U"] != "1" || keys["c"] != "16" || keys["r"] != "8") {
			t.Errorf("placeholders: keys %v, want a virtual placement of 16x8 cells", keys)
		}
		if p == KittyDirect && keys["a"] != "" && keys["a"] != "t" { // a=t is the default
			t.Errorf("direct: keys %v, want transmit only", keys)
		}
		got, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != img.Bounds() {
			t.Fatalf("decoded %v, want %v", got.Bounds(), img.Bounds())
		}
		for y := 0; y < 256; y += 7 {
			for x := 0; x < 256; x += 5 {
				r1, g1, b1, a1 := got.At(x, y).RGBA()
				r2, g2, b2, a2 := img.At(x, y).RGBA()
				if [4]uint32{r1, g1, b1, a1} != [4]uint32{r2, g2, b2, a2} {
					t.Fatalf("pixel (%d,%d): %v, want %v", x, y, got.At(x, y), img.At(x, y))
				}
			}
		}
	}
	if _, err := (Graphics{Protocol: KittyDirect}).Transmit(MaxKittyImageID+1, img, 1, 1); err == nil {
		t.Error("an id beyond 24 bits was accepted")
	}
}

func TestKittyTmuxPassthrough(t *testing.T) {
	s, err := Graphics{Protocol: KittyDirect, Tmux: true}.Transmit(3, avatar(t), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := regexp.MustCompile(`\x1bPtmux;((?:[^\x1b]|\x1b\x1b)*)\x1b\\`)
	var inner strings.Builder
	for _, m := range wrapped.FindAllStringSubmatch(s, -1) {
		inner.WriteString(strings.ReplaceAll(m[1], "\x1b\x1b", "\x1b"))
	}
	if strings.Join(wrapped.FindAllString(s, -1), "") != s {
		t.Fatal("text outside tmux passthrough")
	}
	kittyPayload(t, inner.String())
	if d := (Graphics{Protocol: KittyDirect, Tmux: true}).Delete(3); d != ansi.TmuxPassthrough("\x1b_Ga=d,d=I,i=3,q=2\x1b\\") {
		t.Errorf("delete %q", d)
	}
}

func TestKittyPlaceholderCells(t *testing.T) {
	s := PlaceholderCells(0x0a0b0c, 4, 3)
	checkShape(t, "placeholders", s, 4, 3)
	lines := strings.Split(s, "\n")
	for y, l := range lines {
		if !strings.HasPrefix(l, "\x1b[38;2;10;11;12m") || !strings.HasSuffix(l, "\x1b[39m") {
			t.Fatalf("line %d: %q: the id must be the foreground colour", y, l)
		}
		cells := []rune(strings.TrimSuffix(strings.TrimPrefix(l, "\x1b[38;2;10;11;12m"), "\x1b[39m"))
		for x := 0; x < 4; x++ {
			if cells[3*x] != kitty.Placeholder || cells[3*x+1] != kitty.Diacritic(y) || cells[3*x+2] != kitty.Diacritic(x) {
				t.Fatalf("cell (%d,%d): %q", x, y, string(cells[3*x:3*x+3]))
			}
		}
	}
	place, _ := Graphics{Protocol: KittyDirect}.Place(5, nil, 16, 8)
	if place != "\x1b_Ga=p,i=5,c=16,r=8,C=1,q=2\x1b\\" {
		t.Errorf("direct placement %q", place)
	}
}

// decodeSixel is a minimal DEC sixel decoder: raster attributes, colour
// registers (RGB percentages), colour selection, repeats, carriage return
// and line feed. It returns the painted image and whether any pixel beyond
// the raster size was painted.
func decodeSixel(t *testing.T, s string) *image.RGBA {
	t.Helper()
	if !strings.HasPrefix(s, "\x1bP") || !strings.HasSuffix(s, "\x1b\\") {
		t.Fatalf("not a DCS: %.20q", s)
	}
	body := s[2 : len(s)-2]
	q := strings.IndexByte(body, 'q')
	if q < 0 || body[:q] != "0;1" {
		t.Fatalf("DCS parameters %q, want 0;1 (transparent background)", body[:min(q, 10)])
	}
	data := body[q+1:]
	num := func(i int) (int, int) {
		j := i
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(data[i:j])
		return n, j
	}
	if data[0] != '"' {
		t.Fatalf("no raster attributes: %.20q", data)
	}
	var ps [4]int
	i := 1
	for k := range ps {
		ps[k], i = num(i)
		if k < 3 {
			if data[i] != ';' {
				t.Fatalf("raster attributes %.20q", data)
			}
			i++
		}
	}
	w, h := ps[2], ps[3]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	regs := map[int][3]uint8{}
	cur, x, band := 0, 0, 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '#':
			var n int
			n, i = num(i + 1)
			if i < len(data) && data[i] == ';' {
				var v [4]int
				for k := range v {
					v[k], i = num(i + 1)
				}
				if v[0] != 2 {
					t.Fatalf("colour space %d, want 2 (RGB)", v[0])
				}
				regs[n] = [3]uint8{uint8(v[1] * 255 / 100), uint8(v[2] * 255 / 100), uint8(v[3] * 255 / 100)}
			}
			cur = n
			continue
		case c == '!':
			var n int
			n, i = num(i + 1)
			x = paintSixel(t, img, regs[cur], x, band, data[i], n)
		case c == '$':
			x = 0
		case c == '-':
			x, band = 0, band+1
		case c >= '?' && c <= '~':
			x = paintSixel(t, img, regs[cur], x, band, c, 1)
		default:
			t.Fatalf("unexpected sixel byte %q at %d", c, i)
		}
		i++
	}
	return img
}

func paintSixel(t *testing.T, img *image.RGBA, rgb [3]uint8, x, band int, c byte, n int) int {
	bits := c - '?'
	for k := 0; k < n; k++ {
		for b := 0; b < 6; b++ {
			if bits&(1<<b) == 0 {
				continue
			}
			px, py := x+k, band*6+b
			if !image.Pt(px, py).In(img.Rect) {
				t.Fatalf("sixel pixel (%d,%d) outside %v", px, py, img.Rect)
			}
			img.Pix[img.PixOffset(px, py)], img.Pix[img.PixOffset(px, py)+1], img.Pix[img.PixOffset(px, py)+2], img.Pix[img.PixOffset(px, py)+3] = rgb[0], rgb[1], rgb[2], 255
		}
	}
	return x + n
}

func TestSixelDecodesToTheExpectedSize(t *testing.T) {
	img := avatar(t)
	for _, c := range []struct{ cols, rows, cw, ch int }{{16, 8, 10, 20}, {8, 4, 6, 13}, {32, 16, 0, 0}} {
		s, err := Graphics{Protocol: Sixel, CellWidth: c.cw, CellHeight: c.ch}.Place(0, img, c.cols, c.rows)
		if err != nil {
			t.Fatal(err)
		}
		cw, ch := c.cw, c.ch
		if cw == 0 {
			cw, ch = DefaultCellWidth, DefaultCellHeight
		}
		got := decodeSixel(t, s)
		if w, h := got.Rect.Dx(), got.Rect.Dy(); w != c.cols*cw || h != c.rows*ch {
			t.Fatalf("%+v: sixel is %dx%d pixels, want %dx%d", c, w, h, c.cols*cw, c.rows*ch)
		}
		// The disc's centre is painted in the icon's colour, the corners
		// are left transparent.
		want := fitGrid(img, c.cols*cw, c.rows*ch)
		cx, cy := got.Rect.Dx()/2, got.Rect.Dy()/2+got.Rect.Dy()/8
		g, w := got.RGBAAt(cx, cy), want.RGBAAt(cx, cy)
		if d := absDiff(g.R, w.R) + absDiff(g.G, w.G) + absDiff(g.B, w.B); d > 40 || g.A == 0 {
			t.Errorf("%+v: centre %v, want about %v", c, g, w)
		}
		if got.RGBAAt(0, 0).A != 0 {
			t.Errorf("%+v: transparent corner painted", c)
		}
	}
}

func TestITerm2InlineImage(t *testing.T) {
	s, err := Graphics{Protocol: ITerm2}.Place(0, avatar(t), 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]+)\x07$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("not an inline image: %.60q", s)
	}
	for _, want := range []string{"width=16", "height=8", "inline=1", "doNotMoveCursor=1"} {
		if !strings.Contains(m[1], want) {
			t.Errorf("arguments %q lack %s", m[1], want)
		}
	}
	data, _ := base64.StdEncoding.DecodeString(m[2])
	if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width != 256 {
		t.Errorf("payload: %v, %v", cfg, err)
	}
}

func TestParseProtocol(t *testing.T) {
	for _, p := range []Protocol{KittyPlaceholders, KittyDirect, Sixel, ITerm2} {
		if got, err := ParseProtocol(p.String()); err != nil || got != p {
			t.Errorf("%v: %v, %v", p, got, err)
		}
	}
	if _, err := ParseProtocol("regis"); err == nil {
		t.Error("regis accepted")
	}
	_ = fmt.Sprint
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestImageIDs(t *testing.T) {
	r := NewImageIDs(2)
	a, fresh, ev := r.Acquire("a", 16, 8)
	if !fresh || ev != nil || a == 0 {
		t.Fatalf("first: %d %v %v", a, fresh, ev)
	}
	if again, fresh, _ := r.Acquire("a", 16, 8); again != a || fresh {
		t.Fatalf("same image got %d (fresh %v), want %d again", again, fresh, a)
	}
	b, fresh, _ := r.Acquire("a", 32, 16) // another size is another image
	if !fresh || b == a {
		t.Fatalf("second size: %d %v", b, fresh)
	}
	r.Acquire("a", 16, 8) // a is now the most recently used
	c, fresh, ev := r.Acquire("c", 16, 8)
	if !fresh || len(ev) != 1 || ev[0] != b || c == a || c == b {
		t.Fatalf("eviction: got id %d, evicted %v; want b=%d evicted and a new id", c, ev, b)
	}
	d, _, ev := r.Acquire("d", 16, 8) // evicts a; b's id was freed earlier and is reused
	if len(ev) != 1 || ev[0] != a || d != b {
		t.Fatalf("d=%d evicted %v", d, ev)
	}
	if r.Len() != 2 {
		t.Fatalf("holds %d", r.Len())
	}
	ids := r.Release()
	if len(ids) != 2 || r.Len() != 0 {
		t.Fatalf("release %v, %d left", ids, r.Len())
	}
	if id, fresh, _ := r.Acquire("c", 16, 8); !fresh || id != 1 {
		t.Fatalf("after release: %d %v", id, fresh)
	}
}

// In cells that are not twice as tall as wide, kitty would stretch a square
// icon: the transmitted image is padded with transparency to the cells'
// shape instead.
func TestKittyImageKeepsItsAspect(t *testing.T) {
	s, err := Graphics{Protocol: KittyDirect, CellWidth: 8, CellHeight: 19}.Transmit(1, avatar(t), 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	_, data := kittyPayload(t, s)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// 16x8 cells of 8x19 pixels are 128x152: the 256x256 icon on a 256x304 canvas.
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 304 {
		t.Fatalf("canvas %v, want 256x304", b)
	}
	if _, _, _, a := img.At(128, 10).RGBA(); a != 0 {
		t.Error("padding is not transparent")
	}
	if _, _, _, a := img.At(128, 152).RGBA(); a == 0 {
		t.Error("the icon is not in the middle")
	}
}
