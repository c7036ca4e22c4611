package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// View renders the screen. It only reads the model: art comes from the
// cache, missing art shows as a placeholder until its command delivers it.
func (m Model) View() tea.View {
	var frame string
	if m.gfx.pixels() && m.gfx.g.Protocol == art.KittyDirect {
		frame = m.directFrame() // kittydirect.go places the images there
	} else {
		frame = m.render()
	}
	v := tea.NewView(frame)
	v.AltScreen = true
	// Mouse reporting stays off: with it on, the terminal's own selection
	// (copying a URI or a note, the most common thing a mouse does here)
	// needs a modifier most people do not know, and every action has a key.
	v.MouseMode = tea.MouseModeNone
	v.WindowTitle = "sipbuddy"
	if m.self.AOR != "" {
		v.WindowTitle = "sipbuddy — " + clean(m.self.AOR)
	}
	return v
}

// render returns the whole screen as text, exactly height lines of at most
// width cells.
func (m *Model) render() string {
	w, h := m.c.width, m.c.height
	if w <= 0 || h <= 0 {
		return ""
	}
	lay := m.layout()
	var parts []string
	parts = append(parts, m.headerView(w))

	body := m.list.view(lay.listW, lay.listH, func(b *buddy, cols, rows int) string {
		return m.iconArt(b.IconHash, b.name, cols, rows)
	})
	if lay.detailW > 0 {
		d := m.detailView(lay.detailW, lay.detailH, lay.detailRight)
		if lay.detailRight {
			body = lipgloss.JoinHorizontal(lipgloss.Top, body, " ", d)
		} else {
			body = body + "\n" + d
		}
	}
	if lay.debugH > 0 {
		body = body + "\n" + m.debugView(w, lay.debugH)
	}
	body = padLines(body, w, lay.bodyH)
	if modal := m.dialogView(); modal != "" && lay.bodyH > 0 {
		body = padLines(place(body, modal, w, lay.bodyH), w, lay.bodyH)
	}
	if lay.bodyH > 0 {
		parts = append(parts, body)
	}
	parts = append(parts, m.statusView(w))
	if m.showHelp {
		parts = append(parts, m.fullHelpView())
	} else {
		parts = append(parts, fit(m.help.ShortHelpView(m.c.keys.ShortHelp()), w))
	}
	return padLines(strings.Join(parts, "\n"), w, h)
}

// fullHelpView is the help "?" shows: the keys, then where the log is.
func (m *Model) fullHelpView() string {
	v := m.help.FullHelpView(m.c.keys.FullHelp())
	if m.opts.LogPath != "" {
		v += "\n" + m.c.styles.Hint.Render(fitPlain("Log file: "+m.opts.LogPath, m.c.width))
	}
	return v
}

// headerView shows my icon, name, status, note, registration and the
// watchers badge: two lines and a rule.
func (m *Model) headerView(w int) string {
	s := m.c.styles
	cols, rows := headerIconCols, headerIconRows
	label := m.self.Name
	if label == "" {
		label = userPart(m.self.AOR)
	}
	icon := strings.Split(m.iconArt(m.self.IconHash, label, cols, rows), "\n")
	for len(icon) < 2 {
		icon = append(icon, strings.Repeat(" ", cols))
	}

	name := clean(m.self.Name)
	aor := clean(m.self.AOR)
	if aor == "" {
		aor = "not signed in"
	}
	left1 := s.HeaderName.Render(name)
	if name != "" {
		left1 += "  "
	}
	left1 += s.HeaderFaint.Render(aor)

	reg, bad := m.connectionLabel()
	regStyle := s.HeaderFaint
	switch {
	case m.self.Reg == ua.Registered:
		regStyle = s.Status(pidf.Available)
	case bad:
		regStyle = s.StatusError
	}
	right1 := regStyle.Render(reg)

	var left2 string
	if m.self.known {
		a := selfAvailability(m.self.Open, m.self.Activities)
		lbl := StatusLabel(a)
		if !m.self.Open {
			lbl = "Invisible"
		}
		left2 = s.Status(a).Render(StatusSymbol(a)) + " " + lbl
		if n := clean(m.self.Note); n != "" {
			left2 += s.HeaderFaint.Render(" · ") + s.RowNote.Render(n)
		}
	} else {
		left2 = s.HeaderFaint.Render("status not published yet")
	}
	right2 := ""
	if n := len(m.pending); n > 0 {
		word := "watchers wait"
		if n == 1 {
			word = "watcher waits"
		}
		right2 = s.Badge.Render(fmt.Sprintf("%d %s · w", n, word))
	}
	if d := m.devicesBadge(); d != "" {
		right2 = strings.TrimSpace(d + "  " + right2)
	}

	textW := max(0, w-cols-1)
	line := func(iconRow, left, right string) string {
		rw := ansi.StringWidth(right)
		lw := max(0, textW-rw-1)
		return iconRow + " " + fit(left, lw) + fit(" "+right, textW-lw)
	}
	return line(icon[0], left1, right1) + "\n" +
		line(icon[1], left2, right2) + "\n" +
		s.Rule.Render(strings.Repeat("─", w))
}

// detailView shows every presence field of the selected buddy: on the
// right (icon on top) or below the list (icon on the left).
func (m *Model) detailView(w, h int, right bool) string {
	s := m.c.styles
	innerW := max(0, w-4) // border and padding
	b := m.list.selected()
	if b == nil {
		body := s.Empty.Render(fitPlain("Select a buddy to see the details.", innerW))
		if g, ok := m.list.headerGroup(); ok {
			body = m.groupDetail(g, innerW)
		}
		return s.Detail.Width(w).Height(h).Render(padLines(body, innerW, max(0, h-2)))
	}
	iconCols, iconRows := detailIconSize(w, h, right)
	icon := m.iconArt(b.IconHash, b.name, iconCols, iconRows)

	status := s.Status(b.Avail).Render(StatusSymbol(b.Avail)) + " " + StatusLabel(b.Avail)
	labelW := 13
	var fields []string
	field := func(label, value string, style lipgloss.Style, lines int) {
		if value == "" {
			return
		}
		vw := max(1, innerW-labelW)
		if !right {
			vw = max(1, innerW-detailIconCols-2-labelW)
		}
		wrapped := strings.Split(ansi.Wrap(value, vw, " /&?=#"), "\n")
		if len(wrapped) > lines {
			wrapped = wrapped[:lines]
			wrapped[lines-1] = fitPlain(wrapped[lines-1]+"…", vw)
		}
		for i, l := range wrapped {
			lb := strings.Repeat(" ", labelW)
			if i == 0 {
				lb = s.DetailLabel.Render(fit(label, labelW))
			}
			fields = append(fields, lb+style.Render(l))
		}
	}
	st := b.State
	field("URI", clean(b.URI), s.DetailValue, 2)
	field("Groups", m.list.groupsText(b), s.DetailValue, 2)
	field("Status", StatusLabel(b.Avail)+basicSuffix(b), s.DetailValue, 1)
	field("Activities", clean(strings.Join(st.Activities, ", ")), s.DetailValue, 2)
	field("Note", clean(st.Note), s.DetailValue, 3)
	field("Icon", clean(iconURL(b)), s.DetailValue, 3)
	field("Subscription", subscriptionText(b), subscriptionStyle(s, b), 2)
	if !b.Updated.IsZero() {
		field("Updated", b.Updated.Format("2006-01-02 15:04:05"), s.DetailValue, 1)
	}
	field("Icon error", clean(b.IconErr), s.DetailError, 2)
	field("Buddy list", clean(m.list.mode), s.DetailValue, 3)

	title := s.DetailTitle.Render(b.name) + "\n" + status + "\n" + s.RowURI.Render(clean(b.URI))
	var body string
	if right {
		var top string
		if iconCols > detailIconCols { // a large icon has the pane's width: the title goes below
			top = icon + "\n" + padLines(title, innerW, 3)
		} else {
			top = lipgloss.JoinHorizontal(lipgloss.Top, icon, "  ", padLines(title, max(0, innerW-iconCols-2), 3))
		}
		body = top + "\n\n" + strings.Join(fields, "\n")
	} else {
		body = lipgloss.JoinHorizontal(lipgloss.Top, icon, "  ", padLines(strings.Join(fields, "\n"), max(0, innerW-detailIconCols-2), detailIconRows))
	}
	return s.Detail.Width(w).Render(padLines(body, innerW, max(0, h-2)))
}

func basicSuffix(b *buddy) string {
	switch {
	case !b.HasState:
		return " (no presence received)"
	case b.State.Basic == "":
		return ""
	}
	return " (basic: " + string(b.State.Basic) + ")"
}

func iconURL(b *buddy) string {
	u := b.State.IconURL
	if u == "" {
		u = b.IconURL
	}
	if u != "" && b.State.IconHash != "" {
		u += "#" + b.State.IconHash
	}
	return u
}

func subscriptionText(b *buddy) string {
	if b.Sub == ua.Retrying && b.SubReason == "probation" {
		// Blocked by the buddy (sip/server): its words, and when we ask again.
		t := "blocked by this buddy"
		if b.RetryIn > 0 {
			t += fmt.Sprintf(" (asking again in %s)", b.RetryIn.Round(1e9))
		}
		return t
	}
	t := SubscriptionLabel(b.Sub)
	if b.SubReason != "" {
		t += ": " + clean(subscriptionWords(b.SubReason))
	}
	if b.Sub == ua.Retrying && b.RetryIn > 0 {
		t += fmt.Sprintf(" (retry in %s)", b.RetryIn.Round(1e9))
	}
	return t
}

func subscriptionStyle(s *Styles, b *buddy) lipgloss.Style {
	switch b.Sub {
	case ua.Terminated:
		return s.DetailError
	case ua.Pending, ua.Retrying:
		return s.RowMark
	}
	return s.DetailValue
}

// statusView is the status bar: the outcome of the last request on the
// left, counts and the icon mode on the right.
func (m *Model) statusView(w int) string {
	s := m.c.styles
	count := fmt.Sprintf("%d/%d online", m.list.onlineCount(), len(m.list.sorted))
	if m.list.filtered() {
		count = fmt.Sprintf("%d of %d shown", len(m.list.visible), len(m.list.sorted))
	}
	right := s.StatusInfo.Render(count + " · " + m.iconModeLabel())
	style := s.StatusInfo
	switch m.statusKind {
	case statusOK:
		style = s.StatusOK
	case statusError:
		style = s.StatusError
	}
	rw := ansi.StringWidth(right)
	lw := max(0, w-rw-1)
	text := " " + m.statusText
	if ansi.StringWidth(text) > lw {
		// Cut, but say where the whole message is.
		const more = " (D: all)"
		text = fitPlain(text, max(1, lw-ansi.StringWidth(more))) + more
	}
	return fit(style.Render(fitPlain(text, lw)), lw) + fit(" "+right, w-lw)
}

// dialogView renders the open dialog's modal, or "".
func (m *Model) dialogView() string {
	if d, ok := m.dialogs.top().(myIconDialog); ok {
		return m.myIconView(d)
	}
	if d := m.dialogs.top(); d != nil {
		return d.view()
	}
	return ""
}
