package tui

import (
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// buddy is what the UI knows about one buddy.
type buddy struct {
	URI      string
	ListName string // display name from the buddy list document
	List     string
	Groups   []string // the groups that hold it (account.Buddy.Groups)

	State    pidf.State
	HasState bool
	Avail    pidf.Availability
	Updated  time.Time

	Sub       ua.SubscriptionState
	SubReason string
	RetryIn   time.Duration

	IconHash string // hash of the icon on screen ("" = placeholder)
	IconURL  string
	IconErr  string

	changedAt time.Time // when its availability last changed (highlight)

	name      string // what is shown: list name, else presence name, else user part
	lowerName string // sort key
	lower     string // lower-case name, URI, status, activities and note, for the filter
}

// refresh recomputes the derived fields after a change.
func (b *buddy) refresh() {
	b.Avail = pidf.Unknown
	if b.HasState {
		b.Avail = b.State.Availability()
	}
	b.name = clean(b.ListName)
	if b.name == "" && b.HasState {
		b.name = clean(b.State.DisplayName)
	}
	if b.name == "" {
		b.name = userPart(b.URI)
	}
	b.lowerName = strings.ToLower(b.name)
	// The filter finds what the row shows: "meeting" finds the buddies
	// "In a meeting", "dentist" the one whose note says so.
	parts := []string{b.lowerName, b.URI, StatusLabel(b.Avail)}
	if b.HasState {
		parts = append(parts, b.State.Note, strings.Join(b.State.Activities, " "))
	}
	b.lower = strings.ToLower(clean(strings.Join(parts, " ")))
}

// userPart returns "alice" for "sip:alice@example.test".
func userPart(uri string) string {
	u := strings.TrimPrefix(strings.TrimPrefix(uri, "sips:"), "sip:")
	if i := strings.IndexByte(u, '@'); i > 0 {
		u = u[:i]
	}
	return clean(u)
}

// less orders buddies by availability, then name, then URI (a total order,
// so the list never flickers between equal buddies).
func less(a, b *buddy) int {
	if ra, rb := availabilityRank(a.Avail), availabilityRank(b.Avail); ra != rb {
		return ra - rb
	}
	if c := strings.Compare(a.lowerName, b.lowerName); c != 0 {
		return c
	}
	return strings.Compare(a.URI, b.URI)
}

// matches reports whether every word of the filter occurs in the buddy's
// name, URI, status or note, case-insensitively (words ANDed, as Blink's
// search does).
func (b *buddy) matches(words []string) bool {
	for _, w := range words {
		if !strings.Contains(b.lower, w) {
			return false
		}
	}
	return true
}

// buddyList is the scrolling list of buddies with its filter.
type buddyList struct {
	*common

	byURI   map[string]*buddy
	sorted  []*buddy // every buddy, in display order
	visible []*buddy // the ones that match the filter
	groupView
	cursor int    // index in rows
	offset int    // first row on screen
	dirty  bool   // a presence changed: resort before the next frame
	mode   string // how the list is watched (account.ListEvent), for the detail pane

	filter    textinput.Model
	filtering bool // the filter input has the focus

	rowHeight int // lines per row (the icon's height)

	// loadErr says why the buddy list could not be loaded, until it is:
	// an empty list then means "not known yet", not "no buddies".
	loadErr string
	loaded  bool
}

func newBuddyList(c *common, rowHeight int) buddyList {
	ti := textinput.New()
	ti.Prompt = "/ "
	ti.Placeholder = "name, address, status or note"
	ti.CharLimit = maxFilterChars
	st := ti.Styles()
	st.Focused.Prompt = c.styles.FilterPrompt
	st.Blurred.Prompt = c.styles.FilterPrompt
	st.Focused.Text = c.styles.FilterText
	st.Blurred.Text = c.styles.FilterText
	ti.SetStyles(st)
	c.styleInput(&ti)
	return buddyList{
		common:    c,
		byURI:     map[string]*buddy{},
		filter:    ti,
		rowHeight: max(1, rowHeight),
	}
}

// maxFilterChars bounds the filter input.
const maxFilterChars = 128

// selected returns the buddy under the cursor, or nil.
func (l *buddyList) selected() *buddy {
	r, _ := l.selectedRow()
	return r.b
}

// get returns the buddy with uri, creating it when create is set.
func (l *buddyList) get(uri string, create bool) *buddy {
	if b, ok := l.byURI[uri]; ok {
		return b
	}
	if !create {
		return nil
	}
	b := &buddy{URI: uri, Sub: ua.Active}
	b.refresh()
	l.byURI[uri] = b
	return b
}

// setBuddies replaces the membership of the list with the document's
// entries, keeping what is known about buddies that stay.
func (l *buddyList) setBuddies(entries []account.Buddy) {
	keep := make(map[string]*buddy, len(entries))
	for _, e := range entries {
		b := l.get(e.URI, true)
		b.ListName, b.List, b.Groups = e.DisplayName, e.List, e.Groups
		b.refresh()
		keep[e.URI] = b
	}
	l.byURI = keep
	l.resort()
}

// resort sorts and filters again, keeping the cursor on the same buddy.
// resortIfDirty re-sorts once after a batch of presence changes.
func (l *buddyList) resortIfDirty() {
	if l.dirty {
		l.resort()
	}
}

func (l *buddyList) resort() {
	l.dirty = false
	at := l.anchor()
	l.sorted = l.sorted[:0]
	for _, b := range l.byURI {
		l.sorted = append(l.sorted, b)
	}
	slices.SortFunc(l.sorted, less)
	words := strings.Fields(strings.ToLower(l.filter.Value()))
	l.visible = l.visible[:0]
	for _, b := range l.sorted {
		if b.matches(words) {
			l.visible = append(l.visible, b)
		}
	}
	l.buildRows()
	l.restore(at)
	l.clamp(0)
}

// rowsOnScreen is how many buddies fit in h lines.
func (l *buddyList) rowsOnScreen(h int) int {
	return max(1, h/l.rowHeight)
}

// clamp keeps the cursor in range and on screen for a list area of h lines
// (h == 0: the last known height).
func (l *buddyList) clamp(h int) {
	if l.cursor >= len(l.rows) {
		l.cursor = len(l.rows) - 1
	}
	if l.cursor < 0 {
		l.cursor = 0
	}
	if h <= 0 {
		h = l.lastH
	}
	if h <= 0 {
		return
	}
	l.lastH = h
	l.scroll(h)
}

// move moves the cursor by delta rows.
func (l *buddyList) move(delta, h int) {
	l.cursor += delta
	l.clamp(h)
}

// updateFilter feeds a key to the focused filter input.
func (l buddyList) updateFilter(msg tea.Msg) (buddyList, tea.Cmd) {
	before := l.filter.Value()
	var cmd tea.Cmd
	l.filter, cmd = l.filter.Update(msg)
	if l.filter.Value() != before {
		l.cursor, l.offset = 0, 0
		l.resort()
	}
	return l, cmd
}

// clearFilter empties the filter.
func (l *buddyList) clearFilter() {
	l.filter.SetValue("")
	l.filter.Blur()
	l.filtering = false
	l.resort()
}

// showFilterLine reports whether the filter line takes a line of the list.
func (l *buddyList) showFilterLine() bool {
	return l.filtering || l.filter.Value() != ""
}

// filtered reports whether a filter hides part of the list.
func (l *buddyList) filtered() bool {
	return strings.TrimSpace(l.filter.Value()) != ""
}

// onlineCount counts buddies that are not offline or unknown.
func (l *buddyList) onlineCount() int {
	n := 0
	for _, b := range l.sorted {
		if b.Avail != pidf.Offline && b.Avail != pidf.Unknown && !l.stale(b) {
			n++
		}
	}
	return n
}

// rowLayout is the column layout of one row for a given width.
type rowLayout struct {
	iconCols int
	nameW    int
	restW    int
}

// Widths of the fixed parts of a row: the cursor bar, the gap after the
// icon, the gap between the columns and the subscription mark.
const (
	cursorW = 2
	iconGap = 1
	colGap  = 2
	markW   = 2
)

func (l *buddyList) layout(w int) rowLayout {
	iconCols := 2 * l.rowHeight
	rest := max(0, w-cursorW-iconCols-iconGap-markW)
	nameW := min(36, max(12, rest*45/100))
	if nameW > rest {
		nameW = rest
	}
	return rowLayout{iconCols: iconCols, nameW: nameW, restW: max(0, rest-nameW-colGap)}
}

// subscriptionMark is the mark at the end of a row when the subscription is
// not simply active; the reason is in the detail pane.
func subscriptionMark(s ua.SubscriptionState) string {
	switch s {
	case ua.Pending:
		return "?"
	case ua.Terminated:
		return "✗"
	case ua.Retrying:
		return "↻"
	}
	return ""
}

// view renders the list area: w x h cells. iconArt returns the art for a
// buddy's icon at the row size.
func (l *buddyList) view(w, h int, iconArt func(b *buddy, cols, rows int) string) string {
	var sb strings.Builder
	lines := 0
	if l.showFilterLine() {
		l.filter.SetWidth(max(1, w-4))
		sb.WriteString(fit(l.filter.View(), w))
		lines++
	}
	if len(l.rows) == 0 {
		msg := "No buddies yet. Press a to add one."
		switch {
		case len(l.sorted) > 0:
			msg = "No buddy matches the filter."
		case !l.loaded && l.loadErr != "":
			msg = "Buddy list not loaded yet (retrying): " + l.loadErr
		case !l.loaded:
			msg = "Loading the buddy list…"
		}
		if lines > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(fit(l.styles.Empty.Render("  "+msg), w))
		lines++
		for ; lines < h; lines++ {
			sb.WriteByte('\n')
		}
		return sb.String()
	}
	lay := l.layout(w)
	s := l.styles
	pad := strings.Repeat(" ", iconGap)
	gap := strings.Repeat(" ", colGap)
	for i := l.offset; i < len(l.rows) && lines+l.rowLines(i) <= h; i++ {
		b := l.rows[i].b
		if b == nil {
			if g, ok := l.group(l.rows[i].group); ok {
				if lines > 0 {
					sb.WriteByte('\n')
				}
				sb.WriteString(l.headerRow(g, w, i == l.cursor))
				lines++
			}
			continue
		}
		sel := i == l.cursor
		icon := strings.Split(iconArt(b, lay.iconCols, l.rowHeight), "\n")
		for len(icon) < l.rowHeight {
			icon = append(icon, strings.Repeat(" ", lay.iconCols))
		}
		bar := "  "
		if sel {
			bar = s.RowCursor.Render("▌") + " "
		}
		nameStyle := s.RowName
		if sel {
			nameStyle = s.RowNameSelected
		}
		status := l.statusCell(b)
		if l.highlighted(b) && !l.stale(b) {
			status = l.styles.RowChanged.Render(StatusSymbol(b.Avail) + " " + StatusLabel(b.Avail))
		}
		mark := fit(s.RowMark.Render(subscriptionMark(b.Sub)), markW)
		note := ""
		noteStyle := s.RowNote
		switch {
		case b.Sub == ua.Retrying && b.SubReason == "probation":
			// Blocked (sip/server ends the subscription so): say so.
			note, noteStyle = clean(subscriptionWords(b.SubReason)), s.RowMark
		case b.HasState:
			note = clean(b.State.Note)
		case b.Sub == ua.Terminated && b.SubReason != "":
			// The ✗ alone says nothing: say why, in words.
			note, noteStyle = clean(subscriptionWords(b.SubReason)), s.RowMark
		}
		for r := 0; r < l.rowHeight; r++ {
			if lines > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(bar)
			sb.WriteString(icon[r])
			sb.WriteString(pad)
			switch r {
			case 0:
				sb.WriteString(fit(nameStyle.Render(fitPlain(b.name, lay.nameW)), lay.nameW))
				sb.WriteString(gap)
				sb.WriteString(fit(status, lay.restW))
				sb.WriteString(mark)
			case 1:
				sb.WriteString(fit(s.RowURI.Render(fitPlain(clean(b.URI), lay.nameW)), lay.nameW))
				sb.WriteString(gap)
				sb.WriteString(fit(noteStyle.Render(fitPlain(note, lay.restW)), lay.restW))
				sb.WriteString(strings.Repeat(" ", markW))
			default:
				sb.WriteString(strings.Repeat(" ", lay.nameW+colGap+lay.restW+markW))
			}
			lines++
		}
	}
	for ; lines < h; lines++ {
		sb.WriteByte('\n')
	}
	return sb.String()
}

// fitPlain truncates unstyled text to w cells (before styling, so the
// ellipsis gets the same style).
func fitPlain(s string, w int) string {
	return strings.TrimRight(fit(s, w), " ")
}

// modeLabel names a render mode for the status bar.
func modeLabel(m art.Mode) string {
	switch m {
	case art.ASCII:
		return "ASCII"
	case art.Plain:
		return "plain"
	case art.Symbols:
		return "symbols"
	}
	return "half-block"
}
