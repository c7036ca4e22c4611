package art

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/iterm2"
	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/ansi/sixel"
)

// Protocol is a terminal graphics protocol that draws real pixels.
type Protocol int

const (
	// KittyPlaceholders uses the kitty graphics protocol with a virtual
	// placement and Unicode placeholder cells (kitty >= 0.28, Ghostty): the
	// image is sent once and the text of the screen only holds U+10EEEE
	// cells, so a cell renderer, scrolling and overlapping dialogs stay
	// correct.
	KittyPlaceholders Protocol = iota
	// KittyDirect uses the kitty graphics protocol with a placement at the
	// cursor (kitty 0.26, Konsole: no Unicode placeholders).
	KittyDirect
	// Sixel draws DEC sixel graphics (xterm -ti vt340, foot, mlterm,
	// WezTerm, tmux >= 3.4).
	Sixel
	// ITerm2 draws iTerm2 inline images (iTerm2, WezTerm).
	ITerm2
)

var protocolNames = map[Protocol]string{
	KittyPlaceholders: "kitty", KittyDirect: "kitty-direct", Sixel: "sixel", ITerm2: "iterm2",
}

// String returns the protocol's name as ParseProtocol accepts it.
func (p Protocol) String() string {
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// ParseProtocol parses a protocol name: kitty, kitty-direct, sixel, iterm2.
func ParseProtocol(s string) (Protocol, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for p, n := range protocolNames {
		if s == n {
			return p, nil
		}
	}
	return 0, fmt.Errorf("art: unknown graphics protocol %q (want kitty, kitty-direct, sixel or iterm2)", s)
}

// Default cell size in pixels, for sixel when the terminal did not say
// (xterm's default font is about 6x13, kitty's and foot's about 10x20).
const (
	DefaultCellWidth  = 10
	DefaultCellHeight = 20
	// MaxCellPixels bounds a reported cell size, so a hostile or broken
	// reply cannot make an image of gigapixels.
	MaxCellPixels = 128
)

// Graphics encodes images for one terminal's graphics protocol.
type Graphics struct {
	Protocol Protocol
	// Tmux wraps every sequence for tmux's passthrough (tmux needs
	// "set -g allow-passthrough on").
	Tmux bool
	// CellWidth and CellHeight are the terminal's cell size in pixels
	// (zero: DefaultCellWidth x DefaultCellHeight). Sixel images are drawn
	// at cols*CellWidth x rows*CellHeight pixels; the kitty and iTerm2
	// terminals scale the image to the cells themselves.
	CellWidth, CellHeight int
}

// CellSize is the cell size in pixels: CellWidth x CellHeight when the
// terminal said so, else the defaults.
func (g Graphics) CellSize() (int, int) {
	w, h := g.CellWidth, g.CellHeight
	if w <= 0 || w > MaxCellPixels || h <= 0 || h > MaxCellPixels {
		return DefaultCellWidth, DefaultCellHeight
	}
	return w, h
}

func (g Graphics) wrap(seq string) string {
	if g.Tmux {
		return ansi.TmuxPassthrough(seq)
	}
	return seq
}

// MaxKittyImageID is the largest image id: the id travels in a placeholder
// cell's 24-bit foreground colour.
const MaxKittyImageID = 1<<24 - 1

// Transmit returns what sends img to the terminal once under id (kitty:
// PNG data in chunks, quiet, and for KittyPlaceholders the virtual
// placement of cols x rows cells). Sixel and iTerm2 keep no image on the
// terminal: Transmit returns "" and Place carries the pixels.
func (g Graphics) Transmit(id uint32, img image.Image, cols, rows int) (string, error) {
	if g.Protocol != KittyPlaceholders && g.Protocol != KittyDirect {
		return "", nil
	}
	if id == 0 || id > MaxKittyImageID {
		return "", fmt.Errorf("art: kitty image id %d out of range 1..%d", id, MaxKittyImageID)
	}
	o := &kitty.Options{
		Action: kitty.Transmit, ID: int(id), Format: kitty.PNG, Transmission: kitty.Direct,
		Quiet: 2, Chunk: true, ChunkFormatter: g.wrap,
	}
	if g.Protocol == KittyPlaceholders {
		o.Action = kitty.TransmitAndPut
		o.VirtualPlacement = true
		o.Columns, o.Rows = cols, rows
	}
	var b strings.Builder
	if err := kitty.EncodeGraphics(&b, g.padToCells(img, cols, rows), o); err != nil {
		return "", fmt.Errorf("art: kitty image: %w", err)
	}
	return b.String(), nil
}

// padToCells centres img on a transparent canvas with the shape of cols x
// rows cells, at the image's own resolution: kitty and iTerm2 stretch an
// image to the cells they are given, which would distort a square icon in
// cells that are not exactly twice as tall as wide.
func (g Graphics) padToCells(img image.Image, cols, rows int) image.Image {
	cw, ch := g.CellSize()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	aw, ah := int64(cols*cw), int64(rows*ch) // the area in pixels
	if w <= 0 || h <= 0 || aw <= 0 || ah <= 0 {
		return img
	}
	cw2, ch2 := w, h
	if int64(w)*ah > int64(h)*aw { // wider than the area: grow the height
		ch2 = int((int64(w)*ah + aw/2) / aw)
	} else {
		cw2 = int((int64(h)*aw + ah/2) / ah)
	}
	if cw2 == w && ch2 == h {
		return img
	}
	dst := image.NewNRGBA(image.Rect(0, 0, cw2, ch2))
	draw.Draw(dst, b.Sub(b.Min).Add(image.Pt((cw2-w)/2, (ch2-h)/2)), img, b.Min, draw.Src)
	return dst
}

// Place returns what draws the image at the cursor in cols x rows cells
// without moving the cursor: a kitty placement of the transmitted id, a
// sixel image, or an iTerm2 inline image. For KittyPlaceholders it is the
// placeholder text (PlaceholderCells), which the caller puts in its view
// instead.
func (g Graphics) Place(id uint32, img image.Image, cols, rows int) (string, error) {
	cols, rows = clampSize(cols, rows)
	if cols == 0 || rows == 0 {
		return "", nil
	}
	switch g.Protocol {
	case KittyPlaceholders:
		return PlaceholderCells(id, cols, rows), nil
	case KittyDirect:
		return g.wrap(ansi.KittyGraphics(nil, "a=p", "i="+strconv.FormatUint(uint64(id), 10),
			"c="+strconv.Itoa(cols), "r="+strconv.Itoa(rows), "C=1", "q=2")), nil
	case Sixel:
		cw, ch := g.CellSize()
		px := fitGrid(img, cols*cw, rows*ch)
		var payload bytes.Buffer
		if err := new(sixel.Encoder).Encode(&payload, px); err != nil {
			return "", fmt.Errorf("art: sixel: %w", err)
		}
		// P2 = 1: pixels the image leaves unset keep the background.
		return g.wrap(ansi.SixelGraphics(0, 1, 0, payload.Bytes())), nil
	case ITerm2:
		var data bytes.Buffer
		if err := png.Encode(&data, g.padToCells(img, cols, rows)); err != nil {
			return "", fmt.Errorf("art: iterm2: %w", err)
		}
		return g.wrap(ansi.ITerm2(iterm2.File{
			Name: base64.StdEncoding.EncodeToString([]byte("icon.png")), Size: int64(data.Len()),
			Width: iterm2.Cells(cols), Height: iterm2.Cells(rows), Inline: true, DoNotMoveCursor: true,
			Content: []byte(base64.StdEncoding.EncodeToString(data.Bytes())),
		})), nil
	}
	return "", fmt.Errorf("art: unknown graphics protocol %d", g.Protocol)
}

// Delete returns what removes image id and frees its data on the terminal
// (kitty; "" for protocols that keep nothing).
func (g Graphics) Delete(id uint32) string {
	if g.Protocol != KittyPlaceholders && g.Protocol != KittyDirect {
		return ""
	}
	return g.wrap(ansi.KittyGraphics(nil, "a=d", "d=I", "i="+strconv.FormatUint(uint64(id), 10), "q=2"))
}

// MaxPlaceholderCells is the most rows or columns a kitty placeholder
// placement can address: the protocol has 256 row/column diacritics (the
// first 256 of its table).
const MaxPlaceholderCells = 256

// PlaceholderCells returns the text of a kitty virtual placement: rows
// lines of cols cells, each U+10EEEE with its row and column diacritics, in
// a foreground colour that is the image id. Each line resets its colour.
// Terminals count each cell as one column wide.
func PlaceholderCells(id uint32, cols, rows int) string {
	cols, rows = min(max(cols, 0), MaxPlaceholderCells), min(max(rows, 0), MaxPlaceholderCells)
	if cols == 0 || rows == 0 {
		return ""
	}
	sgr := fmt.Sprintf("\x1b[38;2;%d;%d;%dm", id>>16&0xff, id>>8&0xff, id&0xff)
	var b strings.Builder
	for y := 0; y < rows; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(sgr)
		for x := 0; x < cols; x++ {
			b.WriteRune(kitty.Placeholder)
			b.WriteRune(kitty.Diacritic(y))
			b.WriteRune(kitty.Diacritic(x))
		}
		b.WriteString("\x1b[39m")
	}
	return b.String()
}
