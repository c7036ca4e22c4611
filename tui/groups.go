package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// groupInfo is one group of the buddy list as the list shows it.
type groupInfo struct {
	Name  string // what requests call it (account.Group.Name)
	label string // what the header says, made safe for the terminal
	// online and total count the group's buddies (all of them, whatever
	// the filter), for the header's "(2/5)".
	online, total int
}

// listRow is one row of the list: a group's header (b == nil) or a buddy
// shown under the group called group ("" when the list has no headers).
// A buddy in several groups has a row under each.
type listRow struct {
	group string
	b     *buddy
}

// groupView is the buddy list's grouping: which groups there are, which
// are folded, and the rows on screen in order.
type groupView struct {
	groups []groupInfo
	rows   []listRow // what is shown, headers included; cursor and offset index it
	folded map[string]bool
	// lastH is the height of the list area at the last clamp with a
	// height, so a re-sort between frames keeps the cursor on screen.
	lastH int
}

// headerHeight of a group header row, in lines.
const groupHeaderLines = 1

// setGroups replaces the groups of the list (from a BuddiesEvent).
func (l *buddyList) setGroups(gs []account.Group) {
	l.groups = l.groups[:0]
	for _, g := range gs {
		label := clean(g.DisplayName)
		if label == "" {
			label = clean(g.Name)
		}
		l.groups = append(l.groups, groupInfo{Name: g.Name, label: label})
	}
}

// grouped reports whether the list shows group headers: when the document
// has groups other than the default one. A list with only the default
// group (what sipbuddy writes by itself) is shown flat, as before groups.
func (l *buddyList) grouped() bool {
	switch len(l.groups) {
	case 0:
		return false
	case 1:
		return l.groups[0].Name != account.DefaultGroup
	}
	return true
}

// groupIndexes appends to dst the indexes in l.groups of the groups b is
// shown under: its groups the list knows, else the default group (added
// to l.groups when the document has none, for buddies whose groups are
// gone). byName indexes l.groups.
func (l *buddyList) groupIndexes(dst []int, b *buddy, byName map[string]int) []int {
	dst = dst[:0]
	for _, g := range b.Groups {
		if i, ok := byName[g]; ok && !slices.Contains(dst, i) {
			dst = append(dst, i)
		}
	}
	if len(dst) == 0 {
		i, ok := byName[account.DefaultGroup]
		if !ok {
			i = len(l.groups)
			l.groups = append(l.groups, groupInfo{Name: account.DefaultGroup, label: account.DefaultGroup})
			byName[account.DefaultGroup] = i
		}
		dst = append(dst, i)
	}
	return dst
}

func (l *buddyList) groupIndex(name string) int {
	return slices.IndexFunc(l.groups, func(g groupInfo) bool { return g.Name == name })
}

// buildRows lays out l.rows from l.visible (sorted, filtered): flat
// without groups; else each group's header followed, unless it is folded,
// by its buddies in sort order. While a filter is set, groups without a
// match are left out and folded groups show their matches: the filter
// searches every group.
func (l *buddyList) buildRows() {
	l.rows = l.rows[:0]
	if !l.grouped() {
		for _, b := range l.visible {
			l.rows = append(l.rows, listRow{b: b})
		}
		return
	}
	byName := make(map[string]int, len(l.groups))
	for i := range l.groups {
		l.groups[i].online, l.groups[i].total = 0, 0
		byName[l.groups[i].Name] = i
	}
	var idx []int
	for _, b := range l.sorted {
		online := b.Avail != pidf.Offline && b.Avail != pidf.Unknown && !l.stale(b)
		idx = l.groupIndexes(idx, b, byName)
		for _, i := range idx {
			l.groups[i].total++
			if online {
				l.groups[i].online++
			}
		}
	}
	members := make([][]*buddy, len(l.groups))
	for _, b := range l.visible {
		idx = l.groupIndexes(idx, b, byName)
		for _, i := range idx {
			members[i] = append(members[i], b)
		}
	}
	filtering := l.filtered()
	for i, g := range l.groups {
		ms := members[i]
		if filtering && len(ms) == 0 {
			continue
		}
		l.rows = append(l.rows, listRow{group: g.Name})
		if l.folded[g.Name] && !filtering {
			continue
		}
		for _, b := range ms {
			l.rows = append(l.rows, listRow{group: g.Name, b: b})
		}
	}
}

// rowLines is the height of row i in lines.
func (l *buddyList) rowLines(i int) int {
	if l.rows[i].b == nil {
		return groupHeaderLines
	}
	return l.rowHeight
}

// linesBetween is the height of rows [from, to).
func (l *buddyList) linesBetween(from, to int) int {
	n := 0
	for i := max(0, from); i < min(to, len(l.rows)); i++ {
		n += l.rowLines(i)
	}
	return n
}

// tailFits reports whether rows from i to the end fit in h lines.
func (l *buddyList) tailFits(i, h int) bool {
	n := 0
	for ; i < len(l.rows); i++ {
		if n += l.rowLines(i); n > h {
			return false
		}
	}
	return true
}

// scroll keeps the cursor's row whole on a screen of h lines, and leaves
// no blank lines at the bottom that rows above could fill.
func (l *buddyList) scroll(h int) {
	if len(l.rows) == 0 {
		l.offset = 0
		return
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	// The highest first row from which the cursor's row still ends on
	// screen, found walking up from the cursor: O(h), not O(rows).
	top, lines := l.cursor, l.rowLines(l.cursor)
	for top > 0 && lines+l.rowLines(top-1) <= h {
		top--
		lines += l.rowLines(top)
	}
	if l.offset < top {
		l.offset = top
	}
	for l.offset > 0 && l.tailFits(l.offset-1, h) {
		l.offset--
	}
}

// anchor is where the cursor was before a re-sort: the row's group and
// buddy, its index and its line on screen.
type anchor struct {
	group, uri  string
	index, line int
	ok          bool
}

func (l *buddyList) anchor() anchor {
	if l.cursor < 0 || l.cursor >= len(l.rows) {
		return anchor{}
	}
	r := l.rows[l.cursor]
	a := anchor{group: r.group, ok: true, index: l.cursor, line: l.linesBetween(l.offset, l.cursor)}
	if r.b != nil {
		a.uri = r.b.URI
	}
	return a
}

// restore puts the cursor back on the row of a (the same buddy in the
// same group, else the same buddy anywhere, else the row now where it
// was if it is a buddy of that group (the next one after one removed),
// else the group's header, else the row now where it was (a group
// renamed)) and scrolls so that row stays on the same line of the screen:
// the list moves around the selected buddy, not under it.
func (l *buddyList) restore(a anchor) {
	l.cursor = 0
	if !a.ok {
		return
	}
	found := -1
	for i, r := range l.rows {
		if a.uri != "" && r.b != nil && r.b.URI == a.uri {
			if r.group == a.group {
				found = i
				break
			}
			if found < 0 {
				found = i
			}
		}
	}
	if found < 0 && a.index < len(l.rows) && l.rows[a.index].group == a.group && l.rows[a.index].b != nil {
		found = a.index // the buddy left: the next one in its group
	}
	if found < 0 {
		found = slices.IndexFunc(l.rows, func(r listRow) bool { return r.b == nil && r.group == a.group })
	}
	if found < 0 && len(l.rows) > 0 {
		found = min(a.index, len(l.rows)-1)
	}
	if found < 0 {
		return
	}
	l.cursor = found
	// Scroll up from the cursor until it sits on its old line.
	l.offset = found
	for l.offset > 0 && l.linesBetween(l.offset-1, found) <= a.line {
		l.offset--
	}
}

// onScreen returns the buddies whose rows are on a screen of h lines.
func (l *buddyList) onScreen(h int) []*buddy {
	var out []*buddy
	lines := 0
	for i := l.offset; i < len(l.rows) && lines < h; i++ {
		lines += l.rowLines(i)
		if b := l.rows[i].b; b != nil && lines <= h {
			out = append(out, b)
		}
	}
	return out
}

// selectedRow returns the row under the cursor.
func (l *buddyList) selectedRow() (listRow, bool) {
	if l.cursor < 0 || l.cursor >= len(l.rows) {
		return listRow{}, false
	}
	return l.rows[l.cursor], true
}

// cursorGroup returns the group of the row under the cursor and its
// label, "" when the list shows no groups.
func (l *buddyList) cursorGroup() (name, label string) {
	r, ok := l.selectedRow()
	if !ok || !l.grouped() || r.group == "" {
		return "", ""
	}
	return r.group, l.groupLabel(r.group)
}

// headerGroup returns the group whose header is under the cursor.
func (l *buddyList) headerGroup() (groupInfo, bool) {
	r, ok := l.selectedRow()
	if !ok || r.b != nil {
		return groupInfo{}, false
	}
	return l.group(r.group)
}

// groupsText names the groups b is in, for the detail pane ("" when the
// list shows no groups).
func (l *buddyList) groupsText(b *buddy) string {
	if !l.grouped() {
		return ""
	}
	var names []string
	for _, g := range b.Groups {
		if i := l.groupIndex(g); i >= 0 {
			names = append(names, l.groups[i].label)
		}
	}
	return strings.Join(names, ", ")
}

// group returns the group called name, or false.
func (l *buddyList) group(name string) (groupInfo, bool) {
	if i := l.groupIndex(name); i >= 0 {
		return l.groups[i], true
	}
	return groupInfo{}, false
}

// setFolded folds or unfolds the group called name, keeping the cursor on
// its header when a buddy row under it disappears.
func (l *buddyList) setFolded(name string, fold bool) {
	if l.folded[name] == fold {
		return
	}
	if l.folded == nil {
		l.folded = map[string]bool{}
	}
	if fold {
		l.folded[name] = true
		if r, ok := l.selectedRow(); ok && r.group == name && r.b != nil {
			// The buddy row goes away: the cursor moves to its header.
			l.cursor = slices.IndexFunc(l.rows, func(r listRow) bool { return r.b == nil && r.group == name })
		}
	} else {
		delete(l.folded, name)
	}
	l.resort()
}

// restoreFolded folds the groups named (kept from an earlier run).
func (l *buddyList) restoreFolded(names []string) {
	for _, n := range names {
		if l.folded == nil {
			l.folded = map[string]bool{}
		}
		l.folded[n] = true
	}
}

// foldedGroups returns the names of the folded groups, sorted.
func (l *buddyList) foldedGroups() []string {
	var out []string
	for name := range l.folded {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// headerRow renders a group's header in w cells: "▾ Friends (2/5)", ▸
// when folded.
func (l *buddyList) headerRow(g groupInfo, w int, selected bool) string {
	s := l.styles
	bar := "  "
	if selected {
		bar = s.RowCursor.Render("▌") + " "
	}
	arrow := "▾"
	if l.folded[g.Name] && !l.filtered() {
		arrow = "▸"
	}
	count := fmt.Sprintf(" (%d/%d)", g.online, g.total)
	name := fitPlain(g.label, max(1, w-cursorW-2-len(count)))
	st := s.GroupHeader
	if selected {
		st = s.GroupHeaderSelected
	}
	return fit(bar+st.Render(arrow+" "+name)+s.GroupCount.Render(count), w)
}
