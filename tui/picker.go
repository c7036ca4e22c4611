package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// ImageExtensions are the files the icon picker offers.
var ImageExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".webp"}

// Sizes of the preview art in the icon picker: large enough to judge a
// photo where the window has room (previewBigWidth x previewBigHeight and
// more), else the small one (80x24).
const (
	previewCols       = 16
	previewRows       = 8
	previewBigCols    = 32
	previewBigRows    = 16
	previewBigWidth   = 90
	previewBigHeight  = 32
	pickerModalWidth  = 74 // the dialog's width with the small preview
	pickerModalBigAdd = previewBigCols - previewCols
)

// previewSize is the preview's size in cells on a w x h terminal.
func previewSize(w, h int) (cols, rows int) {
	if w >= previewBigWidth && h >= previewBigHeight {
		return previewBigCols, previewBigRows
	}
	return previewCols, previewRows
}

// previewMsg delivers the preview of a picked file, decoded off the loop.
type previewMsg struct {
	gen  int
	path string
	pick bool // the user picked the file (enter), not just moved onto it
	art  string
	info string
	err  error
	cols int // the art's size in cells
}

// iconPicker browses for an image, previews it and confirms.
type iconPicker struct {
	*common
	files      fileList
	empty      string // the empty state of a folder without pictures
	root       string // when set, the picker never leaves this directory
	hover      string // the highlighted file whose preview is shown
	gen        int    // preview generation: late previews of older picks are dropped
	path       string
	preview    string
	info       string
	previewErr string
	pcols      int // the preview art's width in cells
	loading    bool
	note       string // why the picker is not where it was asked to be
}

// newIconPicker opens the picker in dir. With confine, it never leaves dir:
// over SSH the files are the server's, and a visitor must see only their
// own pictures.
func newIconPicker(c *common, dir string, confine bool, gen int) (iconPicker, tea.Cmd) {
	if dir == "" {
		dir = "."
	}
	var root string
	if confine {
		if r, err := realPath(dir); err == nil {
			root, dir = r, r
		}
	}
	var note string
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		// A missing pictures folder is a first run, not an error: say so
		// and start somewhere that exists.
		note = fmt.Sprintf("%s does not exist; showing %s", filepath.Base(dir), fallbackDir(root))
		dir = fallbackDir(root)
	}
	files, cmd := newFileList(dir, pickerHeight(c.height))
	return iconPicker{common: c, files: files, empty: emptyFolderText(confine), root: root, gen: gen, note: note}, cmd
}

// fallbackDir is where the picker starts when its folder is missing: the
// home directory, or the current one (never outside a confined root).
func fallbackDir(root string) string {
	if root != "" {
		return root
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// emptyFolderText is the empty state of a folder without pictures.
func emptyFolderText(confine bool) string {
	t := "No pictures in this folder (" + strings.Join(ImageExtensions, " ") + ")."
	if !confine {
		t += " ← goes up."
	}
	return t
}

// LastFolderFile names the file, in the user's config directory, that
// remembers the folder of the last icon chosen. It is one per person, not
// per account: it is where their pictures are, whichever account uses them.
const LastFolderFile = "icon-folder"

// readLastFolder returns the remembered folder if it still exists, or "".
func readLastFolder(file string) string {
	if file == "" {
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil || len(data) > 4096 {
		return ""
	}
	dir := strings.TrimSpace(string(data))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// saveLastFolder remembers dir, off the update loop; a failure only loses
// the convenience, so it is logged to the debug pane, not shown.
func saveLastFolder(file, dir string) tea.Cmd {
	if file == "" {
		return nil
	}
	return func() tea.Msg {
		err := os.MkdirAll(filepath.Dir(file), 0o700)
		if err == nil {
			err = os.WriteFile(file, []byte(dir+"\n"), 0o600)
		}
		if err != nil {
			return account.LogEvent{Kind: account.LogWarn, Text: fmt.Sprintf("remembering the icon folder: %v", err)}
		}
		return nil
	}
}

// realPath is the absolute path of p with every symbolic link resolved.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// inside reports whether path, links resolved, is root or below it.
func inside(root, path string) bool {
	real, err := realPath(path)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// shownDir is the directory as the user sees it: relative to the root when
// confined, so a visitor learns nothing of the server's file system.
func (d iconPicker) shownDir() string {
	if d.root == "" {
		return d.files.Dir()
	}
	rel, err := filepath.Rel(d.root, d.files.Dir())
	if err != nil || rel == "." {
		return "pictures/"
	}
	return "pictures/" + rel + "/"
}

// pickerHeight is the number of file rows for a terminal of h lines: the
// rest holds the header, the dialog's frame, a two-line error and the help.
func pickerHeight(h int) int {
	return max(3, min(16, h-16))
}

// loadPreview reads and decodes path with the upload limits and renders its
// art; errors say what is wrong with the file.
func loadPreview(gen int, path string, pick bool, m art.Mode, cols, rows int) tea.Cmd {
	return func() tea.Msg {
		data, err := icon.ReadFile(path, icon.UploadLimits.MaxBytes)
		if err != nil {
			return previewMsg{gen: gen, path: path, pick: pick, err: err}
		}
		img, format, err := icon.Decode(data, icon.UploadLimits)
		if err != nil {
			return previewMsg{gen: gen, path: path, pick: pick, err: err}
		}
		b := img.Bounds()
		info := fmt.Sprintf("%s, %dx%d, %s", strings.ToUpper(string(format)), b.Dx(), b.Dy(), byteCount(len(data)))
		// The picture the detail pane would draw from: at most
		// account.LargeThumbSide, so a big preview shows the photo's detail.
		src := account.ScaleDown(img, account.LargeThumbSide)
		return previewMsg{gen: gen, path: path, pick: pick, art: art.Render(src, cols, rows, m), info: info, cols: cols}
	}
}

// isImageName reports whether name has one of the offered extensions.
func isImageName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// previewHovered starts the preview of the highlighted file when the
// highlight moved, so the art is there before the user picks.
func (d iconPicker) previewHovered() (iconPicker, tea.Cmd) {
	h := d.files.Highlighted()
	if d.path != "" || h == d.hover {
		return d, nil
	}
	d.hover = h
	d.gen++
	d.preview, d.info, d.previewErr, d.loading = "", "", "", false
	if h == "" || !isImageName(h) || (d.root != "" && !inside(d.root, h)) {
		return d, nil
	}
	if st, err := os.Stat(h); err != nil || !st.Mode().IsRegular() {
		return d, nil
	}
	d.loading = true
	return d, d.load(h, false)
}

func byteCount(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (d iconPicker) update(msg tea.Msg) (dialog, tea.Cmd) { return d.updatePicker(msg) }

func (d iconPicker) updatePicker(msg tea.Msg) (iconPicker, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		d.files.SetHeight(pickerHeight(msg.Height))
		if c, _ := d.previewSize(); d.preview != "" && c != d.pcols {
			// The window changed the preview's size: draw it again.
			d.gen++
			d.loading, d.preview = true, ""
			path, pick := d.hover, false
			if d.path != "" {
				path, pick = d.path, true
			}
			return d, d.load(path, pick)
		}
		return d, nil
	case previewMsg:
		if msg.gen != d.gen {
			return d, nil
		}
		d.loading = false
		if msg.pick {
			d.path = msg.path
		}
		if msg.err != nil {
			d.preview, d.info, d.previewErr = "", "", msg.err.Error()
		} else {
			d.preview, d.info, d.previewErr, d.pcols = msg.art, msg.info, "", msg.cols
		}
		return d, nil
	case tea.KeyPressMsg:
		// Once a good preview is shown, enter confirms it.
		if d.path != "" && d.preview != "" && key.Matches(msg, d.keys.Confirm) {
			path := d.path
			if d.root != "" {
				// Submit the file itself, links resolved and checked
				// again: the preview was a moment ago.
				real, err := realPath(path)
				if err != nil || !inside(d.root, real) {
					d.path, d.preview, d.info = "", "", ""
					d.previewErr = fmt.Sprintf("%s is outside your pictures folder", filepath.Base(path))
					return d, nil
				}
				path = real
			}
			return d, send(submitIconMsg{path: path})
		}
		if key.Matches(msg, d.keys.Cancel) {
			if d.path != "" {
				d.path, d.preview, d.info, d.previewErr, d.hover = "", "", "", "", ""
				return d.previewHovered()
			}
			return d, send(closeDialogMsg{})
		}
		if d.path != "" {
			// Moving on forgets the pick.
			d.path, d.preview, d.info, d.previewErr, d.hover = "", "", "", "", ""
		}
	}
	atRoot := d.root != "" && filepath.Clean(d.files.Dir()) == d.root
	var cmd tea.Cmd
	var chose fileChoice
	var path string
	d.files, cmd, chose, path = d.files.update(msg, atRoot)
	if d.root != "" && !inside(d.root, d.files.Dir()) {
		// A link led out of the pictures folder: back to its top.
		return d, d.files.SetDir(d.root)
	}
	switch chose {
	case choseFile:
		if d.root != "" && !inside(d.root, path) {
			d.path = ""
			d.previewErr = fmt.Sprintf("%s is outside your pictures folder", filepath.Base(path))
			return d, cmd
		}
		d.gen++
		d.loading, d.path, d.previewErr = true, path, ""
		return d, tea.Batch(cmd, d.load(path, true))
	case choseOther:
		d.path = ""
		d.previewErr = fmt.Sprintf("%s is not an image (%s)", filepath.Base(path), strings.Join(ImageExtensions, " "))
		return d, cmd
	}
	d, hover := d.previewHovered()
	return d, tea.Batch(cmd, hover)
}

// previewSize is the preview's size for the terminal the picker is on.
func (d iconPicker) previewSize() (cols, rows int) { return previewSize(d.width, d.height) }

// load starts the preview of path (generation d.gen) at the current size.
func (d iconPicker) load(path string, pick bool) tea.Cmd {
	cols, rows := d.previewSize()
	return loadPreview(d.gen, path, pick, d.mode, cols, rows)
}

func (d iconPicker) view() string {
	previewCols, previewRows := d.previewSize()
	want := pickerModalWidth
	if previewCols == previewBigCols {
		want += pickerModalBigAdd
	}
	w := modalWidth(d.width, want)
	listW := max(20, w-previewCols-3)
	dir := d.styles.InputLabel.Render(fitPlain(clean(d.shownDir()), listW))
	files := padLines(d.files.view(d.common, d.empty, listW), listW, d.files.Height())
	left := dir + "\n" + files

	var right string
	switch {
	case d.loading:
		right = d.styles.Hint.Render("loading…")
	case d.preview != "":
		right = d.preview + "\n" + d.styles.Hint.Render(fitPlain(d.info, previewCols))
	case d.previewErr != "" && d.hover != "":
		right = art.Placeholder(previewCols, previewRows, "✗", d.mode) + "\n" + d.styles.StatusError.Render(fitPlain("cannot be used", previewCols))
	default:
		right = art.Placeholder(previewCols, previewRows, "?", d.mode) + "\n" + d.styles.Hint.Render(fitPlain("no file", previewCols))
	}
	body := lipgloss.JoinHorizontal(lipgloss.Top, left, "   ", right)
	if d.previewErr != "" {
		body += "\n\n" + d.styles.StatusError.Width(w).Render(d.previewErr)
	} else if d.note != "" {
		body += "\n\n" + d.styles.Hint.Width(w).Render(d.note)
	}
	help := "enter select • ↑/↓ move • ← back • a all files • esc cancel"
	if d.files.showAll {
		help = "enter select • ↑/↓ move • ← back • a pictures only • esc cancel"
	}
	if d.path != "" && d.preview != "" {
		help = "enter set as my icon • esc pick another"
	}
	return modalBox(d.common, "Choose my icon", body, help, w)
}
