package tui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// MaxFolderEntries bounds how many entries of one folder the icon picker
// reads: a folder of a million files must not stall the program or fill
// its memory. The rest are not listed, and the list says so.
const MaxFolderEntries = 5000

// fileEntry is one line of the file list.
type fileEntry struct {
	name  string
	dir   bool
	image bool // a name with one of ImageExtensions
}

// folderMsg delivers a folder read off the update loop.
type folderMsg struct {
	gen     int
	dir     string
	entries []fileEntry
	more    bool // the folder has more than MaxFolderEntries
	err     error
}

// fileKeys are the file list's keys.
type fileKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Open, Back, ShowAll key.Binding
}

func defaultFileKeys() fileKeys {
	return fileKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "J"), key.WithHelp("pgdown", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last")),
		Open:     key.NewBinding(key.WithKeys("enter", "right", "l"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("left", "h", "backspace"), key.WithHelp("←", "back")),
		ShowAll:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all files")),
	}
}

// fileList is the icon picker's folder view: sub-folders first, then the
// pictures, one per line with a cursor. Only pictures are listed unless
// showAll is on; then the other files are listed too, dimmed, so a person
// who looks for a picture with an odd name can see it is there and learn
// why it cannot be used. Hidden files (dot files) are never listed.
//
// Unlike bubbles' filepicker, it can leave out the files it cannot use,
// which is why the picker has its own.
type fileList struct {
	keys    fileKeys
	dir     string
	all     []fileEntry // every entry read, before the showAll filter
	shown   []fileEntry
	more    bool
	err     error
	showAll bool
	cursor  int
	top     int
	height  int
	gen     int
	back    []string // names of the folders we came from, to put the cursor back on
}

// newFileList starts reading dir.
func newFileList(dir string, height int) (fileList, tea.Cmd) {
	l := fileList{keys: defaultFileKeys(), dir: dir, height: max(1, height)}
	return l, l.read()
}

// read lists l.dir off the update loop.
func (l *fileList) read() tea.Cmd {
	l.gen++
	gen, dir := l.gen, l.dir
	return func() tea.Msg { return readFolder(gen, dir) }
}

// readFolder reads at most MaxFolderEntries entries of dir, sorted with
// folders first. A link is listed as what it points to.
func readFolder(gen int, dir string) folderMsg {
	f, err := os.Open(dir)
	if err != nil {
		return folderMsg{gen: gen, dir: dir, err: err}
	}
	defer f.Close()
	des, err := f.ReadDir(MaxFolderEntries + 1)
	msg := folderMsg{gen: gen, dir: dir}
	if err != nil && !errors.Is(err, io.EOF) && len(des) == 0 {
		msg.err = err
		return msg
	}
	if len(des) > MaxFolderEntries {
		des, msg.more = des[:MaxFolderEntries], true
	}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		isDir := de.IsDir()
		if de.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
				isDir = st.IsDir()
			}
		}
		msg.entries = append(msg.entries, fileEntry{name: name, dir: isDir, image: !isDir && isImageName(name)})
	}
	sort.Slice(msg.entries, func(i, j int) bool {
		a, b := msg.entries[i], msg.entries[j]
		if a.dir != b.dir {
			return a.dir
		}
		return a.name < b.name
	})
	return msg
}

// filter recomputes the shown entries, keeping the cursor on the same name
// when it is still shown.
func (l *fileList) filter() {
	keep := l.highlightedName()
	l.shown = l.shown[:0]
	for _, e := range l.all {
		if e.dir || e.image || l.showAll {
			l.shown = append(l.shown, e)
		}
	}
	l.cursor = 0
	for i, e := range l.shown {
		if e.name == keep {
			l.cursor = i
		}
	}
	l.scroll()
}

// scroll keeps the cursor inside the window of height rows.
func (l *fileList) scroll() {
	l.cursor = max(0, min(l.cursor, len(l.shown)-1))
	if l.cursor < l.top {
		l.top = l.cursor
	}
	if l.cursor >= l.top+l.height {
		l.top = l.cursor - l.height + 1
	}
	l.top = max(0, min(l.top, len(l.shown)-l.height))
}

// SetHeight sets how many entries are shown at once.
func (l *fileList) SetHeight(h int) { l.height = max(1, h); l.scroll() }

// Height is how many entries are shown at once.
func (l fileList) Height() int { return l.height }

// Dir is the folder shown.
func (l fileList) Dir() string { return l.dir }

// SetDir shows another folder, read off the loop.
func (l *fileList) SetDir(dir string) tea.Cmd {
	l.dir, l.all, l.shown, l.cursor, l.top, l.err, l.more = dir, nil, nil, 0, 0, nil, false
	return l.read()
}

func (l fileList) highlightedName() string {
	if l.cursor < 0 || l.cursor >= len(l.shown) {
		return ""
	}
	return l.shown[l.cursor].name
}

// Highlighted is the path of the entry under the cursor, or "".
func (l fileList) Highlighted() string {
	if n := l.highlightedName(); n != "" {
		return filepath.Join(l.dir, n)
	}
	return ""
}

// fileChoice is what a key did in the file list besides moving.
type fileChoice int

const (
	choseNothing fileChoice = iota
	choseFile               // enter on a picture
	choseOther              // enter on a file that is not a picture
	wentUp                  // back to the parent folder
)

// update handles a folder read or a key; atRoot says the user may not go
// above this folder. It returns what was chosen and its path.
func (l fileList) update(msg tea.Msg, atRoot bool) (fileList, tea.Cmd, fileChoice, string) {
	switch msg := msg.(type) {
	case folderMsg:
		if msg.gen != l.gen {
			return l, nil, choseNothing, ""
		}
		l.all, l.more, l.err = msg.entries, msg.more, msg.err
		l.filter()
		if n := len(l.back); n > 0 && l.back[n-1] != "" {
			for i, e := range l.shown {
				if e.name == l.back[n-1] {
					l.cursor = i
				}
			}
			l.back[n-1] = ""
			l.scroll()
		}
		return l, nil, choseNothing, ""
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, l.keys.Up):
			l.cursor--
		case key.Matches(msg, l.keys.Down):
			l.cursor++
		case key.Matches(msg, l.keys.PageUp):
			l.cursor -= l.height
		case key.Matches(msg, l.keys.PageDown):
			l.cursor += l.height
		case key.Matches(msg, l.keys.Top):
			l.cursor = 0
		case key.Matches(msg, l.keys.Bottom):
			l.cursor = len(l.shown) - 1
		case key.Matches(msg, l.keys.ShowAll):
			l.showAll = !l.showAll
			l.filter()
		case key.Matches(msg, l.keys.Back):
			if atRoot {
				return l, nil, choseNothing, ""
			}
			parent := filepath.Dir(l.dir)
			if parent == l.dir {
				return l, nil, choseNothing, ""
			}
			l.back = append(l.back, filepath.Base(l.dir))
			cmd := l.SetDir(parent)
			return l, cmd, wentUp, parent
		case key.Matches(msg, l.keys.Open):
			if l.cursor >= len(l.shown) {
				return l, nil, choseNothing, ""
			}
			e, path := l.shown[l.cursor], l.Highlighted()
			switch {
			case e.dir:
				cmd := l.SetDir(path)
				return l, cmd, choseNothing, ""
			case e.image:
				return l, nil, choseFile, path
			default:
				return l, nil, choseOther, path
			}
		}
		l.scroll()
	}
	return l, nil, choseNothing, ""
}

// view draws height lines of the list, width cells wide, in the picker's
// styles; empty is the text of a folder without pictures.
func (l fileList) view(c *common, empty string, width int) string {
	if l.err != nil {
		return c.styles.StatusError.Width(width).PaddingLeft(1).Render("Cannot read this folder: " + folderError(l.err))
	}
	if len(l.shown) == 0 {
		t := empty
		if hidden := len(l.all); hidden > 0 && !l.showAll {
			t += fmt.Sprintf(" %d other %s hidden: a shows all.", hidden, plural(hidden, "file", "files"))
		}
		return c.styles.Empty.Width(width).PaddingLeft(1).Render(t)
	}
	var b strings.Builder
	end := min(len(l.shown), l.top+l.height)
	for i := l.top; i < end; i++ {
		e := l.shown[i]
		name := clean(e.name)
		if e.dir {
			name += "/"
		}
		cursor := "  "
		if i == l.cursor {
			cursor = "> "
		}
		line := cursor + name
		switch {
		case i == l.cursor && (e.dir || e.image):
			line = c.styles.MenuActive.Render(line)
		case !e.dir && !e.image:
			line = c.styles.Hint.Render(line)
		}
		b.WriteString(line)
		if i < end-1 {
			b.WriteByte('\n')
		}
	}
	if l.more && end == len(l.shown) {
		b.WriteString("\n" + c.styles.Hint.Render(fmt.Sprintf("  … only the first %d entries are listed", MaxFolderEntries)))
	}
	return b.String()
}

// folderError says why a folder cannot be read, without Go's "open" prefix.
func folderError(err error) string {
	switch {
	case os.IsPermission(err):
		return "permission denied"
	case os.IsNotExist(err):
		return "it no longer exists"
	}
	return err.Error()
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
