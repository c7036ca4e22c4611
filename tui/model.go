// Package tui is sipbuddy's terminal UI (Bubble Tea v2): the buddy list with
// every buddy's icon drawn as terminal art, my presence, my icon, the
// watchers waiting for a decision and a debug log.
//
// The model never blocks: the backend (tui/backend) owns the network and
// reports typed events on a channel that a re-armed command reads; requests
// to the backend return at once and are answered by events. Icons are
// thumbnailed and rendered to art in commands, off the update loop, and
// View only reads cached strings.
package tui

import (
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/backend"
)

// Options configure a Model. The zero value is usable.
type Options struct {
	// ArtMode is the initial icon render mode: "symbols", "halfblock",
	// "ascii" or "plain". Empty: plain when NO_COLOR is set in Environ, else
	// symbol art.
	ArtMode string
	// Environ is the environment of the user's terminal (over SSH: the
	// session's); nil means os.Environ().
	Environ []string
	// PicturesDir is where the icon picker starts; empty: the current
	// directory.
	PicturesDir string
	// ConfinePictures keeps the icon picker inside PicturesDir (it cannot
	// go up, follow a link out, or pick a file outside) and shows paths
	// relative to it. Over SSH the files are the server's.
	ConfinePictures bool
	// IconRows is the height of a buddy row in lines, which is the height
	// of its icon (the icon is twice as wide in cells). Default 2.
	IconRows int
	// NoPaste disables ctrl+v in text inputs (it reads the clipboard of the
	// machine the program runs on, wrong over SSH). Bracketed paste from
	// the terminal still works.
	NoPaste bool
	// SteadyCursor stops the text cursor from blinking (fewer redraws
	// over slow links; some people prefer it).
	SteadyCursor bool
	// DebugLines is the capacity of the debug pane. Default
	// DefaultDebugLines.
	DebugLines int
	// Styles and KeyMap override the defaults.
	Styles *Styles
	KeyMap *KeyMap
}

// Sizes of the fixed parts of the screen.
const (
	headerHeight = 3 // two lines of my presence and a rule
	statusHeight = 1
	// WideWidth is the terminal width from which the detail pane sits to
	// the right of the list.
	WideWidth = 100
	// TallHeight is the terminal height from which the detail pane is
	// shown below the list without being asked for.
	TallHeight     = 30
	detailIconCols = 16
	detailIconRows = 8
)

type dialogKind int

const (
	noDialog dialogKind = iota
	statusDialog
	noteDialog
	iconDialog
	addDialog
	removeDialog
	watchersDialog
)

type detailMode int

const (
	detailAuto detailMode = iota
	detailOn
	detailOff
)

// selfState is my own presence as the backend last reported it.
type selfState struct {
	AOR, Name  string
	Reg        backend.RegistrationState
	RegErr     string
	Open       bool
	Activities []string
	Note       string
	IconHash   string
	IconURL    string
	PubState   backend.PublicationState
	PubErr     string
	known      bool // a SelfEvent arrived
}

type statusKind int

const (
	statusInfo statusKind = iota
	statusOK
	statusError
)

// eventMsg wraps an event read from the backend's channel; handling it
// re-arms the read.
type eventMsg struct{ ev backend.Event }

// backendClosedMsg says the backend's event channel was closed.
type backendClosedMsg struct{}

// Model is the program model. Build it with New.
type Model struct {
	c    *common
	b    *backend.Backend
	opts Options

	list     buddyList
	arts     *artStore
	self     selfState
	watchers []backend.Watcher
	pending  []backend.Watcher

	dialog   dialogKind
	menu     statusMenu
	note     noteEditor
	picker   iconPicker
	add      addBuddyForm
	remove   removeConfirm
	watchDlg watchersModal
	pickGen  int

	help     help.Model
	showHelp bool
	detail   detailMode
	showDbg  bool
	debug    *ring

	statusText string
	statusKind statusKind
	requests   map[backend.RequestID]string
	closed     bool
}

// New returns the model for one program. b may be nil: the UI then shows
// what it is sent and answers requests with "not connected" (previews and
// tests of the layout).
func New(b *backend.Backend, o Options) Model {
	if o.IconRows <= 0 {
		o.IconRows = 2
	}
	if o.DebugLines <= 0 {
		o.DebugLines = DefaultDebugLines
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.Styles == nil {
		o.Styles = DefaultStyles()
	}
	if o.KeyMap == nil {
		o.KeyMap = DefaultKeyMap()
	}
	c := &common{styles: o.Styles, keys: o.KeyMap, mode: initialMode(o), steadyCursor: o.SteadyCursor}
	h := help.New()
	h.Styles = o.Styles.Help
	m := Model{
		c:        c,
		b:        b,
		opts:     o,
		list:     newBuddyList(c, o.IconRows),
		arts:     newArtStore(),
		help:     h,
		debug:    newRing(o.DebugLines),
		requests: map[backend.RequestID]string{},
	}
	if b != nil {
		m.self.AOR = b.AOR()
	}
	return m
}

// initialMode picks the art mode: the option, else plain under NO_COLOR,
// else symbol art.
func initialMode(o Options) art.Mode {
	if o.ArtMode != "" {
		if md, err := art.ParseMode(o.ArtMode); err == nil {
			return md
		}
	}
	for _, kv := range o.Environ {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return art.Plain
		}
	}
	return art.Symbols
}

// Init starts reading the backend's events.
func (m Model) Init() tea.Cmd {
	if m.b == nil {
		return nil
	}
	return waitForEvent(m.b.Events())
}

// waitForEvent reads one event; Update re-arms it after handling.
func waitForEvent(ch <-chan backend.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return backendClosedMsg{}
		}
		return eventMsg{ev}
	}
}

// Update handles one message. It never blocks.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		if m.dialog == iconDialog {
			m.picker.fp.SetHeight(pickerHeight(msg.Height))
		}
		m.list.clamp(m.layout().listRows)
	case eventMsg:
		cmds = append(cmds, m.handleEvent(msg.ev))
		if m.b != nil {
			cmds = append(cmds, waitForEvent(m.b.Events()))
		}
	case backend.Event:
		// Events sent straight to the program (p.Send) are handled too.
		cmds = append(cmds, m.handleEvent(msg))
	case backendClosedMsg:
		m.closed = true
		m.setStatus(statusError, "Disconnected: the backend has stopped.")
	case thumbMsg:
		m.arts.addThumb(msg)
	case artMsg:
		m.arts.add(msg)
	case previewMsg:
		if m.dialog == iconDialog {
			var cmd tea.Cmd
			m.picker, cmd = m.picker.update(msg)
			cmds = append(cmds, cmd)
		}
	case closeDialogMsg:
		m.dialog = noDialog
	case submitStatusMsg:
		m.dialog = noDialog
		m.requestStatus(msg.choice.Open, msg.choice.Activity, m.self.Note, "Setting status to "+msg.choice.Label+"…")
	case submitNoteMsg:
		m.dialog = noDialog
		c := statusChoices[selfChoice(m.self.Open || !m.self.known, m.self.Activities)]
		m.requestStatus(c.Open, c.Activity, msg.note, "Setting note…")
	case submitAddMsg:
		m.dialog = noDialog
		m.request("Adding "+msg.uri+"…", func() backend.RequestID { return m.b.AddBuddy(msg.uri, msg.name) })
	case submitRemoveMsg:
		m.dialog = noDialog
		m.request("Removing "+msg.uri+"…", func() backend.RequestID { return m.b.RemoveBuddy(msg.uri) })
	case submitIconMsg:
		m.dialog = noDialog
		m.request("Uploading my icon…", func() backend.RequestID { return m.b.SetIcon(msg.path) })
	case watcherMsg:
		if msg.accept {
			m.request("Allowing "+msg.uri+"…", func() backend.RequestID { return m.b.AcceptWatcher(msg.uri) })
		} else {
			m.request("Blocking "+msg.uri+"…", func() backend.RequestID { return m.b.BlockWatcher(msg.uri) })
		}
	case tea.MouseWheelMsg:
		if m.dialog == noDialog {
			switch msg.Mouse().Button {
			case tea.MouseWheelUp:
				m.list.scroll(-1, m.layout().listRows)
			case tea.MouseWheelDown:
				m.list.scroll(1, m.layout().listRows)
			}
		}
	case tea.KeyPressMsg:
		var cmd tea.Cmd
		m, cmd = m.handleKey(msg)
		cmds = append(cmds, cmd)
	default:
		// Cursor blinks and other component messages go to the open dialog
		// and the filter.
		cmds = append(cmds, m.updateDialog(msg))
		if m.list.filtering {
			var cmd tea.Cmd
			m.list, cmd = m.list.updateFilter(msg)
			cmds = append(cmds, cmd)
		}
	}
	cmds = append(cmds, m.ensureArt())
	return m, tea.Batch(cmds...)
}

// handleKey handles a key press.
func (m Model) handleKey(k tea.KeyPressMsg) (Model, tea.Cmd) {
	keys := m.c.keys
	if k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.dialog != noDialog {
		return m, m.updateDialog(k)
	}
	rows := m.layout().listRows
	if m.list.filtering {
		switch {
		case key.Matches(k, keys.ClearFilter):
			m.list.clearFilter()
			return m, nil
		case key.Matches(k, keys.Confirm):
			m.list.filtering = false
			m.list.filter.Blur()
			return m, nil
		case k.String() == "up" || k.String() == "down":
			if k.String() == "up" {
				m.list.move(-1, rows)
			} else {
				m.list.move(1, rows)
			}
			return m, nil
		}
		var cmd tea.Cmd
		m.list, cmd = m.list.updateFilter(k)
		return m, cmd
	}
	switch {
	case key.Matches(k, keys.Quit):
		return m, tea.Quit
	case key.Matches(k, keys.Up):
		m.list.move(-1, rows)
	case key.Matches(k, keys.Down):
		m.list.move(1, rows)
	case key.Matches(k, keys.PageUp):
		m.list.move(-m.list.rowsOnScreen(rows), rows)
	case key.Matches(k, keys.PageDown):
		m.list.move(m.list.rowsOnScreen(rows), rows)
	case key.Matches(k, keys.Top):
		m.list.move(-len(m.list.visible), rows)
	case key.Matches(k, keys.Bottom):
		m.list.move(len(m.list.visible), rows)
	case key.Matches(k, keys.Filter):
		m.list.filtering = true
		return m, m.list.filter.Focus()
	case key.Matches(k, keys.ClearFilter):
		if m.list.filter.Value() != "" {
			m.list.clearFilter()
		}
	case key.Matches(k, keys.ToggleDetail):
		if m.detailVisible() {
			m.detail = detailOff
		} else {
			m.detail = detailOn
		}
		m.list.clamp(m.layout().listRows)
	case key.Matches(k, keys.CycleArt):
		m.c.mode = nextArtMode(m.c.mode)
		m.setStatus(statusInfo, "Icons: "+modeLabel(m.c.mode))
	case key.Matches(k, keys.ToggleDebug):
		m.showDbg = !m.showDbg
		m.list.clamp(m.layout().listRows)
	case key.Matches(k, keys.Help):
		m.showHelp = !m.showHelp
		m.help.ShowAll = m.showHelp
		m.list.clamp(m.layout().listRows)
	case key.Matches(k, keys.SetStatus):
		m.dialog = statusDialog
		m.menu = statusMenu{common: m.c, cursor: selfChoice(m.self.Open || !m.self.known, m.self.Activities)}
	case key.Matches(k, keys.EditNote):
		var cmd tea.Cmd
		m.dialog = noteDialog
		m.note, cmd = newNoteEditor(m.c, m.self.Note, m.opts.NoPaste)
		return m, cmd
	case key.Matches(k, keys.SetIcon):
		var cmd tea.Cmd
		m.dialog = iconDialog
		m.pickGen += 1000 // previews of an earlier picker are ignored
		m.picker, cmd = newIconPicker(m.c, m.opts.PicturesDir, m.opts.ConfinePictures, m.pickGen)
		return m, cmd
	case key.Matches(k, keys.AddBuddy):
		var cmd tea.Cmd
		m.dialog = addDialog
		m.add, cmd = newAddBuddyForm(m.c, m.opts.NoPaste)
		return m, cmd
	case key.Matches(k, keys.RemoveBuddy):
		if b := m.list.selected(); b != nil {
			m.dialog = removeDialog
			m.remove = removeConfirm{common: m.c, uri: b.URI, name: b.name}
		}
	case key.Matches(k, keys.Watchers):
		m.dialog = watchersDialog
		m.watchDlg = watchersModal{common: m.c}
	}
	return m, nil
}

// updateDialog routes a message to the open dialog.
func (m *Model) updateDialog(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch m.dialog {
	case statusDialog:
		m.menu, cmd = m.menu.update(msg)
	case noteDialog:
		m.note, cmd = m.note.update(msg)
	case iconDialog:
		m.picker, cmd = m.picker.update(msg)
	case addDialog:
		m.add, cmd = m.add.update(msg)
	case removeDialog:
		m.remove, cmd = m.remove.update(msg)
	case watchersDialog:
		m.watchDlg, cmd = m.watchDlg.update(msg, m.pending)
	}
	return cmd
}

// request sends a request to the backend and shows that it is under way.
func (m *Model) request(pending string, do func() backend.RequestID) {
	if m.b == nil || m.closed {
		m.setStatus(statusError, "Not connected.")
		return
	}
	id := do()
	m.requests[id] = pending
	m.setStatus(statusInfo, pending)
}

func (m *Model) requestStatus(open bool, activity, note, pending string) {
	m.request(pending, func() backend.RequestID { return m.b.SetStatus(open, activity, note) })
}

func (m *Model) setStatus(k statusKind, text string) {
	m.statusKind, m.statusText = k, text
}

// handleEvent applies one backend event to the model.
func (m *Model) handleEvent(ev backend.Event) tea.Cmd {
	switch ev := ev.(type) {
	case backend.AccountEvent:
		m.self.AOR, m.self.Name, m.self.Reg = ev.AOR, ev.DisplayName, ev.State
		m.self.RegErr = ""
		if ev.Err != nil {
			m.self.RegErr = ev.Err.Error()
			m.setStatus(statusError, "Registration failed: "+m.self.RegErr)
		}
	case backend.BuddiesEvent:
		if ev.Err != nil {
			// The list could not be (re)loaded: keep what is shown.
			m.list.loadErr = clean(ev.Err.Error())
			m.setStatus(statusError, m.list.loadErr)
			return nil
		}
		m.list.loaded, m.list.loadErr = true, ""
		m.list.setBuddies(ev.Buddies)
	case backend.PresenceEvent:
		b := m.list.get(ev.URI, false)
		if b == nil {
			return nil
		}
		if ev.State.IconURL != b.State.IconURL || !b.HasState {
			b.IconErr = ""
		}
		// A buddy who goes offline publishes no icon (a server's closed
		// document has none), but people still know them by their picture:
		// keep it. An online buddy without an icon has removed it.
		if ev.State.IconURL == "" && ev.State.Basic != pidf.BasicClosed {
			b.IconHash = ""
		}
		b.State, b.HasState, b.Updated = ev.State, true, ev.At
		b.refresh()
		m.list.resort()
	case backend.SubscriptionEvent:
		b := m.list.get(ev.URI, false)
		if b == nil {
			return nil
		}
		b.Sub, b.SubReason, b.RetryIn = ev.State, ev.Reason, ev.RetryIn
		if b.SubReason == "" && ev.Err != nil {
			b.SubReason = ev.Err.Error()
		}
	case backend.IconEvent:
		if ev.URI == m.self.AOR {
			m.self.IconHash = ev.Hash
		} else if b := m.list.get(ev.URI, false); b != nil {
			b.IconHash, b.IconURL, b.IconErr = ev.Hash, ev.URL, ""
		}
		return m.arts.makeThumb(ev.Hash, ev.Image)
	case backend.IconFailedEvent:
		if b := m.list.get(ev.URI, false); b != nil {
			b.IconErr = ev.Err.Error()
			if ev.RetryIn > 0 {
				b.IconErr += fmt.Sprintf(" (retry in %s)", ev.RetryIn.Round(time.Second))
			}
		}
	case backend.PublicationEvent:
		m.self.PubState, m.self.PubErr = ev.State, ""
		if ev.Err != nil {
			m.self.PubErr = ev.Err.Error()
			m.setStatus(statusError, "Publication failed: "+m.self.PubErr)
		}
	case backend.SelfEvent:
		m.self.known = true
		m.self.Open, m.self.Activities, m.self.Note = ev.Open, ev.Activities, ev.Note
		m.self.IconURL = ev.IconURL
		if ev.IconHash != m.self.IconHash && ev.IconURL == "" {
			m.self.IconHash = ""
		}
	case backend.WatchersEvent:
		before := len(m.pending)
		m.watchers = ev.Watchers
		m.pending = pendingWatchers(ev.Watchers)
		if m.watchDlg.cursor >= len(m.pending) {
			m.watchDlg.cursor = max(0, len(m.pending)-1)
		}
		if len(m.pending) > before && m.dialog != watchersDialog {
			p := m.pending[len(m.pending)-1]
			m.setStatus(statusInfo, clean(p.URI)+" wants to see your presence (w to answer)")
		}
	case backend.LogEvent:
		m.debug.push(ev)
	case backend.DoneEvent:
		delete(m.requests, ev.ID)
		text := ev.Detail
		if text == "" {
			text = ev.Kind.String() + ": done"
		}
		m.setStatus(statusOK, "✓ "+text)
	case backend.ErrorEvent:
		delete(m.requests, ev.ID)
		m.setStatus(statusError, "✗ "+ev.Kind.String()+": "+clean(ev.Err.Error()))
	}
	return nil
}

// ensureArt asks for the art that is about to be shown and is missing:
// the visible rows, the selected buddy's large icon, my own icon.
func (m *Model) ensureArt() tea.Cmd {
	if m.c.width == 0 {
		return nil
	}
	lay := m.layout()
	cols, rows := 2*m.opts.IconRows, m.opts.IconRows
	var keys []artKey
	end := min(len(m.list.visible), m.list.offset+m.list.rowsOnScreen(lay.listRows))
	for _, b := range m.list.visible[m.list.offset:end] {
		if b.IconHash != "" {
			keys = append(keys, artKey{b.IconHash, cols, rows, m.c.mode})
		}
	}
	if b := m.list.selected(); b != nil && lay.detailW > 0 && b.IconHash != "" {
		dc, dr := detailIconSize(lay.detailW, lay.detailH, lay.detailRight)
		keys = append(keys, artKey{b.IconHash, dc, dr, m.c.mode})
	}
	if m.self.IconHash != "" {
		keys = append(keys, artKey{m.self.IconHash, cols, rows, m.c.mode})
	}
	return m.arts.render(m.arts.want(keys))
}

// iconArt returns the art of a buddy's icon, or its placeholder.
func (m *Model) iconArt(hash, label string, cols, rows int) string {
	if hash != "" {
		if a, ok := m.arts.get(artKey{hash, cols, rows, m.c.mode}); ok {
			return a
		}
	}
	return m.arts.placeholder(label, cols, rows, m.c.mode)
}

// detailVisible says whether the detail pane is shown.
func (m *Model) detailVisible() bool {
	switch m.detail {
	case detailOn:
		return true
	case detailOff:
		return false
	}
	return m.c.width >= WideWidth || m.c.height >= TallHeight
}

// screenLayout is the size of every region for the current terminal.
type screenLayout struct {
	bodyH        int
	listW, listH int
	listRows     int // lines for buddy rows (listH minus the filter line)
	detailW      int
	detailH      int
	detailRight  bool
	debugH       int
	helpH        int
}

func (m *Model) layout() screenLayout {
	w, h := m.c.width, m.c.height
	var l screenLayout
	l.helpH = 1
	if m.showHelp {
		l.helpH = len(strings.Split(m.help.FullHelpView(m.c.keys.FullHelp()), "\n"))
	}
	l.bodyH = max(0, h-headerHeight-statusHeight-l.helpH)
	if m.showDbg {
		l.debugH = max(4, l.bodyH/3)
		if l.debugH > l.bodyH-2 {
			l.debugH = max(0, l.bodyH-2)
		}
	}
	mainH := l.bodyH - l.debugH
	l.listW, l.listH = w, mainH
	if m.detailVisible() {
		if w >= WideWidth {
			l.detailRight = true
			l.detailW = max(36, min(60, w*2/5))
			l.detailH = mainH
			l.listW = w - l.detailW - 1
		} else if mainH >= detailIconRows+2+2*m.opts.IconRows {
			l.detailW = w
			l.detailH = detailIconRows + 2
			l.listH = mainH - l.detailH
		}
	}
	l.listRows = l.listH
	if m.list.showFilterLine() {
		l.listRows = max(0, l.listRows-1)
	}
	return l
}
