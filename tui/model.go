// Package tui is sipbuddy's terminal UI (Bubble Tea v2): the buddy list with
// every buddy's icon drawn as terminal art, my presence, my icon, the
// watchers waiting for a decision and a debug log.
//
// The model never blocks: the account (package account) owns the network
// and queues typed events that a re-armed command reads, several at a
// time; requests to the account return at once and are answered by
// events. Icons arrive as thumbnails the account made; the command that
// reads them also renders their art for the list, off the update loop, so
// an icon reaches the screen in one pass through Update. View only reads
// cached strings.
package tui

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/tui/rowsize"
)

// Options configure a Model. The zero value is usable.
type Options struct {
	// ArtMode is the icon render mode, one of termcaps.RenderModes: "auto"
	// (or empty) picks what the terminal answers for (probe.go); a pixel
	// mode ("kitty", ...) or a text mode ("symbols", ...) is honoured.
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
	// RowSize is the list's row size by name (rowsize.Names; the icon is
	// as tall as the row and twice as wide in cells); empty: the one the
	// account saved (z), else rowsize.Default. An unknown name is the
	// default (the callers check the setting).
	RowSize string
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
	// LastFolderFile is where the icon picker remembers the folder of the
	// last icon chosen (ignored with ConfinePictures); empty: not kept.
	LastFolderFile string
	// LogPath is the log file, shown in the help and the debug pane so a
	// person knows where the whole story is; empty: not shown.
	LogPath string
	// PasswordCommand, if set, is run again when the server refuses the
	// password (the configured password_command); else a masked prompt
	// asks for it. It runs off the loop.
	PasswordCommand func() (string, error)
	// Notify is how a buddy's change of status is signalled beyond the
	// highlight and the status bar: NotifyOff (default), NotifyBell,
	// NotifyOSC9 or NotifyOSC777.
	Notify string
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
	TallHeight = 30
	// CompactHeight and CompactWidth are the sizes below which the detail
	// pane is never shown, even when asked for with tab: the list is what
	// the screen is for. Under 24 rows (the classic terminal height) the
	// pane's 10 lines would leave the list two or three buddies; under 50
	// columns its fields wrap into nothing readable.
	CompactHeight  = 24
	CompactWidth   = 50
	detailIconCols = 16
	detailIconRows = 8
)

type detailMode int

const (
	detailAuto detailMode = iota
	detailOn
	detailOff
)

// selfState is my own presence as the account last reported it.
type selfState struct {
	AOR, Name  string
	Reg        ua.RegistrationState
	RegErr     string
	Open       bool
	Activities []string
	Note       string
	IconHash   string
	IconURL    string
	icon       iconInfo // what the account said of the icon of IconHash
	PubState   ua.PublicationState
	PubErr     string
	known      bool // a SelfEvent arrived
}

type statusKind int

const (
	statusInfo statusKind = iota
	statusOK
	statusError
)

// Model is the program model. Build it with New.
type Model struct {
	c    *common
	b    *account.Account
	opts Options

	list     buddyList
	arts     *artStore
	self     selfState
	conn     connState
	watchers []account.Watcher
	pending  []account.Watcher
	// watcherRules are the rules as last read (nil: not yet); offlineNote
	// the offline note as last read or set.
	watcherRules *account.WatcherRulesEvent
	offlineNote  string
	// devices are my other devices (self-presence).
	devices []pidf.Device

	dialogs dialogStack
	pickGen int

	help     help.Model
	showHelp bool
	detail   detailMode
	showDbg  bool
	debug    *ring

	statusText  string
	statusKind  statusKind
	statusCause statusCause
	statusSeq   int // bumped by every new message
	statusArmed int // the message whose expiry timer runs
	requests    map[account.RequestID]pendingRequest
	// quiet are background reads (the watcher rules, the offline note):
	// no status line unless they fail, with this text.
	quiet   map[account.RequestID]string
	closed  bool
	notices noticeBatch

	gfx     *gfxState // the terminal's answers and the icons in pixels
	updates uint64    // Update calls so far (kitty-direct: see directState.frameOf)

	rows rowSizes // the list's row size: chosen (z) and shown (rows.go)
}

// New returns the model for one program. b may be nil: the UI then shows
// what it is sent and answers requests with "not connected" (previews and
// tests of the layout).
func New(b *account.Account, o Options) Model {
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
	c := &common{styles: o.Styles, keys: o.KeyMap, mode: initialMode(o), steadyCursor: o.SteadyCursor, after: tick, now: time.Now}
	h := help.New()
	h.Styles = o.Styles.Help
	m := Model{
		c:        c,
		b:        b,
		opts:     o,
		list:     newBuddyList(c, rowsize.Default.Lines()),
		arts:     newArtStore(),
		help:     h,
		debug:    newRing(o.DebugLines),
		requests: map[account.RequestID]pendingRequest{},
		gfx:      newGfxState(wantedMode(o), colorprofile.Env(o.Environ), hintsFromEnviron(o.Environ)),
	}
	if b != nil {
		m.self.AOR = b.AOR()
		m.list.restoreFolded(b.SavedFolded())
		if o.RowSize == "" {
			o.RowSize = b.SavedRowSize()
		}
	}
	m.setRowSize(o.RowSize)
	return m
}

// initialMode picks the text art mode until the probe is over: the
// option, else plain under NO_COLOR, else symbol art.
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

// Init starts reading the account's events and probing the terminal.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.readEvents(), m.startProbe())
}

// Update handles one message. It never blocks.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.updates++
	cmds := []tea.Cmd{m.updateProbe(msg)}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.resizedDirect()
		m.help.SetWidth(msg.Width)
		cmds = append(cmds, m.dialogs.update(msg))
		m.relayout()
	case eventsMsg:
		for _, ev := range msg.evs {
			cmds = append(cmds, m.handleEvent(ev))
		}
		m.list.resortIfDirty()
		cmds = append(cmds, m.flushNotices())
		m.arts.add(msg.art)
		cmds = append(cmds, m.readEvents())
	case account.Event:
		// Events sent straight to the program (p.Send) are handled too.
		cmds = append(cmds, m.handleEvent(msg))
		m.list.resortIfDirty()
		cmds = append(cmds, m.flushNotices())
	case connTickMsg:
		cmds = append(cmds, m.tick(msg))
	case submitPasswordMsg:
		m.dialogs.pop()
		m.usePassword(msg.password)
	case passwordCommandMsg:
		if msg.err != nil || msg.password == "" {
			// The command could not help: ask the person.
			m.opts.PasswordCommand = nil
			cmds = append(cmds, m.askPassword())
		} else {
			m.usePassword(msg.password)
		}
	case accountClosedMsg:
		m.closed = true
		m.setStatusCause(statusError, "Disconnected: the account has stopped.", causeRegistration)
	case artMsg:
		m.arts.add(msg)
	case gfxMsg:
		m.gotImage(msg)
	case gfxFlushedMsg:
		m.gfx.flushing = false
	case QuitMsg:
		cmds = append(cmds, m.quit())
	case directPlaceMsg:
		m.placeDirect(msg)
	case previewMsg:
		if _, ok := m.dialogs.top().(iconPicker); ok {
			cmds = append(cmds, m.dialogs.update(msg))
		}
	case statusExpiredMsg:
		m.expireStatus(msg)
	case closeDialogMsg:
		m.dialogs.pop()
	case submitStatusMsg:
		m.dialogs.pop()
		l := msg.choice.Label
		m.requestStatus(msg.choice.Open, msg.choice.Activity, m.self.Note, pendingRequest{
			pending: "Setting your status to " + l + "…", done: "✓ Status: " + l, failed: "Could not set your status to " + l})
	case submitNoteMsg:
		m.dialogs.pop()
		c := statusChoices[selfChoice(m.self.Open || !m.self.known, m.self.Activities)]
		r := pendingRequest{pending: "Setting your note…", done: "✓ Note set", failed: "Could not set your note"}
		if msg.note == "" {
			r = pendingRequest{pending: "Clearing your note…", done: "✓ Note cleared", failed: "Could not clear your note"}
		}
		m.requestStatus(c.Open, c.Activity, msg.note, r)
	case submitAddMsg:
		m.dialogs.pop()
		who := clean(msg.uri)
		if msg.group != "" {
			who += " to " + m.list.groupLabel(msg.group)
		}
		m.request(pendingRequest{"Adding " + who + "…", "✓ Added " + who, "Could not add " + who},
			func() account.RequestID { return m.b.AddBuddyTo(msg.uri, msg.name, msg.group) })
	case submitRemoveMsg:
		m.dialogs.pop()
		who := clean(msg.uri)
		m.request(pendingRequest{"Removing " + who + "…", "✓ Removed " + who, "Could not remove " + who},
			func() account.RequestID { return m.b.RemoveBuddy(msg.uri) })
	case groupEditMsg:
		m.dialogs.pop()
		m.groupEdit(msg)
	case submitIconMsg:
		m.dialogs.pop()
		m.request(pendingRequest{"Uploading your icon…", "✓ Icon set", "Could not set your icon"},
			func() account.RequestID { return m.b.SetIcon(msg.path) })
		if !m.opts.ConfinePictures {
			cmds = append(cmds, saveLastFolder(m.opts.LastFolderFile, filepath.Dir(msg.path)))
		}
	case watcherMsg:
		m.watcherRequest(msg)
	case askEveryoneMsg:
		m.askEveryone(msg.ask)
	case rereadRulesMsg:
		m.readWatcherRules()
	case submitOfflineNoteMsg:
		m.dialogs.pop()
		m.setOfflineNote(msg.note)
	case tea.KeyPressMsg:
		var cmd tea.Cmd
		m, cmd = m.handleKey(msg)
		cmds = append(cmds, cmd)
	default:
		// Cursor blinks and other component messages go to the open dialog
		// and the filter.
		cmds = append(cmds, m.dialogs.update(msg))
		if m.list.filtering {
			var cmd tea.Cmd
			m.list, cmd = m.list.updateFilter(msg)
			cmds = append(cmds, cmd)
		}
	}
	cmds = append(cmds, m.ensureArt(), m.armStatusTimer(), m.syncDirect(), m.flushGfx())
	return m, tea.Batch(cmds...)
}

// handleKey handles a key press.
func (m Model) handleKey(k tea.KeyPressMsg) (Model, tea.Cmd) {
	keys := m.c.keys
	if k.String() == "ctrl+c" {
		return m, m.quit()
	}
	if m.dialogs.open() {
		return m, m.dialogs.update(k)
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
	if cmd, ok := m.groupKey(k); ok {
		return m, cmd
	}
	if cmd, ok := m.viewKey(k); ok {
		return m, cmd
	}
	switch {
	case key.Matches(k, keys.Quit):
		return m, m.quit()
	case key.Matches(k, keys.Up):
		m.list.move(-1, rows)
	case key.Matches(k, keys.Down):
		m.list.move(1, rows)
	case key.Matches(k, keys.PageUp):
		m.list.move(-m.list.rowsOnScreen(rows), rows)
	case key.Matches(k, keys.PageDown):
		m.list.move(m.list.rowsOnScreen(rows), rows)
	case key.Matches(k, keys.Top):
		m.list.move(-len(m.list.rows), rows)
	case key.Matches(k, keys.Bottom):
		m.list.move(len(m.list.rows), rows)
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
		m.relayout()
	case key.Matches(k, keys.CycleArt):
		m.cycleMode()
	case key.Matches(k, keys.ToggleDebug):
		m.showDbg = !m.showDbg
		m.list.clamp(m.layout().listRows)
	case key.Matches(k, keys.Help):
		m.showHelp = !m.showHelp
		m.help.ShowAll = m.showHelp
		m.list.clamp(m.layout().listRows)
	case key.Matches(k, keys.Confirm) && m.showDbg:
		m.dialogs.push(newDebugBrowser(m.c, m.debug.last(m.debug.n), &m.list, m.opts.LogPath))
	case key.Matches(k, keys.SetStatus):
		m.dialogs.push(statusMenu{common: m.c, cursor: selfChoice(m.self.Open || !m.self.known, m.self.Activities)})
	case key.Matches(k, keys.EditNote):
		d, cmd := newNoteEditor(m.c, m.self.Note, m.opts.NoPaste)
		m.dialogs.push(d)
		return m, cmd
	case key.Matches(k, keys.SetIcon):
		m.pickGen += 1000 // previews of an earlier picker are ignored
		dir := m.opts.PicturesDir
		if last := readLastFolder(m.opts.LastFolderFile); last != "" && !m.opts.ConfinePictures {
			dir = last
		}
		d, cmd := newIconPicker(m.c, dir, m.opts.ConfinePictures, m.pickGen)
		m.dialogs.push(d)
		return m, cmd
	case key.Matches(k, keys.AddBuddy):
		d, cmd := newAddBuddyForm(m.c, m.opts.NoPaste)
		d.group, d.groupLabel = m.list.cursorGroup()
		m.dialogs.push(d)
		return m, cmd
	case key.Matches(k, keys.RemoveBuddy):
		if b := m.list.selected(); b != nil {
			m.dialogs.push(removeConfirm{common: m.c, uri: b.URI, name: b.name})
		}
	case key.Matches(k, keys.Retry):
		m.retryNow()
	case key.Matches(k, keys.Password):
		return m, m.askPassword()
	case key.Matches(k, keys.Watchers):
		m.openWatchers()
	case key.Matches(k, keys.OfflineNote):
		return m, m.openOfflineNote()
	}
	return m, nil
}

// request sends a request to the account and shows that it is under way.
func (m *Model) request(r pendingRequest, do func() account.RequestID) {
	if m.b == nil || m.closed {
		m.setStatus(statusError, "✗ "+r.failed+": not connected")
		return
	}
	id := do()
	m.requests[id] = r
	m.setStatusCause(statusInfo, r.pending, causePending)
}

func (m *Model) requestStatus(open bool, activity, note string, r pendingRequest) {
	m.request(r, func() account.RequestID { return m.b.SetStatus(open, activity, note) })
}

// setStatus shows a message that expires (StatusMessageTTL).
func (m *Model) setStatus(k statusKind, text string) {
	m.setStatusCause(k, text, causeNone)
}

// setStatusCause shows a message that stays while its cause holds.
func (m *Model) setStatusCause(k statusKind, text string, c statusCause) {
	m.statusKind, m.statusText, m.statusCause = k, text, c
	m.statusSeq++
	// The debug log keeps every message whole: the bar may be too narrow.
	kind := account.LogInfo
	if k == statusError {
		kind = account.LogError
	}
	m.logDetail(kind, "status: "+text)
}

// detailVisible says whether the detail pane is shown.
func (m *Model) detailVisible() bool {
	if m.c.height < CompactHeight || m.c.width < CompactWidth {
		return false
	}
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
		l.helpH = len(strings.Split(m.fullHelpView(), "\n"))
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
		} else if mainH >= detailIconRows+2+2*rowsize.Default.Lines() {
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
