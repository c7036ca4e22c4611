package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// My icon, large: the I key opens a dialog with my icon as large as the
// window allows, and what it is (format, size, URL).

// iconInfo is what the account said of an icon (account.IconEvent).
type iconInfo struct {
	url    string
	format string
	w, h   int
	bytes  int
}

// maxMyIconRows bounds my icon's art in the dialog (a 200-line terminal
// would otherwise ask for art of 200x100 cells).
const maxMyIconRows = 64

// myIconChrome is the dialog's lines around the art: the border (2), the
// title and its gap (2), two lines that describe the icon, and the help
// with its gap (2).
const myIconChrome = 8

// myIconSize is the size of my icon's art in the dialog on a w x h
// terminal: as tall as the list area leaves room for, twice as wide,
// inside the dialog's width.
func myIconSize(w, h int) (cols, rows int) {
	bodyH := h - headerHeight - statusHeight - 1
	rows = min(bodyH-myIconChrome, (modalWidth(w, w)-2)/2, maxMyIconRows)
	rows = max(2, rows)
	return 2 * rows, rows
}

// myIconDialog shows my icon large. The art is the model's (dialogView
// passes it), so it is drawn in the program's mode, pixels included.
type myIconDialog struct {
	*common
}

func (d myIconDialog) update(msg tea.Msg) (dialog, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if key.Matches(k, d.keys.Cancel, d.keys.Confirm, d.keys.ViewMyIcon) {
			return d, send(closeDialogMsg{})
		}
	}
	return d, nil
}

// view is the dialog without its art (dialogView draws it with the art).
func (d myIconDialog) view() string { return d.render("", iconInfo{}, false) }

// render draws the dialog around iconArt; has says whether I have an
// icon, info describes it.
func (d myIconDialog) render(iconArt string, info iconInfo, has bool) string {
	cols, _ := myIconSize(d.width, d.height)
	w := max(cols, min(modalWidth(d.width, d.width), 60))
	lines := []string{
		centreBlock(iconArt, w),
	}
	if has {
		var what []string
		if info.format != "" {
			what = append(what, strings.ToUpper(info.format))
		}
		if info.w > 0 && info.h > 0 {
			what = append(what, fmt.Sprintf("%dx%d", info.w, info.h))
		}
		if info.bytes > 0 {
			what = append(what, byteCount(info.bytes))
		}
		if len(what) == 0 {
			what = append(what, "stored icon")
		}
		url := clean(info.url)
		if url == "" {
			url = "(not published yet)"
		}
		lines = append(lines, fitPlain(strings.Join(what, ", "), w), d.styles.Hint.Render(fitPlain(url, w)))
	} else {
		lines = append(lines, fitPlain("You have no icon yet.", w), d.styles.Hint.Render(fitPlain("Press i to choose one.", w)))
	}
	return modalBox(d.common, "My icon", strings.Join(lines, "\n"), "esc close", w)
}

// centreBlock pads each line of block on the left so it sits in the middle of
// w cells.
func centreBlock(block string, w int) string {
	ls := strings.Split(block, "\n")
	bw := 0
	for _, l := range ls {
		bw = max(bw, ansi.StringWidth(l))
	}
	pad := strings.Repeat(" ", max(0, (w-bw)/2))
	for i, l := range ls {
		ls[i] = pad + l
	}
	return strings.Join(ls, "\n")
}

// myIconView draws the open my-icon dialog with my icon's art.
func (m *Model) myIconView(d myIconDialog) string {
	cols, rows := myIconSize(m.c.width, m.c.height)
	label := m.self.Name
	if label == "" {
		label = userPart(m.self.AOR)
	}
	info := m.self.icon
	if info.url == "" {
		info.url = m.self.IconURL
	}
	return d.render(m.iconArt(m.self.IconHash, label, cols, rows), info, m.self.IconHash != "")
}
