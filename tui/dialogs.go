package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sipbuddy/sipbuddy/account"
)

// Intents: what a dialog asks the root model to do. Dialogs return them as
// commands, so the root is the only one talking to the account.
type (
	closeDialogMsg  struct{}
	submitStatusMsg struct{ choice statusChoice }
	submitNoteMsg   struct{ note string }
	submitAddMsg    struct{ uri, name, group string }
	submitRemoveMsg struct{ uri, name string }
	submitIconMsg   struct{ path string }
	// submitOfflineNoteMsg sets the note watchers see when all my devices
	// are offline ("" removes it).
	submitOfflineNoteMsg struct{ note string }
)

func send(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

// dialog is one modal box. While it is on top of the stack it gets every
// key press and component message (cursor blinks, previews, window sizes)
// and is drawn over the list; it asks the root model for anything else
// with the intents above.
type dialog interface {
	update(msg tea.Msg) (dialog, tea.Cmd)
	view() string
}

// dialogStack holds the open dialogs, the top one last (crush keeps its
// dialogs the same way). Today one is open at a time; a dialog that opens
// another (a confirmation) pushes it.
type dialogStack []dialog

// top returns the dialog on top, or nil.
func (s dialogStack) top() dialog {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

func (s dialogStack) open() bool { return len(s) > 0 }

func (s *dialogStack) push(d dialog) { *s = append(*s, d) }

// pop closes the top dialog.
func (s *dialogStack) pop() {
	if len(*s) > 0 {
		(*s)[len(*s)-1] = nil
		*s = (*s)[:len(*s)-1]
	}
}

// update sends msg to the top dialog and keeps what it becomes.
func (s dialogStack) update(msg tea.Msg) tea.Cmd {
	if len(s) == 0 {
		return nil
	}
	d, cmd := s[len(s)-1].update(msg)
	s[len(s)-1] = d
	return cmd
}

// Limits of the text the user can type into dialogs.
const (
	MaxNoteChars        = 256
	MaxDisplayNameChars = 128
	MaxURIChars         = account.MaxURIBytes
)

// modalWidth returns the width of a modal's content for a terminal of w.
func modalWidth(w, want int) int {
	return max(20, min(want, w-6))
}

func modalBox(c *common, title, body, helpLine string, w int) string {
	inner := title
	if title != "" {
		inner = c.styles.ModalTitle.Render(title) + "\n\n"
	}
	inner += body
	if helpLine != "" {
		inner += "\n\n" + c.styles.Hint.Render(helpLine)
	}
	return c.styles.Modal.Width(w + 4).Render(inner)
}

func hint(c *common, bs ...key.Binding) string {
	var parts []string
	for _, b := range bs {
		h := b.Help()
		parts = append(parts, h.Key+" "+h.Desc)
	}
	return strings.Join(parts, " • ")
}

// statusMenu picks my status.
type statusMenu struct {
	*common
	cursor int
}

func (d statusMenu) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	switch {
	case key.Matches(k, d.keys.Up):
		d.cursor = (d.cursor + len(statusChoices) - 1) % len(statusChoices)
	case key.Matches(k, d.keys.Down):
		d.cursor = (d.cursor + 1) % len(statusChoices)
	case key.Matches(k, d.keys.Confirm):
		return d, send(submitStatusMsg{statusChoices[d.cursor]})
	case key.Matches(k, d.keys.Cancel):
		return d, send(closeDialogMsg{})
	default:
		// Digits pick directly: 1 = Available ... 6 = Invisible.
		if len(k.Text) == 1 && k.Text[0] >= '1' && int(k.Text[0]-'1') < len(statusChoices) {
			d.cursor = int(k.Text[0] - '1')
			return d, send(submitStatusMsg{statusChoices[d.cursor]})
		}
	}
	return d, nil
}

func (d statusMenu) view() string {
	var sb strings.Builder
	for i, c := range statusChoices {
		if i > 0 {
			sb.WriteByte('\n')
		}
		a := selfAvailability(c.Open, []string{c.Activity})
		sym := d.styles.Status(a).Render(StatusSymbol(a))
		if !c.Open {
			sym = d.styles.Status(a).Render("○")
		}
		line := fmt.Sprintf("%d %s %s", i+1, sym, c.Label)
		if i == d.cursor {
			sb.WriteString(d.styles.MenuActive.Render("› ") + d.styles.MenuActive.Render(line))
		} else {
			sb.WriteString("  " + d.styles.MenuItem.Render(line))
		}
	}
	return modalBox(d.common, "Set my status", sb.String(), hint(d.common, d.keys.Confirm, d.keys.Cancel), modalWidth(d.width, 28))
}

// noteEditor edits my note, or (offline) the note watchers see when all
// my devices are offline.
type noteEditor struct {
	*common
	input   textinput.Model
	offline bool
}

func newTextInput(c *common, placeholder string, limit int, noPaste bool) textinput.Model {
	ti := textinput.New()
	ti.Placeholder = placeholder
	ti.CharLimit = limit
	ti.Prompt = ""
	if noPaste {
		// Over SSH ctrl+v would read the server's clipboard; bracketed
		// paste from the user's terminal still works.
		ti.KeyMap.Paste.SetEnabled(false)
	}
	c.styleInput(&ti)
	return ti
}

func newNoteEditor(c *common, note string, noPaste bool) (noteEditor, tea.Cmd) {
	ti := newTextInput(c, "what are you up to?", MaxNoteChars, noPaste)
	ti.SetValue(note)
	ti.SetWidth(modalWidth(c.width, 50))
	cmd := ti.Focus()
	return noteEditor{common: c, input: ti}, cmd
}

func (d noteEditor) update(msg tea.Msg) (dialog, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Confirm) && d.offline:
			return d, send(submitOfflineNoteMsg{strings.TrimSpace(d.input.Value())})
		case key.Matches(k, d.keys.Confirm):
			return d, send(submitNoteMsg{strings.TrimSpace(d.input.Value())})
		case key.Matches(k, d.keys.Cancel):
			return d, send(closeDialogMsg{})
		}
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return d, cmd
}

func (d noteEditor) view() string {
	w := modalWidth(d.width, 50)
	if d.offline {
		body := d.styles.InputLabel.Render(fitPlain("Watchers see this when all your devices are offline", w)) + "\n" + d.input.View() +
			"\n\n" + d.styles.Hint.Render(fitPlain("Empty: no offline note", w))
		return modalBox(d.common, "Offline note", body, hint(d.common, d.keys.Confirm, d.keys.Cancel), w)
	}
	body := d.styles.InputLabel.Render("Note") + "\n" + d.input.View()
	return modalBox(d.common, "Edit my note", body, hint(d.common, d.keys.Confirm, d.keys.Cancel), w)
}

// addBuddyForm asks for a SIP URI and a display name; the buddy goes to
// group (the one under the cursor; "" is the default group).
type addBuddyForm struct {
	*common
	uri, name         textinput.Model
	focus             int
	err               string
	group, groupLabel string
}

func newAddBuddyForm(c *common, noPaste bool) (addBuddyForm, tea.Cmd) {
	w := modalWidth(c.width, 50)
	uri := newTextInput(c, "sip:bob@example.test", MaxURIChars, noPaste)
	uri.SetWidth(w)
	name := newTextInput(c, "Bob", MaxDisplayNameChars, noPaste)
	name.SetWidth(w)
	cmd := uri.Focus()
	return addBuddyForm{common: c, uri: uri, name: name}, cmd
}

func (d addBuddyForm) update(msg tea.Msg) (dialog, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Cancel):
			return d, send(closeDialogMsg{})
		case key.Matches(k, d.keys.Next):
			return d.toggle(), nil
		case key.Matches(k, d.keys.Confirm):
			if d.focus == 0 {
				return d.toggle(), nil
			}
			uri, err := account.NormalizeURI(d.uri.Value())
			if err != nil {
				d.err = err.Error()
				return d, nil
			}
			return d, send(submitAddMsg{uri: uri, name: clean(d.name.Value()), group: d.group})
		}
	}
	var cmd tea.Cmd
	if d.focus == 0 {
		d.uri, cmd = d.uri.Update(msg)
	} else {
		d.name, cmd = d.name.Update(msg)
	}
	return d, cmd
}

func (d addBuddyForm) toggle() addBuddyForm {
	d.focus = 1 - d.focus
	if d.focus == 0 {
		d.name.Blur()
		d.uri.Focus()
	} else {
		d.uri.Blur()
		d.name.Focus()
	}
	return d
}

func (d addBuddyForm) view() string {
	w := modalWidth(d.width, 50)
	body := d.styles.InputLabel.Render("SIP URI") + "\n" + d.uri.View() + "\n\n" +
		d.styles.InputLabel.Render("Display name (optional)") + "\n" + d.name.View()
	if d.group != "" {
		body += "\n\n" + d.styles.InputLabel.Render(fitPlain("Group: "+d.groupLabel, w))
	}
	if d.err != "" {
		body += "\n\n" + d.styles.StatusError.Render(fitPlain(d.err, w))
	}
	return modalBox(d.common, "Add a buddy", body, hint(d.common, d.keys.Next, d.keys.Confirm, d.keys.Cancel), w)
}

// removeConfirm asks before a buddy is removed.
type removeConfirm struct {
	*common
	uri, name string
}

func (d removeConfirm) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	switch k.String() {
	case "y", "Y", "enter":
		return d, send(submitRemoveMsg{uri: d.uri, name: d.name})
	case "n", "N", "esc", "q":
		return d, send(closeDialogMsg{})
	}
	return d, nil
}

func (d removeConfirm) view() string {
	w := modalWidth(d.width, 44)
	body := lipgloss.NewStyle().Width(w).Render(
		fmt.Sprintf("Remove %s (%s) from your buddy list?", d.name, d.uri))
	return modalBox(d.common, "Remove buddy", body, "y remove • n keep", w)
}

// pendingWatchers returns the watchers that wait for a decision.
func pendingWatchers(ws []account.Watcher) []account.Watcher {
	var out []account.Watcher
	seen := map[string]bool{}
	for _, w := range ws {
		if w.Pending() && !seen[w.URI] {
			seen[w.URI] = true
			out = append(out, w)
		}
	}
	return out
}
