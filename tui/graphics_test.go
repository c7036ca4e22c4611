package tui

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/art/arttest"
)

// gdriver runs a model synchronously, the way drive does, and plays every
// byte the program writes with tea.Raw to a kitty terminal
// (arttest.Kitty), which checks each command. tea.Sequence runs in order;
// timers fire once the queue is empty (a synchronous driver cannot wait).
type gdriver struct {
	t      testing.TB
	m      Model
	term   *arttest.Kitty
	raw    strings.Builder
	quit   bool
	timers []tea.Msg
}

type timerMsg struct{ msg tea.Msg }

func newGDriver(t testing.TB, o Options) *gdriver {
	d := &gdriver{t: t, m: newTestModel(o), term: arttest.NewKitty()}
	d.m.c.after = func(_ time.Duration, msg tea.Msg) tea.Cmd { return func() tea.Msg { return timerMsg{msg} } }
	d.m.c.now = func() time.Time { return testTime }
	return d
}

var cmdSlice = reflect.TypeOf([]tea.Cmd(nil))

func (d *gdriver) handle(msg tea.Msg, depth int) {
	d.t.Helper()
	if depth > 10000 {
		d.t.Fatal("gdriver: runaway commands")
	}
	switch msg := msg.(type) {
	case nil:
		return
	case timerMsg:
		if _, ok := msg.msg.(statusExpiredMsg); !ok {
			d.timers = append(d.timers, msg.msg)
		}
		return
	case tea.RawMsg:
		s := fmt.Sprint(msg.Msg)
		d.raw.WriteString(s)
		if err := d.term.Write(s); err != nil {
			d.t.Fatalf("the terminal refused the program's bytes: %v", err)
		}
		return
	case tea.QuitMsg:
		d.quit = true
		return
	}
	if v := reflect.ValueOf(msg); v.Type().ConvertibleTo(cmdSlice) {
		// tea.BatchMsg and tea.Sequence's message: run in order (a valid
		// order for a batch, the only one for a sequence).
		for _, c := range v.Convert(cmdSlice).Interface().([]tea.Cmd) {
			if c != nil && !d.quit {
				d.handle(c(), depth+1)
			}
		}
		return
	}
	if fmt.Sprintf("%T", msg) == "cursor.initialBlinkMsg" || d.quit {
		return
	}
	nm, cmd := d.m.Update(msg)
	d.m = nm.(Model)
	if cmd != nil {
		d.handle(cmd(), depth+1)
	}
}

// send handles msgs, then the timers they armed, until none is left.
func (d *gdriver) send(msgs ...tea.Msg) {
	d.t.Helper()
	for _, msg := range msgs {
		d.handle(msg, 0)
	}
	for i := 0; len(d.timers) > 0 && !d.quit; i++ {
		if i > 1000 {
			d.t.Fatalf("gdriver: timers re-arm forever: %#v", d.timers)
		}
		ts := d.timers
		d.timers = nil
		for _, msg := range ts {
			d.handle(msg, 0)
		}
	}
}

func (d *gdriver) keys(ks ...string) {
	d.t.Helper()
	for _, k := range ks {
		switch k {
		case "pgdown":
			d.send(tea.KeyPressMsg{Code: tea.KeyPgDown})
		case "pgup":
			d.send(tea.KeyPressMsg{Code: tea.KeyPgUp})
		default:
			d.send(keyMsg(k))
		}
	}
}

// kittyReplies are what a kitty terminal answers to the probe.
func kittyReplies(version string) []tea.Msg {
	return []tea.Msg{
		uv.KittyGraphicsEvent{Options: kitty.Options{ID: 31}, Payload: []byte("OK")},
		uv.CellSizeEvent{Width: 9, Height: 20}, // not 1:2, so icons are padded to the cells' shape
		tea.TerminalVersionMsg{Name: version},
		uv.PrimaryDeviceAttributesEvent{62, 22},
	}
}

// iconList is n buddies, each with its own icon (the disc's colour tells
// them apart: red is the index), and my own icon.
func iconList(n int) ([]account.Event, map[string]color.RGBA) {
	colours := map[string]color.RGBA{}
	var buddies []account.Buddy
	ev := []account.Event{account.AccountEvent{AOR: "sip:me@example.test", DisplayName: "Mia Example", State: ua.Registered}}
	for i := 0; i < n; i++ {
		buddies = append(buddies, account.Buddy{URI: fmt.Sprintf("sip:b%03d@example.test", i), DisplayName: fmt.Sprintf("Buddy %03d", i)})
	}
	ev = append(ev, account.BuddiesEvent{Buddies: buddies})
	for i, b := range buddies {
		hash := fmt.Sprintf("%040d", i+1)
		c := color.RGBA{R: uint8(i), G: 255 - uint8(i), B: uint8(i * 7), A: 255}
		colours[hash] = c
		ev = append(ev,
			account.PresenceEvent{URI: b.URI, At: testTime, State: pidf.State{Entity: b.URI, Basic: pidf.BasicOpen, IconHash: hash}},
			account.IconEvent{URI: b.URI, Hash: hash, Thumb: testIcon(c, 64)})
	}
	me := fmt.Sprintf("%040d", 9999)
	colours[me] = color.RGBA{R: 250, G: 10, B: 250, A: 255}
	ev = append(ev, account.IconEvent{URI: "sip:me@example.test", Hash: me, Thumb: testIcon(colours[me], 64)})
	return ev, colours
}

func centre(img image.Image) color.RGBA {
	b := img.Bounds()
	r, g, bl, a := img.At((b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}
}

// checkFrame checks the frame against the terminal: every placeholder cell
// names an image the terminal holds, within its size, and that image is the
// icon of what the cell shows (its colour); with no dialog open every
// visible row, my header and the detail pane show their icon whole.
func (d *gdriver) checkFrame(step string, colours map[string]color.RGBA) {
	d.t.Helper()
	m := &d.m
	frame := m.View().Content
	w, h := m.c.width, m.c.height
	buf := uv.NewScreenBuffer(w, h)
	uv.NewStyledString(frame).Draw(buf, buf.Bounds())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			id, row, col, ok := placeholderCell(buf.CellAt(x, y))
			if !ok {
				continue
			}
			img, held := d.term.Images[id]
			k, known := m.gfx.byID[id]
			if !held || !known {
				d.t.Fatalf("%s: cell (%d,%d) shows image %d, held by the terminal %v, known %v", step, x, y, id, held, known)
			}
			if row >= k.rows || col >= k.cols {
				d.t.Fatalf("%s: cell (%d,%d) is (%d,%d) of image %d of %dx%d cells", step, x, y, row, col, id, k.cols, k.rows)
			}
			if got := centre(img); got != colours[k.hash] {
				d.t.Fatalf("%s: image %d shows %v, want the icon of %s (%v)", step, id, got, k.hash, colours[k.hash])
			}
		}
	}
	if m.dialogs.open() {
		return
	}
	whole := scanPlaceholders(frame, w, h)
	at := map[[2]int]string{}
	for p := range whole {
		at[[2]int{p.x, p.y}] = m.gfx.byID[p.id].hash
	}
	lay := m.layout()
	y0 := headerHeight
	if m.list.showFilterLine() {
		y0++
	}
	n := 0
	for i := m.list.offset; i < len(m.list.visible) && (i-m.list.offset+1)*m.list.rowHeight <= lay.listRows; i++ {
		b := m.list.visible[i]
		if got := at[[2]int{cursorW, y0 + (i-m.list.offset)*m.list.rowHeight}]; got != b.IconHash {
			d.t.Fatalf("%s: row %d (%s) shows icon %q, want %q\n%s", step, i, b.URI, got, b.IconHash, plain(d.m))
		}
		n++
	}
	if got := at[[2]int{0, 0}]; got != m.self.IconHash {
		d.t.Fatalf("%s: my header shows icon %q, want %q", step, got, m.self.IconHash)
	}
	want := n + 1
	if lay.detailW > 0 {
		want++
	}
	if len(whole) != want {
		d.t.Fatalf("%s: %d whole icons on screen, want %d (%d rows, my own, the detail pane's)", step, len(whole), want, n)
	}
}

// A 200-buddy list in kitty placeholder mode, through scrolling, every
// dialog, resizes, m and q: every frame shows exactly the visible icons,
// each an image the terminal holds with the right pixels, images are sent
// once and freed, and quitting deletes every image last.
func TestKittyPlaceholdersThroughEverything(t *testing.T) {
	for _, small := range []bool{false, true} {
		t.Run(fmt.Sprintf("evicting=%v", small), func(t *testing.T) {
			d := newGDriver(t, Options{})
			if small {
				d.m.gfx.ids = art.NewImageIDs(40) // fewer than the rows scrolled past: ids are reused
			}
			d.send(tea.WindowSizeMsg{Width: 120, Height: 40}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
			d.send(kittyReplies("kitty(0.41.1)")...)
			if d.m.gfx.current != "kitty" {
				t.Fatalf("kitty 0.41 answered; mode %q, want kitty", d.m.gfx.current)
			}
			evs, colours := iconList(200)
			for _, ev := range evs {
				d.send(ev)
			}
			d.checkFrame("start", colours)
			sent := strings.Count(strings.Join(d.term.Actions, "\n"), "t ")
			d.send(tea.WindowSizeMsg{Width: 120, Height: 40})
			if again := strings.Count(strings.Join(d.term.Actions, "\n"), "t "); again != sent {
				t.Fatalf("a redraw sent %d images again", again-sent)
			}
			for i := 0; i < 60; i++ {
				d.keys("down")
				d.checkFrame(fmt.Sprintf("down %d", i), colours)
			}
			for _, k := range []string{"pgdown", "pgdown", "G", "pgup", "g", "/", "b", "0", "esc", "esc"} {
				d.keys(k)
				d.checkFrame("key "+k, colours)
			}
			for _, k := range []string{"s", "n", "a", "x", "w", "p", "?", "D"} {
				d.keys(k)
				d.checkFrame("dialog "+k, colours)
				d.keys("esc")
				d.checkFrame("after dialog "+k, colours)
			}
			d.keys("?", "D") // help and the debug pane off again
			for _, sz := range [][2]int{{80, 24}, {200, 60}, {60, 20}, {120, 40}} {
				d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				d.checkFrame(fmt.Sprintf("%dx%d", sz[0], sz[1]), colours)
			}
			if small && d.m.gfx.ids.Len() > 40 {
				t.Fatalf("%d images held, the bound is 40", d.m.gfx.ids.Len())
			}
			if len(d.term.Images) != d.m.gfx.ids.Len() {
				t.Fatalf("the terminal holds %d images, the program knows of %d", len(d.term.Images), d.m.gfx.ids.Len())
			}
			d.keys("m")
			if d.m.gfx.current != "symbols" || len(d.term.Images) != 0 || strings.ContainsRune(d.m.View().Content, kitty.Placeholder) {
				t.Fatalf("after m: mode %q, %d images on the terminal, placeholders on screen %v",
					d.m.gfx.current, len(d.term.Images), strings.ContainsRune(d.m.View().Content, kitty.Placeholder))
			}
			d.keys("m", "m", "m", "m")
			if d.m.gfx.current != "kitty" {
				t.Fatalf("m went round to %q, want kitty again", d.m.gfx.current)
			}
			d.checkFrame("back to kitty", colours)
			d.keys("j")
			d.checkFrame("back to kitty, down", colours)
			d.keys("q")
			if !d.quit {
				t.Fatal("q did not quit")
			}
			if len(d.term.Images) != 0 {
				t.Fatalf("%d images left on the terminal after q", len(d.term.Images))
			}
			last := d.term.Actions[len(d.term.Actions)-1]
			if !strings.HasPrefix(last, "d ") || !strings.HasSuffix(d.raw.String(), "\x1b\\") {
				t.Fatalf("the last command written is %q, want a deletion", last)
			}
		})
	}
}

// checkDirect checks kitty-direct: the frame holds no placeholder cells
// (kitty 0.26 would draw them as missing glyphs), and the placements on the
// terminal are exactly the icons of the frame, at their cells, with the
// right pixels; none while a dialog is open.
func (d *gdriver) checkDirect(step string, colours map[string]color.RGBA) {
	d.t.Helper()
	m := &d.m
	if strings.ContainsRune(m.View().Content, kitty.Placeholder) {
		d.t.Fatalf("%s: placeholder cells on a screen without placeholders", step)
	}
	want := m.framePlacements()
	if m.dialogs.open() {
		if len(d.term.Placed) != 0 || len(want) != 0 {
			d.t.Fatalf("%s: %d images placed under an open dialog", step, len(d.term.Placed))
		}
		return
	}
	got := map[placement]bool{}
	for k, v := range d.term.Placed {
		got[placement{id: k[0], x: v[0], y: v[1], cols: v[2], rows: v[3]}] = true
		if c := centre(d.term.Images[k[0]]); c != colours[m.gfx.byID[k[0]].hash] {
			d.t.Fatalf("%s: image %d shows %v, want %v", step, k[0], c, colours[m.gfx.byID[k[0]].hash])
		}
	}
	if !reflect.DeepEqual(got, want) {
		d.t.Fatalf("%s: placed %v, the frame has icons at %v", step, got, want)
	}
	lay := m.layout()
	rows := min(len(m.list.visible)-m.list.offset, lay.listRows/m.list.rowHeight)
	n := rows + 1
	if lay.detailW > 0 {
		n++
	}
	if len(want) != n {
		d.t.Fatalf("%s: %d icons placed, want %d (%d rows, mine, the detail pane's)", step, len(want), n, rows)
	}
}

// kitty 0.26 (no Unicode placeholders): direct placements follow the
// frame through scrolling, dialogs, resizes, m and q.
func TestKittyDirectThroughEverything(t *testing.T) {
	d := newGDriver(t, Options{})
	d.m.gfx.ids = art.NewImageIDs(40)
	d.send(tea.WindowSizeMsg{Width: 120, Height: 40}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
	d.send(kittyReplies("kitty(0.26.5)")...)
	if d.m.gfx.current != "kitty-direct" {
		t.Fatalf("kitty 0.26 answered; mode %q, want kitty-direct", d.m.gfx.current)
	}
	evs, colours := iconList(200)
	for _, ev := range evs {
		d.send(ev)
	}
	d.checkDirect("start", colours)
	for i := 0; i < 40; i++ {
		d.keys("down")
		d.checkDirect(fmt.Sprintf("down %d", i), colours)
	}
	for _, k := range []string{"pgdown", "G", "pgup", "g", "/", "b", "0", "esc", "esc"} {
		d.keys(k)
		d.checkDirect("key "+k, colours)
	}
	for _, k := range []string{"s", "n", "a", "x", "w", "p"} {
		d.keys(k)
		d.checkDirect("dialog "+k, colours)
		d.keys("esc")
		d.checkDirect("after dialog "+k, colours)
	}
	for _, sz := range [][2]int{{80, 24}, {200, 60}, {60, 20}, {120, 40}} {
		d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		d.checkDirect(fmt.Sprintf("%dx%d", sz[0], sz[1]), colours)
	}
	d.keys("m")
	if d.m.gfx.current != "symbols" || len(d.term.Images) != 0 || len(d.term.Placed) != 0 {
		t.Fatalf("after m: mode %q, %d images and %d placements on the terminal", d.m.gfx.current, len(d.term.Images), len(d.term.Placed))
	}
	d.keys("m", "m", "m", "m")
	d.checkDirect("back to kitty-direct", colours)
	d.keys("q")
	if !d.quit || len(d.term.Images) != 0 || len(d.term.Placed) != 0 {
		t.Fatalf("after q: quit %v, %d images, %d placements left", d.quit, len(d.term.Images), len(d.term.Placed))
	}
	if last := d.term.Actions[len(d.term.Actions)-1]; !strings.HasPrefix(last, "d ") {
		t.Fatalf("the last command written is %q, want a deletion", last)
	}
}

// The kitty payload the program sends decodes to the icon's pixels: the
// account's thumbnail, centred on a transparent canvas of the cells' shape,
// and the placeholder cells on screen carry that image's id.
func TestKittyPayloadIsTheIcon(t *testing.T) {
	d := newGDriver(t, Options{})
	d.send(tea.WindowSizeMsg{Width: 120, Height: 40}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
	d.send(kittyReplies("kitty(0.41.1)")...)
	evs, _ := iconList(3)
	for _, ev := range evs {
		d.send(ev)
	}
	if len(d.term.Images) == 0 {
		t.Fatal("no image sent")
	}
	for id, img := range d.term.Images {
		k := d.m.gfx.byID[id]
		thumb, ok := d.m.arts.thumbs.Peek(k.hash)
		if !ok {
			t.Fatalf("image %d: no thumbnail for %s", id, k.hash)
		}
		tb, ib := thumb.Bounds(), img.Bounds()
		if ib.Dx() < tb.Dx() || ib.Dy() < tb.Dy() {
			t.Fatalf("image %d is %v, smaller than the thumbnail %v", id, ib, tb)
		}
		off := image.Pt((ib.Dx()-tb.Dx())/2, (ib.Dy()-tb.Dy())/2)
		for y := tb.Min.Y; y < tb.Max.Y; y++ {
			for x := tb.Min.X; x < tb.Max.X; x++ {
				r1, g1, b1, a1 := img.At(ib.Min.X+off.X+x-tb.Min.X, ib.Min.Y+off.Y+y-tb.Min.Y).RGBA()
				r2, g2, b2, a2 := thumb.At(x, y).RGBA()
				if [4]uint32{r1, g1, b1, a1} != [4]uint32{r2, g2, b2, a2} {
					t.Fatalf("image %d pixel (%d,%d) is %v, the icon's is %v", id, x, y, img.At(x+off.X, y+off.Y), thumb.At(x, y))
				}
			}
		}
		if _, _, _, a := img.At(ib.Min.X, ib.Min.Y).RGBA(); off != (image.Point{}) && a != 0 {
			t.Errorf("image %d: the padding is not transparent", id)
		}
	}
	ids := map[uint32]bool{}
	for p := range scanPlaceholders(d.m.View().Content, 120, 40) {
		ids[p.id] = true
		if _, ok := d.term.Images[p.id]; !ok {
			t.Errorf("placeholder cells carry id %d, which was never sent", p.id)
		}
	}
	if len(ids) != len(d.term.Images) {
		t.Errorf("%d ids on screen, %d images sent", len(ids), len(d.term.Images))
	}
}

// FuzzPlaceholderFrames feeds frames of any text to the scanner and the
// blanking of kitty-direct: neither panics, blanking leaves no placeholder,
// and every placement found lies inside the frame.
func FuzzPlaceholderFrames(f *testing.F) {
	f.Add(art.PlaceholderCells(7, 4, 2) + " text\n" + art.PlaceholderCells(0x10203, 3, 1))
	f.Add("\U0010EEEE\u0305\u0305\U0010EEEE\u0305")
	f.Add("\x1b[38;2;1;2;3m\U0010EEEE\u0305\u030d\x1b[39m")
	f.Fuzz(func(t *testing.T, frame string) {
		const w, h = 40, 10
		for p := range scanPlaceholders(frame, w, h) {
			if p.x < 0 || p.y < 0 || p.x+p.cols > w || p.y+p.rows > h || p.cols < 1 || p.rows < 1 {
				t.Fatalf("placement %+v outside the %dx%d frame", p, w, h)
			}
		}
		b := blankPlaceholders(frame)
		if strings.ContainsRune(b, kitty.Placeholder) {
			t.Fatalf("placeholder left in %q", b)
		}
	})
}

// In a real Bubble Tea program (teatest): the probe's queries go out, the
// kitty replies pick placeholders, the icons are transmitted, and after q
// the terminal holds no image and no kitty command follows the deletions.
func TestKittyQuitDeletesLastInAProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, New(nil, Options{Environ: []string{}, SteadyCursor: true}),
		teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.TrueColor)))
	for _, msg := range kittyReplies("kitty(0.41.1)") {
		tm.Send(msg)
	}
	evs, _ := iconList(30)
	for _, ev := range evs {
		tm.Send(ev)
	}
	var out []byte
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		out = append(out, b...)
		return strings.Count(string(out), string(kitty.Placeholder)) >= 10*8 // ten rows of 4x2 cells
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	rest, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	all := string(append(out, rest...))
	if !strings.Contains(all, "\x1b_Gi=31,") {
		t.Error("the probe's kitty query was not sent")
	}
	term := arttest.NewKitty()
	if err := term.Write(all); err != nil {
		t.Fatalf("the terminal refused the program's bytes: %v", err)
	}
	sent := strings.Count(strings.Join(term.Actions, "\n"), "t ")
	if sent < 11 || len(term.Images) != 0 {
		t.Fatalf("%d images sent, %d left after q", sent, len(term.Images))
	}
	if last := term.Actions[len(term.Actions)-1]; !strings.HasPrefix(last, "d ") {
		t.Fatalf("the last kitty command is %q, want a deletion", last)
	}
}

// QuitMsg (the SSH session's idle timeout) ends the program as q does: the
// images are deleted first.
func TestQuitMsgDeletesImages(t *testing.T) {
	d := newGDriver(t, Options{})
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
	d.send(kittyReplies("kitty(0.26.5)")...)
	evs, _ := iconList(5)
	for _, ev := range evs {
		d.send(ev)
	}
	if len(d.term.Images) == 0 || len(d.term.Placed) == 0 {
		t.Fatalf("%d images, %d placements before quitting", len(d.term.Images), len(d.term.Placed))
	}
	d.send(QuitMsg{})
	if !d.quit || len(d.term.Images) != 0 || len(d.term.Placed) != 0 {
		t.Fatalf("after QuitMsg: quit %v, %d images, %d placements left", d.quit, len(d.term.Images), len(d.term.Placed))
	}
}

// What the probe's answers make of "auto" and of m: Konsole (sixel and
// kitty without placeholders) gets kitty-direct; xterm -ti vt340 (sixel
// only) gets symbol art with the reason; kitty 0.26 inside tmux gets symbol
// art, and m never offers a pixel mode that would fall back.
func TestAutoFromTheProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		replies []tea.Msg
		want    string
		cycle   string
		why     string // in the status at start ("" = nothing said)
	}{
		{"konsole", nil, []tea.Msg{uv.KittyGraphicsEvent{Options: kitty.Options{ID: 31}, Payload: []byte("OK")}, tea.TerminalVersionMsg{Name: "Konsole 22.12"}, uv.PrimaryDeviceAttributesEvent{62, 1, 4}}, "kitty-direct", "kitty-direct symbols halfblock ascii plain", ""},
		{"xterm vt340", nil, []tea.Msg{tea.TerminalVersionMsg{Name: "XTerm(379)"}, uv.PrimaryDeviceAttributesEvent{63, 1, 2, 4, 6}}, "symbols", "symbols halfblock ascii plain", "sixel images cannot follow"},
		{"kitty 0.26 in tmux", []string{"TMUX=/tmp/tmux-0/default,1,0"}, append(kittyReplies("kitty(0.26.5)"), uv.PrimaryDeviceAttributesEvent{1, 2}), "symbols", "symbols halfblock ascii plain", "inside tmux"},
		{"kitty 0.41 in tmux", []string{"TMUX=/tmp/tmux-0/default,1,0"}, append(kittyReplies("kitty(0.41.1)"), uv.PrimaryDeviceAttributesEvent{1, 2}), "kitty", "kitty symbols halfblock ascii plain", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newGDriver(t, Options{Environ: tc.env})
			d.send(tea.WindowSizeMsg{Width: 100, Height: 30}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
			d.send(tc.replies...)
			if d.m.gfx.probe != nil {
				t.Fatal("the probe did not end with the replies")
			}
			if d.m.gfx.current != tc.want {
				t.Errorf("auto picked %q, want %q", d.m.gfx.current, tc.want)
			}
			if (tc.why == "") != (d.m.statusText == "") || !strings.Contains(d.m.statusText, tc.why) {
				t.Errorf("status at start %q, want it to say %q", d.m.statusText, tc.why)
			}
			if got := strings.Join(d.m.renderCycle(), " "); got != tc.cycle {
				t.Errorf("m cycles %q, want %q", got, tc.cycle)
			}
		})
	}
}
