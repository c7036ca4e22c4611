package tui

import (
	"image"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
)

// Icons in pixels. With the kitty graphics protocol each icon (content
// hash, cols, rows) is transmitted to the terminal once, under an image id
// from art.ImageIDs, and the art the list, the header and the detail pane
// show is the id's placeholder cells (art.PlaceholderCells): View keeps
// holding only text, so Bubble Tea's cell renderer, scrolling, dialogs and
// resizes stay correct. Without Unicode placeholders (kitty 0.26) the same
// cells mark where the icons are, View shows them blank, and kittydirect.go
// places the images there after the frame. Every byte for the terminal goes
// through one ordered queue (gfxState.out), one tea.Raw in flight at a
// time, so a deletion never overtakes the transmission it follows, and on
// quit the deletions are the last bytes written.

// gfxState is the pixel side of a program's icons, shared by the copies of
// its Model (Bubble Tea copies the model on every update).
type gfxState struct {
	probe   *termcaps.Probe // nil once the probe is over
	caps    termcaps.Caps
	profile colorprofile.Profile
	want    string           // the render mode asked for (termcaps.RenderModes)
	auto    *termcaps.Choice // what "auto" picks; nil until the probe is over
	current string           // the mode in use, by name

	g    *art.Graphics // the active protocol (kitty or kitty-direct); nil: text art
	ids  *art.ImageIDs
	byID map[uint32]artKey // the art that shows each id (transmitted)
	// pending holds the ids whose transmission is being encoded: an id
	// evicted (and maybe reused) meanwhile drops its late transmission.
	pending map[uint32]artKey
	gen     int // bumped when the protocol changes: older transmissions are dropped

	out      strings.Builder // bytes for the terminal, in order
	flushing bool            // a tea.Raw of out is on its way
	quitting bool            // quit once out is written

	direct directState
}

func newGfxState(want string, profile colorprofile.Profile, h termcaps.Hints) *gfxState {
	return &gfxState{
		probe:   termcaps.NewProbe(h),
		profile: profile,
		want:    want,
		ids:     art.NewImageIDs(MaxKittyImages),
		byID:    map[uint32]artKey{},
		pending: map[uint32]artKey{},
	}
}

// MaxKittyImages bounds the images a program keeps on the terminal: every
// icon of a screen at its sizes, many times over. The least recently used
// one is deleted when a new one needs room.
const MaxKittyImages = art.DefaultKittyImages

// gfxMsg delivers a transmission encoded off the loop.
type gfxMsg struct {
	gen     int
	key     artKey
	id      uint32
	payload string
	err     error
}

// gfxFlushedMsg says the queued bytes reached the program's output.
type gfxFlushedMsg struct{}

// pixels reports whether icons are drawn with a graphics protocol.
func (g *gfxState) pixels() bool { return g.g != nil }

// queue appends bytes for the terminal.
func (g *gfxState) queue(s string) { g.out.WriteString(s) }

// artKey returns the key of an icon's art in the current mode: placeholder
// cells of a pixel image, or text art.
func (m *Model) artKey(hash string, cols, rows int) artKey {
	if m.gfx.pixels() && !(m.gfx.g.Protocol == art.KittyDirect && m.dialogs.open()) {
		return artKey{hash: hash, cols: cols, rows: rows, px: true}
	}
	return artKey{hash: hash, cols: cols, rows: rows, mode: m.c.mode}
}

// requestPixels allocates image ids for keys (pixel art not on hand) and
// returns the commands that encode the fresh ones off the loop. Images
// evicted to make room are deleted on the terminal first.
func (m *Model) requestPixels(keys []artKey) tea.Cmd {
	g := m.gfx
	var cmds []tea.Cmd
	for _, k := range keys {
		thumb := m.arts.source(k.hash, needsLarge(g.g, k.cols, k.rows))
		if thumb == nil {
			delete(m.arts.inflight, k)
			continue
		}
		id, fresh, evicted := g.ids.Acquire(k.hash, k.cols, k.rows)
		for _, e := range evicted {
			m.forgetImage(e)
		}
		if _, sending := g.pending[id]; sending {
			continue // shown when its transmission is queued (or never, if it failed)
		}
		if !fresh {
			m.showImage(k, id)
			continue
		}
		g.pending[id] = k
		cmds = append(cmds, encodeImage(*g.g, g.gen, k, id, thumb))
	}
	return tea.Batch(cmds...)
}

// needsLarge reports whether an image of cols x rows cells has more
// pixels on this terminal than a thumbnail has.
func needsLarge(g *art.Graphics, cols, rows int) bool {
	cw, ch := g.CellSize()
	return cols*cw > account.ThumbSide || rows*ch > account.ThumbSide
}

// encodeImage encodes a transmission (PNG, base64, chunked) off the loop,
// of a picture no larger than the cells show.
func encodeImage(gr art.Graphics, gen int, k artKey, id uint32, thumb image.Image) tea.Cmd {
	return func() tea.Msg {
		cw, ch := gr.CellSize()
		thumb = account.ScaleDown(thumb, max(account.ThumbSide, k.cols*cw, k.rows*ch))
		p, err := gr.Transmit(id, thumb, k.cols, k.rows)
		return gfxMsg{gen: gen, key: k, id: id, payload: p, err: err}
	}
}

// gotImage queues a transmission and shows its image.
func (m *Model) gotImage(msg gfxMsg) {
	g := m.gfx
	delete(m.arts.inflight, msg.key)
	if k, ok := g.pending[msg.id]; !ok || k != msg.key || msg.gen != g.gen || !g.pixels() || g.quitting {
		return // evicted, or the protocol changed meanwhile: the id was released
	}
	if msg.err != nil {
		// The id stays pending: the row keeps its initials tile rather
		// than asking again on every update.
		m.logDetail(account.LogError, "icon image: "+msg.err.Error())
		return
	}
	delete(g.pending, msg.id)
	g.queue(msg.payload)
	m.showImage(msg.key, msg.id)
}

// showImage stores the placeholder cells of a transmitted image as the art
// of its key.
func (m *Model) showImage(k artKey, id uint32) {
	delete(m.arts.inflight, k)
	m.gfx.byID[id] = k
	m.arts.arts.Add(k, art.PlaceholderCells(id, k.cols, k.rows))
}

// forgetImage deletes an evicted image on the terminal and its art.
func (m *Model) forgetImage(id uint32) {
	g := m.gfx
	if k, ok := g.pending[id]; ok { // never sent
		delete(g.pending, id)
		delete(m.arts.inflight, k)
		return
	}
	if k, ok := g.byID[id]; ok {
		m.arts.arts.Remove(k)
		delete(g.byID, id)
	}
	g.direct.forget(id)
	g.queue(g.g.Delete(id))
}

// dropImages deletes every image on the terminal and forgets their art
// (quit, or a change of protocol).
func (m *Model) dropImages() {
	g := m.gfx
	if g.g == nil {
		return
	}
	if g.g.Protocol == art.KittyDirect {
		g.queue(deleteAllPlacements())
	}
	for _, id := range g.ids.Release() {
		if _, ok := g.pending[id]; !ok {
			g.queue(g.g.Delete(id))
		}
	}
	clear(g.pending)
	for _, k := range m.arts.arts.Keys() {
		if k.px {
			m.arts.arts.Remove(k)
		}
	}
	for k := range m.arts.inflight {
		if k.px {
			delete(m.arts.inflight, k)
		}
	}
	clear(g.byID)
	g.direct.reset()
	g.gen++
}

// QuitMsg ends the program the way q does: the images it left on the
// terminal are deleted first (tea.Quit from outside would skip that).
type QuitMsg struct{}

// quit deletes every image, then ends the program once those bytes are
// written.
func (m *Model) quit() tea.Cmd {
	if m.gfx.quitting {
		return nil
	}
	m.dropImages()
	m.gfx.g = nil
	if m.gfx.out.Len() == 0 && !m.gfx.flushing {
		return tea.Quit
	}
	m.gfx.quitting = true
	return nil
}

// flushGfx sends the queued bytes, one tea.Raw at a time (tea.Sequence
// keeps each one before the message that allows the next).
func (m *Model) flushGfx() tea.Cmd {
	g := m.gfx
	if g.flushing || (g.out.Len() == 0 && !g.quitting) {
		return nil
	}
	s := g.out.String()
	g.out.Reset()
	if g.quitting {
		g.flushing = true
		return tea.Sequence(tea.Raw(s), tea.Quit)
	}
	g.flushing = true
	return tea.Sequence(tea.Raw(s), func() tea.Msg { return gfxFlushedMsg{} })
}

// setMode switches icons to a render mode by name (termcaps.RenderModes).
// Pixel modes this program cannot keep correct fall back to symbol art;
// why says so ("" when the mode is drawn as asked).
func (m *Model) setMode(name string) (why string, err error) {
	g := m.gfx
	ch, err := g.choose(name)
	if err != nil {
		return "", err
	}
	var gr *art.Graphics
	if ch.Graphics != nil {
		switch p := ch.Graphics.Protocol; {
		case p == art.KittyDirect && g.caps.Tmux:
			why = "kitty without placeholders cannot place images inside tmux"
		case p == art.Sixel || p == art.ITerm2:
			why = p.String() + " images cannot follow a scrolling list; see docs/design.md"
		default:
			gr = ch.Graphics
		}
	}
	if gr == nil || g.g == nil || *gr != *g.g {
		m.dropImages()
		g.g = gr
	}
	m.c.mode = ch.Text.Mode
	g.current = ch.String()
	if gr == nil {
		g.current = ch.Text.Mode.String()
	}
	return why, nil
}

// choose is termcaps' Choice for a mode, except that "auto" on a terminal
// with sixel (or iTerm2) and kitty without placeholders (Konsole) takes
// kitty-direct, which this program keeps correct.
func (g *gfxState) choose(name string) (termcaps.Choice, error) {
	ch, err := g.caps.Choose(name, g.profile)
	if err != nil || name != "auto" || ch.Graphics == nil {
		return ch, err
	}
	if p := ch.Graphics.Protocol; (p == art.Sixel || p == art.ITerm2) && g.caps.Kitty && !g.caps.Tmux {
		return g.caps.Choose("kitty-direct", g.profile)
	}
	return ch, nil
}

// drawable reports whether this program draws a choice in pixels (the
// others fall back to symbol art, see setMode).
func (g *gfxState) drawable(ch termcaps.Choice) bool {
	if ch.Graphics == nil {
		return false
	}
	switch ch.Graphics.Protocol {
	case art.KittyPlaceholders:
		return true
	case art.KittyDirect:
		return !g.caps.Tmux
	}
	return false
}

// announceMode says on the status bar which icon mode is in use.
func (m *Model) announceMode(why string, err error) {
	switch {
	case err != nil:
		m.setStatus(statusError, "Icons: "+err.Error())
	case why != "":
		m.setStatus(statusInfo, "Icons: "+m.iconModeLabel()+" ("+why+")")
	default:
		m.setStatus(statusInfo, "Icons: "+m.iconModeLabel())
	}
}

// iconModeLabel names the icon mode in use for the status bar.
func (m *Model) iconModeLabel() string {
	if m.gfx.pixels() {
		return m.gfx.g.Protocol.String()
	}
	return modeLabel(m.c.mode)
}

// renderCycle is the order m steps through: the pixel mode the terminal
// answered for first, then the text modes.
func (m *Model) renderCycle() []string {
	var c []string
	if a := m.gfx.auto; a != nil && m.gfx.drawable(*a) {
		c = append(c, a.String())
	}
	for _, md := range artCycle {
		c = append(c, md.String())
	}
	return c
}

// cycleMode is the m key: the next mode of renderCycle, saved for the next
// start ("auto" when it is what auto picks, so a terminal that cannot draw
// it does not inherit it).
func (m *Model) cycleMode() {
	cur := m.gfx.current
	if cur == "" {
		cur = m.c.mode.String()
	}
	cycle := m.renderCycle()
	next := cycle[0]
	for i, c := range cycle {
		if c == cur {
			next = cycle[(i+1)%len(cycle)]
		}
	}
	m.announceMode(m.setMode(next))
	m.gfx.want = next // a key pressed while the probe runs is not undone by its end
	if m.b == nil {
		return
	}
	save := next
	if a := m.gfx.auto; a != nil && a.String() == next {
		save = "auto"
	}
	m.b.SaveRenderMode(save)
}
