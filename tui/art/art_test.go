package art

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

var allModes = []Mode{HalfBlock, ASCII, Plain, Symbols}

func solid(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

// avatar draws a 256x256 disc with a face on a transparent background, then
// round-trips it through PNG so the benchmark sees what decoding gives.
func avatar(tb testing.TB) image.Image {
	const n = 256
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := x-n/2, y-n/2
			switch {
			case dx*dx+dy*dy > (n/2-4)*(n/2-4):
			case (dx+40)*(dx+40)+(dy+30)*(dy+30) < 300 || (dx-40)*(dx-40)+(dy+30)*(dy+30) < 300:
				img.Set(x, y, color.NRGBA{20, 20, 40, 255})
			case dy > 30 && dy < 45 && dx > -50 && dx < 50:
				img.Set(x, y, color.NRGBA{200, 40, 60, 255})
			default:
				img.Set(x, y, color.NRGBA{uint8(x), 120, uint8(255 - y), 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	dec, err := png.Decode(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	return dec
}

// checkShape fails unless s has exactly rows lines of exactly cols cells.
func checkShape(t *testing.T, name, s string, cols, rows int) {
	t.Helper()
	if rows == 0 || cols == 0 {
		if s != "" {
			t.Errorf("%s: want empty string for %dx%d, got %q", name, cols, rows, s)
		}
		return
	}
	lines := strings.Split(s, "\n")
	if len(lines) != rows {
		t.Fatalf("%s: %d lines, want %d:\n%s", name, len(lines), rows, s)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != cols {
			t.Fatalf("%s: line %d is %d cells wide, want %d: %q", name, i, w, cols, l)
		}
	}
}

func TestRenderShapeAnyImageAnySize(t *testing.T) {
	var empty image.Image = image.NewNRGBA(image.Rect(0, 0, 0, 0))
	offset := solid(40, 40, color.NRGBA{0, 200, 0, 255}).SubImage(image.Rect(13, 7, 31, 40))
	images := map[string]image.Image{
		"nil":         nil,
		"empty":       empty,
		"1x1":         solid(1, 1, color.NRGBA{255, 0, 0, 255}),
		"2x2":         solid(2, 2, color.NRGBA{0, 0, 255, 255}),
		"wide":        solid(1000, 1, color.NRGBA{255, 255, 0, 255}),
		"tall":        solid(1, 1000, color.NRGBA{255, 0, 255, 255}),
		"transparent": solid(10, 10, color.NRGBA{}),
		"halfalpha":   solid(7, 3, color.NRGBA{100, 100, 100, 90}),
		"offset":      offset,
		"gray":        image.NewGray(image.Rect(0, 0, 5, 9)),
		"avatar":      avatar(t),
	}
	sizes := [][2]int{{0, 0}, {0, 3}, {3, 0}, {-1, -1}, {1, 1}, {2, 1}, {1, 2}, {3, 5}, {16, 8}, {17, 9}, {32, 16}, {80, 3}, {5, 40}}
	for name, img := range images {
		for _, m := range allModes {
			for _, sz := range sizes {
				s := Render(img, sz[0], sz[1], m)
				checkShape(t, fmt.Sprintf("%s/%v/%dx%d", name, m, sz[0], sz[1]), s, max(sz[0], 0), max(sz[1], 0))
			}
		}
	}
}

func TestRenderClampsHugeSizes(t *testing.T) {
	s := Render(solid(2, 2, color.White), MaxCols+100, MaxRows+50, Plain)
	checkShape(t, "huge", s, MaxCols, MaxRows)
}

// The exact bytes of a 2x2 image drawn in one row of two cells: each cell
// carries its top pixel as foreground and its bottom pixel as background.
func TestHalfBlockExactSGR(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	img.Set(1, 0, color.NRGBA{0, 255, 0, 255})
	img.Set(0, 1, color.NRGBA{0, 0, 255, 255})
	img.Set(1, 1, color.NRGBA{255, 255, 255, 255})
	got := Render(img, 2, 1, HalfBlock)
	want := "\x1b[38;2;255;0;0;48;2;0;0;255m▀\x1b[38;2;0;255;0;48;2;255;255;255m▀\x1b[m"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestHalfBlockDoesNotRepeatColours(t *testing.T) {
	got := Render(solid(8, 8, color.NRGBA{10, 20, 30, 255}), 8, 4, HalfBlock)
	line := "\x1b[48;2;10;20;30m" + strings.Repeat(" ", 8) + "\x1b[m"
	want := strings.Repeat(line+"\n", 3) + line
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestHalfBlockTransparency(t *testing.T) {
	// Fully transparent: plain spaces, no colour at all.
	if got := Render(solid(4, 4, color.NRGBA{255, 0, 0, 0}), 4, 2, HalfBlock); got != "    \n    " {
		t.Fatalf("transparent image: got %q", got)
	}
	// Opaque top over transparent bottom: only a foreground, the terminal's
	// own background shows through the lower half.
	img := image.NewNRGBA(image.Rect(0, 0, 1, 2))
	img.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	if got, want := Render(img, 1, 1, HalfBlock), "\x1b[38;2;1;2;3m▀\x1b[m"; got != want {
		t.Fatalf("top only: got %q want %q", got, want)
	}
	img = image.NewNRGBA(image.Rect(0, 0, 1, 2))
	img.Set(0, 1, color.NRGBA{100, 150, 200, 204})
	if got, want := Render(img, 1, 1, HalfBlock), "\x1b[38;2;100;150;200m▄\x1b[m"; got != want {
		t.Fatalf("bottom only (alpha 204): got %q want %q", got, want)
	}
	// Mostly transparent pixels are not drawn.
	if got := Render(solid(2, 2, color.NRGBA{255, 255, 255, 100}), 2, 1, HalfBlock); got != "  " {
		t.Fatalf("alpha 100: got %q", got)
	}
}

// A 4:1 image keeps its aspect: in a 16x8 cell square it covers 16x4 pixels,
// that is the middle two rows, and the rest is blank.
func TestRenderKeepsAspect(t *testing.T) {
	got := strings.Split(Render(solid(400, 100, color.NRGBA{200, 0, 0, 255}), 16, 8, HalfBlock), "\n")
	for i, l := range got {
		coloured := strings.Contains(l, "\x1b[")
		if want := i == 3 || i == 4; coloured != want {
			t.Errorf("row %d coloured=%v, want %v: %q", i, coloured, want, l)
		}
	}
	got = strings.Split(Render(solid(100, 400, color.White), 16, 8, Plain), "\n")
	for i, l := range got {
		if want := "      @@@@      "; l != want {
			t.Errorf("tall image row %d: %q, want %q", i, l, want)
		}
	}
}

func TestPlainHasNoEscapes(t *testing.T) {
	for _, img := range []image.Image{nil, avatar(t), solid(3, 3, color.NRGBA{255, 0, 0, 128})} {
		s := Render(img, 16, 8, Plain)
		if strings.ContainsRune(s, '\x1b') {
			t.Fatalf("plain output has ESC: %q", s)
		}
	}
	if got := Render(solid(2, 2, color.White), 2, 1, Plain); got != "@@" {
		t.Fatalf("white: %q", got)
	}
	if got := Render(solid(2, 2, color.Black), 2, 1, Plain); got != "  " {
		t.Fatalf("black: %q", got)
	}
	if s := Placeholder(16, 8, "\x1b[31mMallory\x07 Evil", Plain); strings.ContainsAny(s, "\x1b\x07") {
		t.Fatalf("placeholder leaks control bytes: %q", s)
	}
}

func TestASCIIUsesImage2ASCIIColours(t *testing.T) {
	s := Render(solid(10, 10, color.NRGBA{255, 255, 255, 255}), 4, 2, ASCII)
	cell := "\x1b[38;5;231m@\x1b[0;00m"
	if want := strings.Repeat(cell, 4) + "\n" + strings.Repeat(cell, 4); s != want {
		t.Fatalf("got  %q\nwant %q", s, want)
	}
}

// image2ascii's default options exec stty and log.Fatal when stdout is not a
// terminal. Run ASCII rendering in a child process whose stdout is a pipe:
// it must finish normally.
func TestASCIINeverTouchesTheTerminal(t *testing.T) {
	if os.Getenv("ART_ASCII_CHILD") == "1" {
		for _, sz := range [][2]int{{1, 1}, {16, 8}, {40, 3}} {
			fmt.Println(len(Render(avatar(t), sz[0], sz[1], ASCII)) > 0)
		}
		fmt.Println(len(Placeholder(16, 8, "x", ASCII)) > 0)
		fmt.Println("child-done")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestASCIINeverTouchesTheTerminal$", "-test.v")
	cmd.Env = append(os.Environ(), "ART_ASCII_CHILD=1")
	cmd.Stdin = nil // /dev/null: stty would fail on it
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child-done") || strings.Contains(string(out), "false") {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func TestPlaceholder(t *testing.T) {
	for _, m := range allModes {
		for _, sz := range [][2]int{{1, 1}, {2, 1}, {3, 2}, {4, 3}, {16, 8}, {7, 4}} {
			checkShape(t, fmt.Sprintf("%v/%v", m, sz), Placeholder(sz[0], sz[1], "Ada Lovelace", m), sz[0], sz[1])
			checkShape(t, fmt.Sprintf("wide-rune/%v/%v", m, sz), Placeholder(sz[0], sz[1], "李 小龍", m), sz[0], sz[1])
		}
	}
	want := "+------+\n|      |\n|  AL  |\n|      |\n+------+"
	if got := Placeholder(8, 5, "Ada Lovelace", Plain); got != want {
		t.Fatalf("plain placeholder:\n%s\nwant\n%s", got, want)
	}
	hb := strings.Split(Placeholder(6, 3, "grace", HalfBlock), "\n")
	if !strings.Contains(hb[1], "  G   ") || !strings.HasSuffix(hb[1], "\x1b[m") {
		t.Fatalf("half-block placeholder middle row: %q", hb[1])
	}
	if Render(nil, 8, 5, Plain) != Placeholder(8, 5, "", Plain) {
		t.Fatal("Render(nil) is not the placeholder")
	}
}

func TestInitials(t *testing.T) {
	for in, want := range map[string]string{
		"Ada Lovelace":                 "AL",
		"grace":                        "G",
		"sip:alan.turing@example.test": "AT",
		"SIPS:bob@example.test":        "B",
		"  ":                           "?",
		"":                             "?",
		"\x1b[31m":                     "3",
		"Jean-Luc von Picard":          "JP",
		"émile zola":                   "ÉZ",
	} {
		if got := Initials(in); got != want {
			t.Errorf("Initials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range allModes {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("sixel"); err == nil {
		t.Error("ParseMode(sixel) accepted")
	}
}

func TestCacheHitsAndEvicts(t *testing.T) {
	c := NewCache(2)
	red, blue := solid(4, 4, color.NRGBA{255, 0, 0, 255}), solid(4, 4, color.NRGBA{0, 0, 255, 255})
	first := c.Render("h1", red, 4, 2, HalfBlock)
	// Same key: served from the cache even though the image differs.
	if got := c.Render("h1", blue, 4, 2, HalfBlock); got != first {
		t.Fatal("cache miss for an identical key")
	}
	// Each part of the key counts.
	if c.Render("h1", red, 4, 2, Plain) == first || c.Render("h1", red, 4, 3, HalfBlock) == first {
		t.Fatal("different key served the cached render")
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (bounded)", c.Len())
	}
	// h1/4x2/HalfBlock was the least recently used and is gone.
	if got := c.Render("h1", blue, 4, 2, HalfBlock); got == first {
		t.Fatal("least recently used entry was not evicted")
	}
	if c.Render("", red, 4, 2, HalfBlock) != first || c.Len() != 2 {
		t.Fatal("empty hash must render without caching")
	}
}

func TestConcurrentRendering(t *testing.T) {
	img := avatar(t)
	c := NewCache(8)
	type job struct {
		cols, rows int
		m          Mode
	}
	var jobs []job
	want := map[job]string{}
	for _, m := range allModes {
		for _, sz := range [][2]int{{16, 8}, {8, 4}, {5, 3}} {
			j := job{sz[0], sz[1], m}
			jobs = append(jobs, j)
			want[j] = Render(img, j.cols, j.rows, j.m)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*20)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				j := jobs[(g+i)%len(jobs)]
				var got string
				if i%2 == 0 {
					got = c.Render("avatar", img, j.cols, j.rows, j.m)
				} else {
					got = Render(img, j.cols, j.rows, j.m)
				}
				if got != want[j] {
					errs <- fmt.Sprintf("goroutine %d: %v differs", g, j)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkRender(b *testing.B) {
	img := avatar(b)
	for _, m := range allModes {
		for _, sz := range [][2]int{{16, 8}, {32, 16}} {
			b.Run(fmt.Sprintf("%v/%dx%d", m, sz[0], sz[1]), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Render(img, sz[0], sz[1], m)
				}
			})
		}
	}
}

func BenchmarkCacheHit(b *testing.B) {
	img := avatar(b)
	c := NewCache(0)
	c.Render("k", img, 16, 8, HalfBlock)
	b.ReportAllocs()
	for b.Loop() {
		c.Render("k", img, 16, 8, HalfBlock)
	}
}

// The fast sampling paths read pixel buffers directly: a sub-image (offset
// Pix), a paletted image and the generic fallback must agree with a plain
// NRGBA copy of the same picture.
func TestSamplingPathsAgree(t *testing.T) {
	pal := color.Palette{color.NRGBA{}, color.NRGBA{230, 60, 20, 255}, color.NRGBA{20, 80, 220, 255}, color.NRGBA{250, 250, 250, 255}}
	big := image.NewPaletted(image.Rect(0, 0, 300, 300), pal)
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			big.SetColorIndex(x, y, uint8((x/37+y/23)%4))
		}
	}
	sub := big.SubImage(image.Rect(22, 10, 278, 266)).(*image.Paletted)
	ref := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			ref.Set(x, y, sub.At(22+x, 10+y))
		}
	}
	rgba := image.NewRGBA(ref.Rect)
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			rgba.Set(x, y, ref.At(x, y))
		}
	}
	for _, m := range []Mode{HalfBlock, Plain} {
		want := Render(ref, 16, 8, m)
		for name, img := range map[string]image.Image{"paletted-sub": sub, "rgba": rgba} {
			if got := Render(img, 16, 8, m); got != want {
				t.Errorf("%v %s differs from NRGBA:\n%s\nwant\n%s", m, name, got, want)
			}
		}
	}
	// The generic path (ApproxBiLinear then box) samples slightly different
	// points; on flat areas it must still agree with the fast path.
	flat := solid(256, 256, color.NRGBA{30, 140, 90, 255})
	generic := image.NewRGBA64(flat.Rect)
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			generic.Set(x, y, flat.At(x, y))
		}
	}
	if got, want := Render(generic, 16, 8, HalfBlock), Render(flat, 16, 8, HalfBlock); got != want {
		t.Errorf("generic path differs:\n%q\nwant\n%q", got, want)
	}
}

// Lip Gloss lays art out by measuring it: two icons side by side, and in a
// bordered box, keep every line's width and leak no colour past a line.
func TestLipGlossLayout(t *testing.T) {
	a := Render(avatar(t), 16, 8, HalfBlock)
	b := Placeholder(10, 8, "Grace Hopper", HalfBlock)
	joined := lipgloss.JoinHorizontal(lipgloss.Top, a, " ", b)
	checkShape(t, "joined", joined, 27, 8)
	boxed := lipgloss.NewStyle().Border(lipgloss.NormalBorder()).Render(a)
	checkShape(t, "boxed", boxed, 18, 10)
	for i, l := range strings.Split(a, "\n") {
		if strings.Contains(l, "\x1b[") && !strings.HasSuffix(l, "\x1b[m") {
			t.Errorf("line %d does not end with a reset: %q", i, l)
		}
	}
}
