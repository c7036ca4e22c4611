package tui

import (
	"image/color"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/kitty"

	"github.com/sipbuddy/sipbuddy/tui/art"
)

// kitty without Unicode placeholders (kitty 0.26): direct placements.
//
// The art of an icon is still its placeholder cells, so the frame says
// where each icon is; View shows those cells blank (blankPlaceholders), and
// after every update the frame is scanned (scanPlaceholders). Placements
// that moved or went are deleted at once, so they are gone before the next
// frame draws (Bubble Tea writes queued raw output before the frame); new
// ones are placed once the frame stayed the same for directPlaceDelay, so
// it is on the terminal (a frame may scroll lines, and images with them). A resize clears every placement (the
// renderer redraws the whole screen). A dialog draws icons as text art, so
// no image is ever over a dialog.

// directPlaceDelay is how long after a change of layout the images are
// placed: two frames of Bubble Tea's renderer (60 per second), so the
// frame that reserved their cells was written first.
const directPlaceDelay = 40 * time.Millisecond

// placement is one image on the screen: its id and the top-left cell of
// its cols x rows cells.
type placement struct {
	id               uint32
	x, y, cols, rows int
}

// directState is what has been placed on the terminal.
type directState struct {
	placed map[placement]bool
	armed  bool // a directPlaceMsg is on its way
	// lastFrame and lastScan keep the last frame scanned: most updates
	// leave the frame as it was.
	lastFrame string
	lastScan  map[placement]bool
	// frameOf is the Model.updates of the model lastFrame was rendered
	// from: when it is the model View draws, View uses lastFrame instead
	// of rendering the same screen a second time.
	frameOf uint64
	// gen is bumped whenever the frame changes or the screen is redrawn
	// whole: a place message of an older generation re-arms, so images
	// are placed only on a frame that stayed directPlaceDelay on screen
	// (written, scrolled and all, before the placements).
	gen int
}

// directPlaceMsg places the images of the frame of generation gen.
type directPlaceMsg struct{ gen int }

func (d *directState) reset() {
	clear(d.placed)
	d.gen++
}

// forget drops an image's placements (the image itself is being deleted).
func (d *directState) forget(id uint32) {
	for p := range d.placed {
		if p.id == id {
			delete(d.placed, p)
		}
	}
}

// deleteAllPlacements removes every placement, keeping the images' data.
func deleteAllPlacements() string {
	return ansi.KittyGraphics(nil, "a=d", "d=a", "q=2")
}

// deletePlacements removes the placements of image id, keeping its data.
func deletePlacements(id uint32) string {
	return ansi.KittyGraphics(nil, "a=d", "d=i", "i="+strconv.FormatUint(uint64(id), 10), "q=2")
}

// placeAt draws image p.id in its cells: the cursor moves there and back
// (DECSC/DECRC), so the renderer's idea of the cursor stays right. The
// placement id is the cell's position, so one image can show twice.
func placeAt(p placement) string {
	pid := p.y<<12 | p.x&0xfff + 1
	return ansi.SaveCursor + ansi.CursorPosition(p.x+1, p.y+1) +
		ansi.KittyGraphics(nil, "a=p", "i="+strconv.FormatUint(uint64(p.id), 10), "p="+strconv.Itoa(pid),
			"c="+strconv.Itoa(p.cols), "r="+strconv.Itoa(p.rows), "C=1", "q=2") +
		ansi.RestoreCursor
}

// syncDirect compares the placements the frame wants with those on the
// terminal (after each update, kitty-direct only).
func (m *Model) syncDirect() tea.Cmd {
	g := m.gfx
	if g.g == nil || g.g.Protocol != art.KittyDirect || g.quitting || m.c.width <= 0 {
		return nil
	}
	d := &g.direct
	if d.placed == nil {
		d.placed = map[placement]bool{}
	}
	want := m.framePlacements()
	gone := map[uint32]bool{}
	for p := range d.placed {
		if !want[p] {
			gone[p.id] = true
		}
	}
	for id := range gone {
		g.queue(deletePlacements(id))
		d.forget(id)
	}
	for p := range want {
		if !d.placed[p] && !d.armed {
			d.armed = true
			return m.c.after(directPlaceDelay, directPlaceMsg{gen: d.gen})
		}
	}
	return nil
}

// placeDirect places the images of the current frame that are not placed.
func (m *Model) placeDirect(msg directPlaceMsg) {
	g := m.gfx
	d := &g.direct
	d.armed = false // a stale message re-arms in syncDirect
	if msg.gen != d.gen || g.g == nil || g.g.Protocol != art.KittyDirect || g.quitting {
		return
	}
	for p := range m.framePlacements() {
		if !d.placed[p] {
			g.queue(placeAt(p))
			d.placed[p] = true
		}
	}
}

// resizedDirect forgets every placement: the renderer redraws the whole
// screen after a resize.
func (m *Model) resizedDirect() {
	g := m.gfx
	if g.g != nil && g.g.Protocol == art.KittyDirect {
		g.queue(deleteAllPlacements())
		g.direct.reset()
	}
}

// diacriticIndex maps a kitty row/column diacritic to its number.
var diacriticIndex = func() map[rune]int {
	m := make(map[rune]int, art.MaxPlaceholderCells)
	for i := 0; i < art.MaxPlaceholderCells; i++ {
		m[kitty.Diacritic(i)] = i
	}
	return m
}()

func isDiacritic(r rune) bool {
	_, ok := diacriticIndex[r]
	return ok
}

// framePlacements are the placements of the current frame whose images
// are whole on screen (the size their art was made for).
func (m *Model) framePlacements() map[placement]bool {
	d := &m.gfx.direct
	frame := m.render()
	if frame != d.lastFrame || d.lastScan == nil {
		d.lastFrame, d.lastScan = frame, scanPlaceholders(frame, m.c.width, m.c.height)
		d.gen++
	}
	d.frameOf = m.updates
	out := make(map[placement]bool, len(d.lastScan))
	for p := range d.lastScan {
		out[p] = true
	}
	for p := range out {
		if k, ok := m.gfx.byID[p.id]; !ok || k.cols != p.cols || k.rows != p.rows {
			delete(out, p)
		}
	}
	return out
}

// placeholderCell decodes a cell of a kitty virtual placement: its image
// id (the foreground colour), row and column.
func placeholderCell(c *uv.Cell) (id uint32, row, col int, ok bool) {
	if c == nil {
		return 0, 0, 0, false
	}
	rs := []rune(c.Content)
	if len(rs) != 3 || rs[0] != kitty.Placeholder || c.Style.Fg == nil {
		return 0, 0, 0, false
	}
	row, okr := diacriticIndex[rs[1]]
	col, okc := diacriticIndex[rs[2]]
	if !okr || !okc {
		return 0, 0, 0, false
	}
	rgb, okrgb := c.Style.Fg.(color.RGBA)
	if !okrgb {
		r, g, b, _ := c.Style.Fg.RGBA()
		rgb = color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8)}
	}
	return uint32(rgb.R)<<16 | uint32(rgb.G)<<8 | uint32(rgb.B), row, col, true
}

// scanPlaceholders finds the whole virtual placements in a w x h frame:
// cells that start at row 0, column 0 of an image, with every cell of its
// rectangle present (a placement cut by the screen's edge is not placed).
// The size of each comes from the cells.
func scanPlaceholders(frame string, w, h int) map[placement]bool {
	out := map[placement]bool{}
	if w <= 0 || h <= 0 || !strings.ContainsRune(frame, kitty.Placeholder) {
		return out
	}
	buf := uv.NewScreenBuffer(w, h)
	uv.NewStyledString(frame).Draw(buf, buf.Bounds())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			id, row, col, ok := placeholderCell(buf.CellAt(x, y))
			if !ok || row != 0 || col != 0 {
				continue
			}
			cols := 1
			for ; x+cols < w; cols++ {
				cid, r, c, ok := placeholderCell(buf.CellAt(x+cols, y))
				if !ok || cid != id || r != 0 || c != cols {
					break
				}
			}
			rows := 1
		down:
			for ; y+rows < h; rows++ {
				for c := 0; c < cols; c++ {
					cid, r, cc, ok := placeholderCell(buf.CellAt(x+c, y+rows))
					if !ok || cid != id || r != rows || cc != c {
						break down
					}
				}
			}
			out[placement{id: id, x: x, y: y, cols: cols, rows: rows}] = true
		}
	}
	return out
}

// blankPlaceholders shows placeholder cells as spaces (a terminal without
// Unicode placeholders would draw U+10EEEE as a missing glyph).
func blankPlaceholders(s string) string {
	if !strings.ContainsRune(s, kitty.Placeholder) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	skip := false
	for _, r := range s {
		switch {
		case r == kitty.Placeholder:
			b.WriteByte(' ')
			skip = true
		case skip && isDiacritic(r):
		default:
			skip = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// directFrame is the frame View draws in kitty-direct mode: the one
// syncDirect rendered at the end of this model's Update when there is
// one, with the placeholder cells blanked where the images go.
func (m *Model) directFrame() string {
	d := &m.gfx.direct
	frame := d.lastFrame
	if d.lastScan == nil || d.frameOf != m.updates {
		frame = m.render()
	}
	return blankPlaceholders(frame)
}
