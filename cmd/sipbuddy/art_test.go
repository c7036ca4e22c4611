package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
)

// runArt runs the built binary's art command.
func runArt(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"art"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestArtCommandPrintsWhatTheBuddyListDraws(t *testing.T) {
	bin := buildSipbuddy(t)
	const file = "../../tui/art/testdata/photos/chelsea.jpg"
	img, err := art.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		o    art.Options
		cols int
		rows int
	}{
		{nil, art.Options{Mode: art.Symbols}, 16, 8},
		{[]string{"--size", "32x16", "--symbols", "quad"}, art.Options{Mode: art.Symbols, Symbols: art.SymQuad}, 32, 16},
		{[]string{"--mode", "halfblock", "--size", "8x4"}, art.Options{Mode: art.HalfBlock}, 8, 4},
		{[]string{"--colors", "256", "--symbols", "all"}, art.Options{Mode: art.Symbols, Symbols: art.SymHalf | art.SymQuad | art.SymSextant | art.SymOctant, Colors: art.ANSI256}, 16, 8},
	} {
		out, errs, code := runArt(t, bin, append([]string{file}, c.args...)...)
		if code != 0 || errs != "" {
			t.Fatalf("%v: exit %d, stderr %q", c.args, code, errs)
		}
		if want := art.RenderOptions(img, c.cols, c.rows, c.o) + "\n"; out != want {
			t.Errorf("%v: printed\n%q\nwant\n%q", c.args, out, want)
		}
		if c.o.Mode == art.Symbols {
			if _, err := arttest.Reconstruct(out, c.cols, c.rows); err != nil {
				t.Errorf("%v: output does not play back: %v", c.args, err)
			}
		}
	}
	// Flags may also come first.
	if out, _, code := runArt(t, bin, "--size", "8x4", file); code != 0 || strings.Count(out, "\n") != 4 {
		t.Errorf("flags before the file: exit %d, %q", code, out)
	}
}

func TestArtCommandRejectsBadInput(t *testing.T) {
	bin := buildSipbuddy(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"art_test.go"}, 1, "Error: art_test.go: "},
		{[]string{"testdata/bomb-30000x30000.png"}, 1, "Error: bomb-30000x30000.png: image is 30000x30000 pixels, the limit is 16384 pixels a side"},
		{[]string{"testdata/no-such-file.png"}, 1, "Error: open testdata/no-such-file.png: no such file"},
		{[]string{"testdata"}, 1, "Error: testdata is not a regular file"},
		{[]string{"../../tui/art/testdata/photos/coffee.jpg", "--mode", "sixels-please"}, 1, `Error: art: unknown mode "sixels-please"`},
		{[]string{"../../tui/art/testdata/photos/coffee.jpg", "--symbols", "braille"}, 1, `Error: art: unknown symbol class "braille"`},
		{[]string{"../../tui/art/testdata/photos/coffee.jpg", "--size", "16"}, 1, `Error: size "16": want COLSxROWS`},
		{[]string{"../../tui/art/testdata/photos/coffee.jpg", "--size", "9999x9"}, 1, `Error: size "9999x9"`},
		{[]string{"../../tui/art/testdata/photos/coffee.jpg", "--colors", "16"}, 1, `Error: art: unknown colour depth "16"`},
		{nil, 2, "usage: sipbuddy art FILE"},
		{[]string{"a.png", "b.png"}, 2, "usage: sipbuddy art FILE"},
	} {
		out, errs, code := runArt(t, bin, c.args...)
		if code != c.code || !strings.HasPrefix(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stderr starting %q", c.args, code, out, errs, c.code, c.want)
		}
	}
}

func TestArtCommandPixelModes(t *testing.T) {
	bin := buildSipbuddy(t)
	const file = "../../tui/art/testdata/photos/coffee.jpg"
	out, errs, code := runArt(t, bin, file, "--mode", "sixel", "--size", "8x4", "--cell", "9x18")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "\x1bP0;1q\"1;1;72;72") || !strings.HasSuffix(out, "\x1b\\\n") {
		t.Errorf("sixel: exit %d %q, output %.40q...%q", code, errs, out, out[max(0, len(out)-4):])
	}
	out, _, code = runArt(t, bin, file, "--mode", "kitty-direct", "--size", "8x4")
	if code != 0 || !strings.HasPrefix(out, "\x1b_Gf=100,q=2,i=1,m=1;") || !strings.HasSuffix(out, "\x1b_Ga=p,i=1,c=8,r=4,C=1,q=2\x1b\\\n\n\n\n") {
		t.Errorf("kitty-direct: exit %d, output %.40q...%q", code, out, out[max(0, len(out)-40):])
	}
	out, _, code = runArt(t, bin, file, "--mode", "kitty", "--size", "8x4", "--tmux")
	if code != 0 || !strings.HasPrefix(out, "\x1bPtmux;\x1b\x1b_G") || strings.Count(out, "\U0010EEEE") != 32 {
		t.Errorf("kitty in tmux: exit %d, output %.40q", code, out)
	}
	if _, errs, code := runArt(t, bin, file, "--mode", "sixel", "--cell", "0x20"); code != 1 || !strings.HasPrefix(errs, `Error: cell size "0x20"`) {
		t.Errorf("bad cell size: exit %d, %q", code, errs)
	}
}

// An unknown --render is an error, not silently half blocks.
func TestUnknownRenderModeIsAnError(t *testing.T) {
	for _, args := range [][]string{{"demo", "--render", "regis"}, {"--render", "regis", "--account", "sip:alice@example.test"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), `--render: unknown render mode "regis"`) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// An unknown --row-size is an error too.
func TestUnknownRowSizeIsAnError(t *testing.T) {
	for _, args := range [][]string{{"demo", "--row-size", "huge"}, {"--row-size", "huge", "--account", "sip:alice@example.test"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), `--row-size: unknown row size "huge"`) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
