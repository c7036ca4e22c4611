package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sipbuddy/sipbuddy/account"
)

// MaxGroupNameChars bounds what the user can type as a group's name.
const MaxGroupNameChars = 64

// groupEditKind says which edit of the list's groups a dialog asks for.
type groupEditKind int

const (
	addGroupEdit groupEditKind = iota + 1
	renameGroupEdit
	deleteGroupEdit
	moveBuddyEdit
	renameBuddyEdit
	copyBuddyEdit
)

// groupEditMsg is the intent of the group dialogs: one edit of the buddy
// list for the root model to send to the account.
type groupEditMsg struct {
	kind        groupEditKind
	group       string // the group's Name (all but renameBuddyEdit)
	label       string // what the user calls the group or buddy
	uri         string // moveBuddyEdit, copyBuddyEdit, renameBuddyEdit
	text        string // the new name (addGroupEdit, renameGroupEdit, renameBuddyEdit)
	withBuddies bool   // deleteGroupEdit
}

// groupEdit sends a group edit to the account.
func (m *Model) groupEdit(e groupEditMsg) {
	var r pendingRequest
	var do func() account.RequestID
	switch e.kind {
	case addGroupEdit:
		r = pendingRequest{"Adding the group " + e.text + "…", "✓ Group " + e.text + " added", "Could not add the group " + e.text}
		do = func() account.RequestID { return m.b.AddGroup(e.text) }
	case renameGroupEdit:
		r = pendingRequest{"Renaming " + e.label + "…", "✓ " + e.label + " is now " + e.text, "Could not rename " + e.label}
		do = func() account.RequestID { return m.b.RenameGroup(e.group, e.text) }
	case deleteGroupEdit:
		r = pendingRequest{"Deleting the group " + e.label + "…", "✓ Group " + e.label + " deleted", "Could not delete the group " + e.label}
		do = func() account.RequestID { return m.b.DeleteGroup(e.group, e.withBuddies) }
	case moveBuddyEdit:
		r = pendingRequest{"Moving " + e.label + "…", "✓ " + e.label + " moved to " + m.list.groupLabel(e.group), "Could not move " + e.label}
		do = func() account.RequestID { return m.b.MoveBuddy(e.uri, e.group) }
	case copyBuddyEdit:
		to := m.list.groupLabel(e.group)
		r = pendingRequest{"Adding " + e.label + " to " + to + "…", "✓ " + e.label + " is in " + to + " too", "Could not add " + e.label + " to " + to}
		do = func() account.RequestID { return m.b.CopyBuddy(e.uri, e.group) }
	case renameBuddyEdit:
		done := "✓ " + e.label + " is now " + e.text
		if e.text == "" {
			done = "✓ " + e.label + " goes by the name they publish"
		}
		r = pendingRequest{"Renaming " + e.label + "…", done, "Could not rename " + e.label}
		do = func() account.RequestID { return m.b.RenameBuddy(e.uri, e.text) }
	default:
		return
	}
	m.request(r, do)
}

// groupLabel is what the list calls the group named name.
func (l *buddyList) groupLabel(name string) string {
	if g, ok := l.group(name); ok {
		return g.label
	}
	return clean(name)
}

// groupKey handles the keys of groups (fold, unfold, new, rename, move,
// delete a group); ok is false for a key it does not take.
func (m *Model) groupKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	keys := m.c.keys
	l := &m.list
	row, onRow := l.selectedRow()
	header := onRow && row.b == nil
	switch {
	case key.Matches(k, keys.Confirm) && header && !m.showDbg:
		m.fold(row.group, !l.folded[row.group])
	case key.Matches(k, keys.Fold) && onRow && l.grouped():
		m.fold(row.group, true)
	case key.Matches(k, keys.Unfold) && header:
		m.fold(row.group, false)
	case key.Matches(k, keys.NewGroup):
		return m.openNameEditor(nameEditor{title: "New group", label: "Group name", placeholder: "Friends",
			limit: MaxGroupNameChars, edit: groupEditMsg{kind: addGroupEdit}}, ""), true
	case key.Matches(k, keys.Rename) && header:
		g, _ := l.group(row.group)
		return m.openNameEditor(nameEditor{title: "Rename group", label: "Group name", limit: MaxGroupNameChars,
			edit: groupEditMsg{kind: renameGroupEdit, group: g.Name, label: g.label}}, g.label), true
	case key.Matches(k, keys.Rename) && onRow:
		b := row.b
		return m.openNameEditor(nameEditor{title: "Rename " + b.name, label: "Display name (empty: the name they publish)",
			placeholder: userPart(b.URI), limit: MaxDisplayNameChars, allowEmpty: true,
			edit: groupEditMsg{kind: renameBuddyEdit, uri: b.URI, label: b.name}}, clean(b.ListName)), true
	case key.Matches(k, keys.MoveToGroup) && onRow && row.b != nil:
		m.dialogs.push(newGroupPicker(m.c, l, row.b, row.group))
	case key.Matches(k, keys.RemoveBuddy) && header:
		g, _ := l.group(row.group)
		m.dialogs.push(deleteGroupConfirm{common: m.c, group: g})
	default:
		return nil, false
	}
	m.list.clamp(m.layout().listRows)
	return nil, true
}

// fold folds or unfolds a group and keeps the folded groups for the next
// start.
func (m *Model) fold(group string, fold bool) {
	m.list.setFolded(group, fold)
	if m.b != nil {
		m.b.SaveFolded(m.list.foldedGroups())
	}
}

// openNameEditor opens e with value typed in.
func (m *Model) openNameEditor(e nameEditor, value string) tea.Cmd {
	e.common = m.c
	e.input = newTextInput(m.c, e.placeholder, e.limit, m.opts.NoPaste)
	e.input.SetValue(value)
	e.input.SetWidth(modalWidth(m.c.width, 44))
	cmd := e.input.Focus()
	m.dialogs.push(e)
	return cmd
}

// nameEditor asks for one name: a new group's, a group's or a buddy's.
type nameEditor struct {
	*common
	title, label, placeholder string
	limit                     int
	allowEmpty                bool
	edit                      groupEditMsg // sent with text filled in
	input                     textinput.Model
	err                       string
}

func (d nameEditor) update(msg tea.Msg) (dialog, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Cancel):
			return d, send(closeDialogMsg{})
		case key.Matches(k, d.keys.Confirm):
			text := clean(d.input.Value())
			if text == "" && !d.allowEmpty {
				d.err = "Type a name first (esc to cancel)."
				return d, nil
			}
			e := d.edit
			e.text = text
			return d, send(e)
		}
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return d, cmd
}

func (d nameEditor) view() string {
	w := modalWidth(d.width, 44)
	body := d.styles.InputLabel.Render(fitPlain(d.label, w)) + "\n" + d.input.View()
	if d.err != "" {
		body += "\n\n" + d.styles.StatusError.Render(fitPlain(d.err, w))
	}
	return modalBox(d.common, fitPlain(d.title, w), body, hint(d.common, d.keys.Confirm, d.keys.Cancel), w)
}

// groupPicker picks the group a buddy moves to.
type groupPicker struct {
	*common
	b      *buddy
	from   string
	groups []groupInfo
	cursor int
}

func newGroupPicker(c *common, l *buddyList, b *buddy, from string) groupPicker {
	d := groupPicker{common: c, b: b, from: from}
	d.groups = append(d.groups, l.groups...)
	if l.groupIndex(account.DefaultGroup) < 0 {
		// The default group can always take a buddy, listed or not.
		d.groups = append(d.groups, groupInfo{Name: account.DefaultGroup, label: account.DefaultGroup})
	}
	for i, g := range d.groups {
		if g.Name == from {
			d.cursor = i
		}
	}
	return d
}

func (d groupPicker) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	n := len(d.groups)
	switch {
	case key.Matches(k, d.keys.Cancel):
		return d, send(closeDialogMsg{})
	case key.Matches(k, d.keys.Up):
		d.cursor = (d.cursor + n - 1) % n
	case key.Matches(k, d.keys.Down):
		d.cursor = (d.cursor + 1) % n
	case key.Matches(k, d.keys.Confirm):
		g := d.groups[d.cursor]
		if g.Name == d.from && len(d.b.Groups) <= 1 {
			return d, send(closeDialogMsg{})
		}
		return d, send(groupEditMsg{kind: moveBuddyEdit, group: g.Name, uri: d.b.URI, label: d.b.name})
	case key.Matches(k, d.keys.Copy):
		g := d.groups[d.cursor]
		if slices.Contains(d.b.Groups, g.Name) {
			return d, send(closeDialogMsg{})
		}
		return d, send(groupEditMsg{kind: copyBuddyEdit, group: g.Name, uri: d.b.URI, label: d.b.name})
	}
	return d, nil
}

func (d groupPicker) view() string {
	w := modalWidth(d.width, 40)
	var sb strings.Builder
	for i, g := range d.groups {
		if i > 0 {
			sb.WriteByte('\n')
		}
		line := fitPlain(g.label, w-4)
		if slices.Contains(d.b.Groups, g.Name) || g.Name == d.from {
			line += d.styles.Hint.Render(" (now)")
		}
		if i == d.cursor {
			sb.WriteString(d.styles.MenuActive.Render("› ") + d.styles.MenuActive.Render(line))
		} else {
			sb.WriteString("  " + d.styles.MenuItem.Render(line))
		}
	}
	intro := d.styles.InputLabel.Render(fitPlain("Move "+d.b.name+" to:", w)) + "\n\n"
	if len(d.b.Groups) > 1 {
		intro = d.styles.InputLabel.Render(lipgloss.NewStyle().Width(w).Render(
			"Move "+d.b.name+" out of its other groups, to:")) + "\n\n"
	}
	moveHint := d.keys.Confirm.Help().Key + " move"
	return modalBox(d.common, "Move to group", intro+sb.String(), moveHint+" • "+hint(d.common, d.keys.Copy, d.keys.Cancel), w)
}

// deleteGroupConfirm asks before a group is deleted, and what becomes of
// its buddies.
type deleteGroupConfirm struct {
	*common
	group groupInfo
}

func (d deleteGroupConfirm) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	e := groupEditMsg{kind: deleteGroupEdit, group: d.group.Name, label: d.group.label}
	keep := d.group.Name != account.DefaultGroup // the default group has nowhere to move them
	switch k.String() {
	case "y", "Y", "enter":
		if d.group.total == 0 || keep {
			return d, send(e)
		}
	case "d", "D":
		e.withBuddies = true
		return d, send(e)
	case "n", "N", "esc", "q":
		return d, send(closeDialogMsg{})
	}
	return d, nil
}

func (d deleteGroupConfirm) view() string {
	w := modalWidth(d.width, 48)
	text := fmt.Sprintf("Delete the empty group %s?", d.group.label)
	helpLine := "y delete • n keep"
	switch {
	case d.group.total > 0 && d.group.Name == account.DefaultGroup:
		text = fmt.Sprintf("Delete the group %s and its %s from your buddy list?", d.group.label, buddies(d.group.total))
		helpLine = "d delete with them • n keep"
	case d.group.total > 0:
		text = fmt.Sprintf("Delete the group %s? Its %s move to %s, unless you delete them too.",
			d.group.label, buddies(d.group.total), account.DefaultGroup)
		helpLine = "y delete, keep them • d delete with them • n keep"
	}
	body := lipgloss.NewStyle().Width(w).Render(text)
	return modalBox(d.common, "Delete group", body, helpLine, w)
}

// buddies says "1 buddy", "3 buddies".
func buddies(n int) string {
	if n == 1 {
		return "1 buddy"
	}
	return fmt.Sprintf("%d buddies", n)
}

// groupDetail is the detail pane of a group's header: its name, how many
// of its buddies are online, and what can be done with it.
func (m *Model) groupDetail(g groupInfo, w int) string {
	s, k := m.c.styles, m.c.keys
	state := "unfolded"
	if m.list.folded[g.Name] {
		state = "folded"
	}
	lines := []string{
		s.DetailTitle.Render(fitPlain(g.label, w)),
		s.DetailValue.Render(fitPlain(fmt.Sprintf("%s, %d online", buddies(g.total), g.online), w)),
		s.DetailLabel.Render(fitPlain(state, w)),
		"",
		s.Hint.Render(fitPlain(k.Confirm.Help().Key+" fold or unfold • "+k.Rename.Help().Key+" rename", w)),
		s.Hint.Render(fitPlain(k.RemoveBuddy.Help().Key+" delete • "+k.AddBuddy.Help().Key+" add a buddy here", w)),
	}
	return strings.Join(lines, "\n")
}
