// Package termcaps finds out what a terminal can draw by asking it: a kitty
// graphics query, the cell size in pixels (CSI 16 t, or CSI 14 t with the
// window's size in cells), XTVERSION, and Primary Device Attributes
// (attribute 4 = sixel) last, since every terminal answers DA1 and answers in
// order, so its reply ends the probe. A Probe runs over Bubble Tea's input
// messages, one per program, so over SSH each session asks its own
// terminal. Environment variables are hints only: they never enable a
// protocol the terminal did not answer for, except iTerm2, which has no
// query.
package termcaps

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/tui/art"
)

// ProbeTimeout is how long a probe waits for replies: a terminal answers
// within a round trip; one that ignores DA1 (rare) gets text art.
const ProbeTimeout = 300 * time.Millisecond

// kittyQueryID is the image id of the kitty graphics query (a 1x1 RGB
// image that is validated, never stored).
const kittyQueryID = 31

// Hints are what the environment says about the terminal.
type Hints struct {
	Tmux        bool   // $TMUX is set: queries and images go through passthrough
	TermProgram string // $TERM_PROGRAM ("iTerm.app", "WezTerm", ...)
}

// HintsFromEnv reads the hints from an environment lookup (os.LookupEnv,
// or an SSH session's environment).
func HintsFromEnv(lookup func(string) (string, bool)) Hints {
	var h Hints
	if v, ok := lookup("TMUX"); ok && v != "" {
		h.Tmux = true
	}
	h.TermProgram, _ = lookup("TERM_PROGRAM")
	return h
}

// Caps is what the terminal answered.
type Caps struct {
	Kitty      bool   // answered the kitty graphics query with OK
	Sixel      bool   // DA1 lists attribute 4
	Version    string // XTVERSION reply, e.g. "kitty(0.26.5)"
	CellWidth  int    // pixels, 0 when unknown
	CellHeight int
	Tmux       bool // replies came through tmux
	ITerm2Hint bool // $TERM_PROGRAM names a terminal with iTerm2 images
}

// Probe collects the replies to Queries. Feed every message to Update until
// it reports done; after ProbeTimeout call Expire. The zero Probe is not
// usable: use NewProbe.
type Probe struct {
	hints    Hints
	caps     Caps
	da1      int // DA1 replies seen
	done     bool
	cols     int // window size in cells and pixels, for the 14 t fallback
	rows     int
	pixW     int
	pixH     int
	cellSeen bool
}

// NewProbe starts a probe with the environment's hints.
func NewProbe(h Hints) *Probe {
	return &Probe{hints: h, caps: Caps{Tmux: h.Tmux, ITerm2Hint: iterm2Program(h.TermProgram)}}
}

func iterm2Program(p string) bool {
	return p == "iTerm.app" || p == "WezTerm"
}

// Queries returns the bytes to send to the terminal (tea.Raw) to start the
// probe. Inside tmux the kitty query, the size queries and one DA1 go
// through passthrough to the outer terminal, and one DA1 goes to tmux; the
// probe then ends at the second DA1 reply (or the timeout, when tmux drops
// passthrough).
func (p *Probe) Queries() string {
	outer := ansi.KittyGraphics([]byte("AAAA"), "i="+strconv.Itoa(kittyQueryID), "s=1", "v=1", "a=q", "t=d", "f=24") +
		ansi.WindowOp(16) + ansi.WindowOp(14) + ansi.RequestNameVersion
	if !p.hints.Tmux {
		return outer + ansi.RequestPrimaryDeviceAttributes
	}
	return ansi.TmuxPassthrough(outer+ansi.RequestPrimaryDeviceAttributes) + ansi.RequestPrimaryDeviceAttributes
}

// Update takes one message; it reports whether the probe is complete.
// Messages that are not replies are ignored (the host handles them too).
func (p *Probe) Update(msg tea.Msg) bool {
	if p.done {
		return true
	}
	switch m := msg.(type) {
	case uv.MultiEvent:
		for _, e := range m {
			p.Update(e)
		}
	case uv.KittyGraphicsEvent:
		if m.Options.ID == kittyQueryID && string(m.Payload) == "OK" {
			p.caps.Kitty = true
		}
	case uv.CellSizeEvent:
		if m.Width > 0 && m.Height > 0 {
			p.caps.CellWidth, p.caps.CellHeight, p.cellSeen = m.Width, m.Height, true
		}
	case uv.PixelSizeEvent:
		p.pixW, p.pixH = m.Width, m.Height
	case tea.WindowSizeMsg:
		p.cols, p.rows = m.Width, m.Height
	case tea.TerminalVersionMsg:
		p.caps.Version = m.Name
	case uv.PrimaryDeviceAttributesEvent:
		for _, a := range m {
			if a == 4 {
				p.caps.Sixel = true
			}
		}
		p.da1++
		if p.da1 >= p.wantDA1() {
			p.finish()
		}
	}
	return p.done
}

func (p *Probe) wantDA1() int {
	if p.hints.Tmux {
		return 2
	}
	return 1
}

// Expire ends the probe with what has arrived (call it after
// ProbeTimeout).
func (p *Probe) Expire() { p.finish() }

func (p *Probe) finish() {
	if p.done {
		return
	}
	p.done = true
	if !p.cellSeen && p.pixW > 0 && p.pixH > 0 && p.cols > 0 && p.rows > 0 {
		p.caps.CellWidth, p.caps.CellHeight = p.pixW/p.cols, p.pixH/p.rows
	}
	if p.caps.CellWidth > art.MaxCellPixels || p.caps.CellHeight > art.MaxCellPixels {
		p.caps.CellWidth, p.caps.CellHeight = 0, 0
	}
}

// Done reports whether the probe is complete.
func (p *Probe) Done() bool { return p.done }

// Caps returns what the terminal answered so far.
func (p *Probe) Caps() Caps { return p.caps }

// RenderModes are the names render_mode, --render and the m key accept.
var RenderModes = []string{"auto", "kitty", "kitty-direct", "sixel", "iterm2", "symbols", "halfblock", "ascii", "plain"}

// ParseRenderMode checks a render mode name; an unknown one is an error.
func ParseRenderMode(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "auto", nil
	}
	for _, m := range RenderModes {
		if s == m {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown render mode %q (want %s)", s, strings.Join(RenderModes, ", "))
}

// Choice is how icons are drawn: with a graphics protocol (Graphics != nil)
// or as text art with Text.
type Choice struct {
	Graphics *art.Graphics
	Text     art.Options
}

// String names the choice the way RenderModes do.
func (c Choice) String() string {
	if c.Graphics != nil {
		return c.Graphics.Protocol.String()
	}
	return c.Text.Mode.String()
}

var kittyVersion = regexp.MustCompile(`^kitty\((\d+)\.(\d+)`)

// kittyPlaceholders reports whether the terminal draws kitty Unicode
// placeholders: kitty from 0.28 and Ghostty (kitty 0.26, Konsole and
// WezTerm answer the query but lack them).
func (c Caps) kittyPlaceholders() bool {
	if strings.HasPrefix(strings.ToLower(c.Version), "ghostty") {
		return true
	}
	m := kittyVersion.FindStringSubmatch(c.Version)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 0 || minor >= 28
}

// symbols is the glyph set for symbol art: xterm draws block glyphs from its
// font, and its default fonts lack sextants (they show as dotted boxes), so
// xterm gets half blocks and quadrants; terminals that draw block elements
// themselves (kitty, foot, WezTerm, Ghostty, ...) get sextants too.
func (c Caps) symbols() art.SymbolSet {
	if strings.HasPrefix(c.Version, "XTerm(") {
		return art.SymHalf | art.SymQuad
	}
	return art.DefaultSymbols
}

// Choose turns a render mode and the colour profile into a Choice. "auto"
// picks the best the terminal answered for: kitty placeholders, sixel,
// kitty direct placements, iTerm2 (by hint), then symbol art in the
// profile's colours (half blocks with 16 colours, plain ASCII without
// colour, as with NO_COLOR).
func (c Caps) Choose(mode string, profile colorprofile.Profile) (Choice, error) {
	mode, err := ParseRenderMode(mode)
	if err != nil {
		return Choice{}, err
	}
	text := art.Options{Mode: art.Symbols, Symbols: c.symbols()}
	switch profile {
	case colorprofile.ANSI256:
		text.Colors = art.ANSI256
	case colorprofile.ANSI:
		text.Mode = art.HalfBlock
	case colorprofile.Ascii, colorprofile.NoTTY:
		text.Mode = art.Plain
	}
	pixels := func(p art.Protocol) (Choice, error) {
		return Choice{Graphics: &art.Graphics{Protocol: p, Tmux: c.Tmux, CellWidth: c.CellWidth, CellHeight: c.CellHeight}, Text: text}, nil
	}
	switch mode {
	case "auto":
		if text.Mode == art.Plain {
			return Choice{Text: text}, nil // no colour wanted: no pictures either
		}
		switch {
		case c.Kitty && c.kittyPlaceholders():
			return pixels(art.KittyPlaceholders)
		case c.Sixel:
			return pixels(art.Sixel)
		case c.Kitty:
			return pixels(art.KittyDirect)
		case c.ITerm2Hint && !c.Tmux:
			return pixels(art.ITerm2)
		}
		return Choice{Text: text}, nil
	case "kitty", "kitty-direct", "sixel", "iterm2":
		p, err := art.ParseProtocol(mode)
		if err != nil {
			return Choice{}, err
		}
		return pixels(p)
	}
	m, err := art.ParseMode(mode)
	if err != nil {
		return Choice{}, err
	}
	text.Mode = m
	if m != art.Symbols {
		text.Colors = art.TrueColor
	}
	return Choice{Text: text}, nil
}
