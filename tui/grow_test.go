package tui

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/rowsize"
)

// Icons that grow with the window (issue 12 item 4).

// rowGolden runs the scenario with a row size at w x h and checks the
// golden, the row height on screen and the art the rows asked for.
func rowGolden(t *testing.T, size string, w, h int, wantLines int) Model {
	t.Helper()
	m := runProgram(t, w, h, Options{RowSize: size})
	requireGolden(t, m, w, h)
	if m.list.rowHeight != wantLines {
		t.Errorf("%s rows at %dx%d: %d lines a row, want %d", size, w, h, m.list.rowHeight, wantLines)
	}
	// Alice's icon is drawn at the row's size.
	k := artKey{hash: fmt.Sprintf("%040d", 1), cols: 2 * wantLines, rows: wantLines, mode: art.HalfBlock}
	a, ok := m.arts.get(k)
	if !ok {
		t.Fatalf("no art for Alice at %dx%d cells", k.cols, k.rows)
	}
	if first := strings.Split(a, "\n")[0]; !strings.Contains(m.View().Content, first) {
		t.Errorf("Alice's %dx%d icon is not on screen", k.cols, k.rows)
	}
	return m
}

func TestGoldenRowsCompact80x24(t *testing.T) {
	m := rowGolden(t, "compact", 80, 24, 1)
	// One line a buddy: every buddy of the scenario fits, with room.
	if n := len(m.list.onScreen(m.layout().listRows)); n != 8 {
		t.Errorf("%d buddies on screen with compact rows at 80x24, want all 8", n)
	}
}

func TestGoldenRowsCompact120x40(t *testing.T) { rowGolden(t, "compact", 120, 40, 1) }

func TestGoldenRowsComfortable80x24(t *testing.T) { rowGolden(t, "comfortable", 80, 24, 2) }

func TestGoldenRowsComfortable120x40(t *testing.T) { rowGolden(t, "comfortable", 120, 40, 2) }

// At 80x24 large rows would leave four buddies: comfortable ones are
// shown, and the status bar says why.
func TestGoldenRowsLarge80x24(t *testing.T) {
	m := rowGolden(t, "large", 80, 24, 2)
	if m.rows.chosen != rowsize.Large || m.rows.shown != rowsize.Comfortable {
		t.Errorf("rows chosen %v, shown %v; want large, comfortable", m.rows.chosen, m.rows.shown)
	}
	// The status bar said so (the watcher's request came after: the
	// debug log keeps every message).
	said := false
	for _, e := range m.debug.last(m.debug.n) {
		said = said || strings.Contains(e.Text, "Rows: comfortable (large rows need a taller window")
	}
	if !said {
		t.Error("the status bar did not say the large rows do not fit")
	}
}

func TestGoldenRowsLarge120x40(t *testing.T) {
	m := rowGolden(t, "large", 120, 40, 4)
	if n := len(m.list.onScreen(m.layout().listRows)); n < MinRowsOnScreen {
		t.Errorf("%d large rows on screen at 120x40, want at least %d", n, MinRowsOnScreen)
	}
}

// z steps compact → comfortable → large → compact, saying each one; the
// window going below what large rows need falls back and back again.
func TestRowSizeKey(t *testing.T) {
	m := drive(t, newTestModel(Options{RowSize: "compact"}), tea.WindowSizeMsg{Width: 120, Height: 40})
	for _, want := range []rowsize.Size{rowsize.Comfortable, rowsize.Large, rowsize.Compact, rowsize.Comfortable, rowsize.Large} {
		m = drive(t, m, keyMsg("z"))
		if m.rows.chosen != want || m.list.rowHeight != want.Lines() {
			t.Fatalf("after z: chosen %v, %d lines; want %v, %d", m.rows.chosen, m.list.rowHeight, want, want.Lines())
		}
		if m.statusText != "Rows: "+want.String() {
			t.Errorf("status %q after z, want Rows: %s", m.statusText, want)
		}
	}
	m = drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if m.list.rowHeight != 2 || !strings.Contains(m.statusText, "need a taller window") {
		t.Errorf("large rows at 80x24: %d lines, status %q", m.list.rowHeight, m.statusText)
	}
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	if m.list.rowHeight != 4 {
		t.Errorf("large rows back at 120x40: %d lines", m.list.rowHeight)
	}
}

// The detail icon fills the right-hand pane: at 200x60 it is wider than at
// 120x40, as wide as the pane's inside, drawn from the large picture.
func TestDetailIconGrowsWithTheWindow(t *testing.T) {
	width := func(w, h int) int {
		t.Helper()
		msgs := []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}}
		for _, ev := range scenario() {
			msgs = append(msgs, ev)
		}
		m := drive(t, newTestModel(Options{ArtMode: "halfblock"}), msgs...)
		lay := m.layout()
		if !lay.detailRight {
			t.Fatalf("%dx%d: no detail pane on the right", w, h)
		}
		cols, rows := detailIconSize(lay.detailW, lay.detailH, true)
		sel := m.list.selected()
		a, ok := m.arts.get(artKey{hash: sel.IconHash, cols: cols, rows: rows, mode: art.HalfBlock})
		if !ok {
			t.Fatalf("%dx%d: no detail art at %dx%d", w, h, cols, rows)
		}
		if !strings.Contains(m.View().Content, strings.Split(a, "\n")[rows/2]) {
			t.Errorf("%dx%d: the %dx%d detail icon is not on screen", w, h, cols, rows)
		}
		if inner := lay.detailW - 4; cols > inner || (w >= 200 && cols != inner) {
			t.Errorf("%dx%d: detail icon %d cells wide, the pane's inside is %d", w, h, cols, inner)
		}
		return cols
	}
	small, big := width(120, 40), width(200, 60)
	if big <= small {
		t.Errorf("detail icon %d cells wide at 200x60, %d at 120x40: it does not grow", big, small)
	}
}

// In kitty pixels the detail pane's image is sent from the large picture
// (the icon's 256 px), not the 48 px thumbnail; the list rows' images stay
// small.
func TestDetailImageFromTheLargePicture(t *testing.T) {
	d := newGDriver(t, Options{})
	d.send(tea.WindowSizeMsg{Width: 200, Height: 60}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
	d.send(kittyReplies("kitty(0.41.1)")...)
	evs, _ := iconList(3)
	for i, ev := range evs {
		if ic, ok := ev.(account.IconEvent); ok {
			ic.Large = testIcon(color.RGBA{R: 40, G: 90, B: uint8(i), A: 255}, 256)
			evs[i] = ic
		}
	}
	for _, ev := range evs {
		d.send(ev)
	}
	lay := d.m.layout()
	dc, dr := detailIconSize(lay.detailW, lay.detailH, lay.detailRight)
	var detail, row bool
	for id, img := range d.term.Images {
		k := d.m.gfx.byID[id]
		b := img.Bounds()
		switch {
		case k.cols == dc && k.rows == dr:
			detail = true
			if b.Dx() <= account.ThumbSide || b.Dy() <= account.ThumbSide {
				t.Errorf("detail image %d (%dx%d cells) is %dx%d pixels: not more than the %d px thumbnail", id, dc, dr, b.Dx(), b.Dy(), account.ThumbSide)
			}
		case k.cols == 4 && k.rows == 2:
			row = true
			if b.Dx() > 2*account.ThumbSide {
				t.Errorf("a row's image is %dx%d pixels for 4x2 cells", b.Dx(), b.Dy())
			}
		}
	}
	if !detail || !row {
		t.Fatalf("images on the terminal: detail %v, row %v (%d images)", detail, row, len(d.term.Images))
	}
}

// I opens my icon as large as the window allows, with what it is; esc
// closes it. Without an icon the dialog says how to get one.
func TestMyIconDialog(t *testing.T) {
	open := func(w, h int, withIcon bool) Model {
		t.Helper()
		msgs := []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}}
		for _, ev := range scenario() {
			if ic, ok := ev.(account.IconEvent); ok && ic.URI == "sip:me@example.test" {
				if !withIcon {
					continue
				}
				ic.Large, ic.Format, ic.Width, ic.Height, ic.Bytes = testIcon(iconColours[4], 256), "png", 256, 256, 12800
				ev = ic
			}
			msgs = append(msgs, ev)
		}
		return drive(t, newTestModel(Options{ArtMode: "halfblock"}), append(msgs, keyMsg("I"))...)
	}
	sizes := map[int]int{}
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		m := open(sz[0], sz[1], true)
		screen := plain(m)
		for _, want := range []string{"My icon", "PNG, 256x256, 12.5 KiB", "http://127.0.0.1:8080/icon/sip:me@example.test"} {
			if !strings.Contains(screen, want) {
				t.Errorf("%dx%d: the dialog lacks %q:\n%s", sz[0], sz[1], want, screen)
			}
		}
		cols, rows := myIconSize(sz[0], sz[1])
		a, ok := m.arts.get(artKey{hash: m.self.IconHash, cols: cols, rows: rows, mode: art.HalfBlock})
		if !ok {
			t.Fatalf("%dx%d: my icon's art at %dx%d was not rendered", sz[0], sz[1], cols, rows)
		}
		if !strings.Contains(m.View().Content, strings.Split(a, "\n")[rows/2]) {
			t.Errorf("%dx%d: my %dx%d icon is not on screen", sz[0], sz[1], cols, rows)
		}
		if lines := len(strings.Split(m.View().Content, "\n")); lines != sz[1] {
			t.Errorf("%dx%d: the frame has %d lines", sz[0], sz[1], lines)
		}
		sizes[sz[0]] = cols
		m = drive(t, m, keyMsg("esc"))
		if m.dialogs.open() {
			t.Errorf("esc did not close the dialog")
		}
	}
	if sizes[120] <= sizes[80] || sizes[80] < 2*detailIconCols/2 {
		t.Errorf("my icon is %d cells wide at 80x24 and %d at 120x40", sizes[80], sizes[120])
	}
	if screen := plain(open(80, 24, false)); !strings.Contains(screen, "You have no icon yet") {
		t.Errorf("without an icon the dialog does not say so:\n%s", screen)
	}
}

// The picker's preview is 32x16 cells where the window has room, 16x8 at
// 80x24, and it is drawn again when the window changes.
func TestPickerPreviewSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "photo.png"), assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openPicker(t, dir) // 80x24
	p := pickerOf(&m)
	if p.preview == "" || p.pcols != previewCols || len(strings.Split(p.preview, "\n")) != previewRows {
		t.Fatalf("80x24: preview %d cells wide, %d lines; want %dx%d", p.pcols, len(strings.Split(p.preview, "\n")), previewCols, previewRows)
	}
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	p = pickerOf(&m)
	if p.pcols != previewBigCols || len(strings.Split(p.preview, "\n")) != previewBigRows {
		t.Fatalf("120x40: preview %d cells wide, %d lines; want %dx%d", p.pcols, len(strings.Split(p.preview, "\n")), previewBigCols, previewBigRows)
	}
	view := m.View().Content
	for _, l := range strings.Split(p.preview, "\n") {
		if !strings.Contains(view, l) {
			t.Fatal("120x40: the big preview is not on screen whole")
		}
	}
	for i, l := range strings.Split(ansi.Strip(view), "\n") {
		if ansi.StringWidth(l) > 120 {
			t.Errorf("line %d is %d cells wide", i, ansi.StringWidth(l))
		}
	}
}

// Every row size is drawn in pixels, in both kitty modes: z through the
// sizes, scrolling, my icon's dialog, a window too short for large rows;
// each frame's icons are images the terminal holds with the right pixels.
func TestPixelsWithEveryRowSize(t *testing.T) {
	for _, version := range []string{"kitty(0.41.1)", "kitty(0.26.5)"} {
		t.Run(version, func(t *testing.T) {
			d := newGDriver(t, Options{RowSize: "compact"})
			d.send(tea.WindowSizeMsg{Width: 120, Height: 40}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
			d.send(kittyReplies(version)...)
			evs, colours := iconList(60)
			for _, ev := range evs {
				d.send(ev)
			}
			check := func(step string) {
				t.Helper()
				if d.m.gfx.g.Protocol == art.KittyDirect {
					d.checkDirect(step, colours)
				} else {
					d.checkFrame(step, colours)
				}
			}
			if !d.m.gfx.pixels() {
				t.Fatalf("%s answered; mode %q is not pixels", version, d.m.gfx.current)
			}
			for _, size := range []rowsize.Size{rowsize.Compact, rowsize.Comfortable, rowsize.Large} {
				if d.m.rows.shown != size {
					t.Fatalf("rows %v, want %v", d.m.rows.shown, size)
				}
				check(size.String())
				for i := 0; i < 12; i++ {
					d.keys("down")
				}
				check(size.String() + " scrolled")
				d.keys("I")
				check(size.String() + " my icon")
				d.keys("esc")
				check(size.String() + " my icon closed")
				d.keys("z")
			}
			d.keys("z", "z") // large again
			d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
			if d.m.list.rowHeight != 2 {
				t.Fatalf("large rows at 80x24: %d lines", d.m.list.rowHeight)
			}
			check("large at 80x24")
			d.keys("q")
			if len(d.term.Images) != 0 {
				t.Fatalf("%d images left after q", len(d.term.Images))
			}
		})
	}
}
