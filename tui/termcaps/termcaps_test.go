package termcaps

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/sipbuddy/sipbuddy/tui/art"
)

// replies decodes what a terminal wrote back into the messages a Bubble Tea
// program receives (its input decoder, and its translation of the events it
// renames).
func replies(t *testing.T, raw string) []tea.Msg {
	t.Helper()
	var d uv.EventDecoder
	var out []tea.Msg
	buf := []byte(raw)
	for len(buf) > 0 {
		n, e := d.Decode(buf)
		if n == 0 {
			t.Fatalf("decoder stuck at %q", buf)
		}
		buf = buf[n:]
		switch e := e.(type) {
		case uv.WindowSizeEvent:
			out = append(out, tea.WindowSizeMsg(e))
		case uv.TerminalVersionEvent:
			out = append(out, tea.TerminalVersionMsg(e))
		default:
			out = append(out, e)
		}
	}
	return out
}

// What each terminal answers to Queries, as seen on Debian 12 (see
// shared/tools/README.md); the window is 80x24 cells.
var terminals = []struct {
	name    string
	hints   Hints
	answer  string
	timeout bool // the probe ends by its timeout
	want    string
	cell    [2]int
}{
	{"xterm -ti vt340", Hints{}, "\x1b[6;13;6t\x1b[4;312;480t\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c", false, "sixel", [2]int{6, 13}},
	{"xterm -ti vt340 without allowWindowOps", Hints{}, "\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c", false, "sixel", [2]int{0, 0}},
	{"plain xterm", Hints{}, "\x1bP>|XTerm(379)\x1b\\\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c", false, "symbols", [2]int{0, 0}},
	{"kitty 0.26", Hints{}, "\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[4;480;800t\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c", false, "kitty-direct", [2]int{10, 20}},
	{"kitty 0.41", Hints{}, "\x1b_Gi=31;OK\x1b\\\x1b[6;21;10t\x1bP>|kitty(0.41.1)\x1b\\\x1b[?62;52;c", false, "kitty", [2]int{10, 21}},
	{"mlterm", Hints{}, "\x1b[4;384;640t\x1b[?63;1;2;3;4;7;29c", false, "sixel", [2]int{8, 16}},
	{"konsole", Hints{}, "\x1b_Gi=31;OK\x1b\\\x1b[?62;1;4c", false, "sixel", [2]int{0, 0}},
	{"tmux 3.3 without passthrough", Hints{Tmux: true}, "\x1b[?1;2c", true, "symbols", [2]int{0, 0}},
	{"tmux 3.3 with passthrough in kitty 0.26", Hints{Tmux: true}, "\x1b[?1;2c\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c", false, "kitty-direct", [2]int{10, 20}},
	{"iTerm2 (hint)", Hints{TermProgram: "iTerm.app"}, "\x1b[?62;4c", false, "sixel", [2]int{0, 0}},
	{"WezTerm in tmux (hint only)", Hints{Tmux: true, TermProgram: "WezTerm"}, "\x1b[?1;2c", true, "symbols", [2]int{0, 0}},
	{"silent terminal", Hints{}, "", true, "symbols", [2]int{0, 0}},
}

func TestProbeWithRealReplies(t *testing.T) {
	for _, term := range terminals {
		p := NewProbe(term.hints)
		if q := p.Queries(); term.hints.Tmux != strings.HasPrefix(q, "\x1bPtmux;") {
			t.Errorf("%s: queries %q", term.name, q)
		}
		done := p.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		for _, m := range replies(t, term.answer) {
			done = p.Update(m)
		}
		if done == term.timeout {
			t.Errorf("%s: done %v after the replies, want %v", term.name, done, !term.timeout)
		}
		p.Expire()
		caps := p.Caps()
		c, err := caps.Choose("auto", colorprofile.TrueColor)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != term.want || [2]int{caps.CellWidth, caps.CellHeight} != term.cell {
			t.Errorf("%s: chose %s with cells %dx%d, want %s with %v (caps %+v)", term.name, c, caps.CellWidth, caps.CellHeight, term.want, term.cell, caps)
		}
		if c.Graphics != nil && c.Graphics.Tmux != term.hints.Tmux {
			t.Errorf("%s: tmux wrapping %v", term.name, c.Graphics.Tmux)
		}
	}
}

func TestChooseFallsBackByColourProfile(t *testing.T) {
	kitty := Caps{Kitty: true, Version: "kitty(0.41.1)"}
	for _, c := range []struct {
		caps    Caps
		mode    string
		profile colorprofile.Profile
		want    string
		colors  art.Colors
	}{
		{Caps{}, "auto", colorprofile.TrueColor, "symbols", art.TrueColor},
		{Caps{}, "auto", colorprofile.ANSI256, "symbols", art.ANSI256},
		{Caps{}, "auto", colorprofile.ANSI, "halfblock", art.TrueColor},
		{kitty, "auto", colorprofile.Ascii, "plain", art.TrueColor}, // NO_COLOR: no pictures
		{kitty, "halfblock", colorprofile.TrueColor, "halfblock", art.TrueColor},
		{kitty, "sixel", colorprofile.TrueColor, "sixel", art.TrueColor},
		{Caps{}, "kitty", colorprofile.ANSI256, "kitty", art.ANSI256},
		{kitty, "symbols", colorprofile.ANSI256, "symbols", art.ANSI256},
		{kitty, " ASCII ", colorprofile.TrueColor, "ascii", art.TrueColor},
	} {
		got, err := c.caps.Choose(c.mode, c.profile)
		if err != nil || got.String() != c.want || got.Text.Colors != c.colors {
			t.Errorf("%+v %q %v: %v (colours %v), %v; want %s", c.caps, c.mode, c.profile, got, got.Text.Colors, err, c.want)
		}
	}
	if _, err := (Caps{}).Choose("regis", colorprofile.TrueColor); err == nil || !strings.Contains(err.Error(), `unknown render mode "regis"`) {
		t.Errorf("unknown mode: %v", err)
	}
}

func TestProbeIgnoresOtherMessagesAndHugeCells(t *testing.T) {
	p := NewProbe(Hints{})
	p.Update(tea.KeyPressMsg{Code: 'q'})
	for _, m := range replies(t, "\x1b_Gi=99;OK\x1b\\\x1b_Gi=31;ENOTSUPPORTED:x\x1b\\\x1b[6;5000;5000t\x1b[?62c") {
		p.Update(m)
	}
	if !p.Done() {
		t.Fatal("DA1 did not end the probe")
	}
	if c := p.Caps(); c.Kitty || c.CellWidth != 0 {
		t.Errorf("caps %+v: another image's OK, an error reply and a 5000-pixel cell must count for nothing", c)
	}
	// Replies after the end change nothing.
	for _, m := range replies(t, "\x1b[?62;4c") {
		p.Update(m)
	}
	if p.Caps().Sixel {
		t.Error("a late DA1 changed the result")
	}
}

// xterm's fonts have no sextants (seen in a screenshot: dotted boxes).
func TestXtermGetsQuadrants(t *testing.T) {
	for v, want := range map[string]art.SymbolSet{"XTerm(379)": art.SymHalf | art.SymQuad, "kitty(0.26.5)": art.DefaultSymbols, "": art.DefaultSymbols} {
		c, err := Caps{Version: v}.Choose("auto", colorprofile.TrueColor)
		if err != nil || c.Text.Symbols != want {
			t.Errorf("%q: symbols %v, %v; want %v", v, c.Text.Symbols, err, want)
		}
	}
}

func TestHintsFromEnv(t *testing.T) {
	env := map[string]string{"TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "WezTerm"}
	h := HintsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if !h.Tmux || h.TermProgram != "WezTerm" {
		t.Errorf("%+v", h)
	}
}

// FuzzProbe: any bytes a terminal (or something pretending to be one) sends
// back never panic the probe, never give a cell size beyond the limit, and
// any render mode name is accepted or rejected cleanly.
func FuzzProbe(f *testing.F) {
	for _, term := range terminals {
		f.Add(term.answer, "auto")
	}
	f.Add("\x1b[6;0;-1t\x1b[4;9;9t\x1b[?c", "kitty")
	f.Fuzz(func(t *testing.T, answer, mode string) {
		p := NewProbe(Hints{})
		p.Update(tea.WindowSizeMsg{Width: 1, Height: 1})
		var d uv.EventDecoder
		buf := []byte(answer)
		for len(buf) > 0 {
			n, e := d.Decode(buf)
			if n <= 0 {
				break
			}
			buf = buf[n:]
			p.Update(e)
		}
		p.Expire()
		c := p.Caps()
		if c.CellWidth < 0 || c.CellWidth > art.MaxCellPixels || c.CellHeight < 0 || c.CellHeight > art.MaxCellPixels {
			t.Fatalf("cell %dx%d", c.CellWidth, c.CellHeight)
		}
		if ch, err := c.Choose(mode, colorprofile.TrueColor); err == nil && ch.String() == "" {
			t.Fatal("empty choice")
		}
	})
}
