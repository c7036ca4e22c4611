package art

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// fidelitySizes are the icon sizes of the acceptance criteria, in cells.
var fidelitySizes = [][2]int{{8, 4}, {16, 8}, {32, 16}}

// fidelityImage is one source picture flattened onto black (chafa and the
// renderers then see the same opaque pixels; transparency would measure the
// terminal's background instead).
type fidelityImage struct {
	name string
	img  *image.RGBA
	png  string // the flattened image as a file, for chafa
}

// fidelityImages loads the photos in testdata/photos and the demo icons
// (for tests, which run under -race, only each buddy's first icon).
func fidelityImages(tb testing.TB) []fidelityImage {
	_, isBench := tb.(*testing.B)
	tb.Helper()
	var out []fidelityImage
	add := func(name string, data []byte) {
		img, _, err := icon.Decode(data, icon.UploadLimits)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		flat := image.NewRGBA(img.Bounds().Sub(img.Bounds().Min))
		draw.Draw(flat, flat.Rect, image.Black, image.Point{}, draw.Src)
		draw.Draw(flat, flat.Rect, img, img.Bounds().Min, draw.Over)
		out = append(out, fidelityImage{name: name, img: flat})
	}
	photos, _ := filepath.Glob("testdata/photos/*.jpg")
	if len(photos) == 0 {
		tb.Fatal("no photos in testdata/photos")
	}
	for _, p := range photos {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		add(filepath.Base(p), data)
	}
	for _, ic := range assets.Gallery() {
		if isBench || strings.HasSuffix(ic.Name, "-1.png") {
			add(ic.Name, ic.PNG)
		}
	}
	return out
}

// writePNGs stores the flattened images for chafa.
func writePNGs(tb testing.TB, imgs []fidelityImage) {
	dir := tb.TempDir()
	for i := range imgs {
		var buf bytes.Buffer
		if err := png.Encode(&buf, imgs[i].img); err != nil {
			tb.Fatal(err)
		}
		imgs[i].png = filepath.Join(dir, imgs[i].name+".png")
		if err := os.WriteFile(imgs[i].png, buf.Bytes(), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// reference is what a perfect terminal would show: the source scaled with
// Catmull-Rom (a different, higher quality filter than the renderers' own
// sampling) to the reconstruction's pixel size.
func reference(img image.Image, cols, rows int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, cols*glyph.CellW, rows*glyph.CellH))
	xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
	return dst
}

// fidelity reconstructs art and scores it against the reference.
func fidelity(tb testing.TB, out string, ref *image.RGBA, cols, rows int) float64 {
	tb.Helper()
	shown, err := arttest.Reconstruct(out, cols, rows)
	if err != nil {
		tb.Fatalf("playing back %dx%d art: %v\n%q", cols, rows, err, out)
	}
	return arttest.SSIM(shown, ref)
}

// renderer is one way of drawing an icon as text.
type renderer struct {
	name  string
	chafa []string // chafa's --symbols and -c, or nil for ours
	opts  Options
}

var fidelityRenderers = []renderer{
	{name: "sipbuddy/symbols", opts: Options{Mode: Symbols, Symbols: glyph.Default}},
	{name: "chafa/symbols", chafa: []string{"space+solid+half+quad+sextant", "full"}},
	{name: "sipbuddy/quad", opts: Options{Mode: Symbols, Symbols: glyph.Half | glyph.Quad}},
	{name: "chafa/quad", chafa: []string{"space+solid+half+quad", "full"}},
	{name: "sipbuddy/symbols-256", opts: Options{Mode: Symbols, Symbols: glyph.Default, Colors: ANSI256}},
	{name: "chafa/symbols-240", chafa: []string{"space+solid+half+quad+sextant", "240"}},
	{name: "sipbuddy/octant", opts: Options{Mode: Symbols, Symbols: glyph.All}},
	{name: "sipbuddy/halfblock", opts: Options{Mode: HalfBlock}},
}

func runChafa(tb testing.TB, r renderer, file string, cols, rows int) string {
	out, err := exec.Command("chafa", "--format", "symbols", "--symbols", r.chafa[0], "--colors", r.chafa[1],
		"--size", fmt.Sprintf("%dx%d", cols, rows), "--work", "9", "--optimize", "0",
		"--polite", "on", "--animate", "off", "--dither", "none", file).Output()
	if err != nil {
		tb.Fatalf("chafa %s: %v", file, err)
	}
	return string(out)
}

// cpuTime returns the user+system CPU time of this process or of its
// waited-for children, in nanoseconds: on a shared machine it measures the
// work, where wall time measures the load.
func cpuTime(tb testing.TB, who int) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkFidelity renders every photo and demo icon at each size with each
// renderer (chafa as one process per icon, as a user would run it), plays
// the output back as a terminal shows it and reports the mean SSIM against
// the source (ssim, and mse: mean squared error per sRGB channel) and the
// time per icon (ns/icon wall, cpu-ns/icon CPU).
func BenchmarkFidelity(b *testing.B) {
	imgs := fidelityImages(b)
	_, chafaErr := exec.LookPath("chafa")
	if chafaErr == nil {
		writePNGs(b, imgs)
	}
	for _, size := range fidelitySizes {
		cols, rows := size[0], size[1]
		refs := make([]*image.RGBA, len(imgs))
		for i, im := range imgs {
			refs[i] = reference(im.img, cols, rows)
		}
		for _, r := range fidelityRenderers {
			b.Run(fmt.Sprintf("%dx%d/%s", cols, rows, r.name), func(b *testing.B) {
				if r.chafa != nil && chafaErr != nil {
					b.Skip("chafa is not installed (apt-get install chafa)")
				}
				outs := make([]string, len(imgs))
				who := syscall.RUSAGE_SELF
				if r.chafa != nil {
					who = syscall.RUSAGE_CHILDREN
				}
				cpu0 := cpuTime(b, who)
				for b.Loop() {
					for i, im := range imgs {
						if r.chafa != nil {
							outs[i] = runChafa(b, r, im.png, cols, rows)
						} else {
							outs[i] = RenderOptions(im.img, cols, rows, r.opts)
						}
					}
				}
				icons := float64(b.N * len(imgs))
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/icons, "ns/icon")
				b.ReportMetric(float64(cpuTime(b, who)-cpu0)/icons, "cpu-ns/icon")
				var sum, sumMSE float64
				for i := range imgs {
					shown, err := arttest.Reconstruct(outs[i], cols, rows)
					if err != nil {
						b.Fatalf("%s: %v", imgs[i].name, err)
					}
					sum += arttest.SSIM(shown, refs[i])
					sumMSE += arttest.MSE(shown, refs[i])
				}
				b.ReportMetric(sum/float64(len(imgs)), "ssim")
				b.ReportMetric(sumMSE/float64(len(imgs)), "mse")
			})
		}
	}
}

// TestSymbolsMoreFaithfulThanHalfBlocks: on real photos and the demo icons
// symbol art must reproduce more of the picture than half blocks, at every
// size, and octants more than sextants.
func TestSymbolsMoreFaithfulThanHalfBlocks(t *testing.T) {
	imgs := fidelityImages(t)
	for _, size := range fidelitySizes {
		cols, rows := size[0], size[1]
		score := func(o Options) float64 {
			var sum float64
			for _, im := range imgs {
				sum += fidelity(t, RenderOptions(im.img, cols, rows, o), reference(im.img, cols, rows), cols, rows)
			}
			return sum / float64(len(imgs))
		}
		half := score(Options{Mode: HalfBlock})
		sym := score(Options{Mode: Symbols})
		oct := score(Options{Mode: Symbols, Symbols: glyph.All})
		sym256 := score(Options{Mode: Symbols, Colors: ANSI256})
		t.Logf("%dx%d: SSIM halfblock %.4f, symbols %.4f, octant %.4f, symbols-256 %.4f", cols, rows, half, sym, oct, sym256)
		if !(half < sym && sym < oct) {
			t.Errorf("%dx%d: SSIM halfblock %.4f, symbols %.4f, octant %.4f: want each better than the last", cols, rows, half, sym, oct)
		}
	}
}

// TestReconstructChafaOutput plays back a rendering chafa 1.12 made of
// testdata/photos/chelsea.jpg (chafa --format symbols --symbols
// space+solid+half+quad+sextant --colors full --size 16x8 --work 9
// --optimize 0 --dither none), so the playback of chafa's output is tested
// without chafa: it must parse and look like the photo.
func TestReconstructChafaOutput(t *testing.T) {
	out, err := os.ReadFile("testdata/chafa-chelsea-16x8.txt")
	if err != nil {
		t.Fatal(err)
	}
	imgs := fidelityImages(t)
	i := slices.IndexFunc(imgs, func(im fidelityImage) bool { return im.name == "chelsea.jpg" })
	ref := reference(imgs[i].img, 16, 8)
	s := fidelity(t, string(out), ref, 16, 8)
	other := fidelity(t, string(out), reference(imgs[0].img, 16, 8), 16, 8) // astronaut.jpg
	if s < 0.5 || s <= other+0.1 {
		t.Errorf("chafa's cat plays back with SSIM %.3f against the cat and %.3f against the astronaut", s, other)
	}
}
