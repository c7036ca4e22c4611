package main

import (
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
)

// termShot is shared/tools/term-shot.sh beside the repository.
const termShot = "../../../shared/tools/term-shot.sh"

// Window of the shots, in cells, and the icon's size in it.
const (
	shotCols, shotRows = 40, 12
	iconCols, iconRows = 16, 8
)

// needTermShot skips (or, with SIPBUDDY_REQUIRE_TOOLS, fails) a test of
// real terminals where term-shot.sh is not beside the repository, and
// finds the X tools it uses and the extra {program, package} ones.
func needTermShot(t *testing.T, extra ...[2]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts X servers and terminals")
	}
	if _, err := os.Stat(termShot); err != nil {
		if os.Getenv(testtool.RequireEnv) != "" {
			t.Fatalf("%s: %v", termShot, err)
		}
		t.Skipf("no %s", termShot)
	}
	for _, tool := range append([][2]string{{"Xvfb", "xvfb"}, {"xdotool", "xdotool"}, {"import", "imagemagick"}}, extra...) {
		testtool.Path(t, tool[0], tool[1])
	}
}

// TestPixelModesInRealTerminals runs "sipbuddy art" with a graphics
// protocol in a real terminal under Xvfb, screenshots the window and
// compares what the terminal drew with the icon's pixels.
func TestPixelModesInRealTerminals(t *testing.T) {
	needTermShot(t)
	bin := buildSipbuddy(t)
	const photo = "../../tui/art/testdata/photos/chelsea.jpg"
	src, err := art.LoadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	other, err := art.LoadFile("../../tui/art/testdata/photos/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		terminal, program, pkg string
		args                   []string
	}{
		// xterm's default font has 6x13 cells; sixel pixels are exact.
		{"xterm-vt340", "xterm", "xterm", []string{"--mode", "sixel", "--cell", "6x13"}},
		// Debian 12's kitty 0.26 has no Unicode placeholders: direct placement.
		{"kitty", "kitty", "kitty libgl1-mesa-dri", []string{"--mode", "kitty-direct", "--cell", "8x19"}},
	} {
		t.Run(c.terminal, func(t *testing.T) {
			testtool.Path(t, c.program, c.pkg)
			out := filepath.Join(t.TempDir(), "shot.png")
			args := append([]string{termShot, c.terminal, "40x12", out, "--", bin, "art", photo, "--size", "16x8"}, c.args...)
			cmd := exec.Command("sh", args...)
			cmd.Env = append(os.Environ(), "WAIT=4")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("term-shot: %v\n%s", err, msg)
			}
			if rc, _ := os.ReadFile(out + ".rc"); strings.TrimSpace(string(rc)) != "0" {
				t.Fatalf("sipbuddy art exited %q in %s", rc, c.terminal)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			shot, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			box, cellW, cellH := drawnBox(shot)
			t.Logf("%s: window %v, cells about %dx%d, picture at %v", c.terminal, shot.Bounds(), cellW, cellH, box)
			// The icon is square and fills the 16 cells' width or the 8
			// cells' height, whichever is less.
			want := min(iconCols*cellW, iconRows*cellH)
			if d := box.Dx() - want; d < -cellW || d > cellW || box.Dy()-box.Dx() > cellH || box.Dx()-box.Dy() > cellH {
				t.Fatalf("picture is %dx%d pixels, want about %dx%d", box.Dx(), box.Dy(), want, want)
			}
			drawn := image.NewRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
			draw.Draw(drawn, drawn.Rect, shot, box.Min, draw.Src)
			scaled := func(img image.Image) *image.RGBA {
				dst := image.NewRGBA(drawn.Rect)
				xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
				return dst
			}
			same, diff := arttest.SSIM(drawn, scaled(src)), arttest.SSIM(drawn, scaled(other))
			t.Logf("%s: SSIM %.3f against the icon, %.3f against another photo", c.terminal, same, diff)
			if same < 0.6 || same < diff+0.2 {
				t.Errorf("%s shows something else: SSIM %.3f against the icon, %.3f against another photo", c.terminal, same, diff)
			}
		})
	}
}

// drawnBox returns the bounding box of what differs from the window's
// background in the icon's rows (above the cursor's line), and the cell
// size estimated from the window.
func drawnBox(shot image.Image) (image.Rectangle, int, int) {
	b := shot.Bounds()
	cellW, cellH := b.Dx()/shotCols, b.Dy()/shotRows
	bg := shot.At(b.Max.X-1, b.Max.Y-1)
	br, bgG, bb, _ := bg.RGBA()
	box := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Min.Y+iconRows*cellH; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := shot.At(x, y).RGBA()
			if absDiff32(r, br)+absDiff32(g, bgG)+absDiff32(bl, bb) > 3*0x1000 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box, cellW, cellH
}

func absDiff32(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
