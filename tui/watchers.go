package tui

import (
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// The watchers view ("w"): every watcher, from watcher info (who
// subscribed) and from the rules (whom I decided about), with its state
// and the rule that applies; a allow, b block, p polite-block, u forget my
// rule, e ask me about everyone (or not).

// Intents of the watchers view.
type (
	watcherMsg struct {
		uri string
		h   presrules.Handling // Undo: forget my rule
	}
	askEveryoneMsg struct{ ask bool }
	// rereadRulesMsg reads the rules again (another client may have
	// changed them).
	rereadRulesMsg struct{}
)

// MaxWatcherRows bounds the rows the watchers view lists (the winfo
// document and the rules are bounded by their own limits; this bounds the
// work of one rebuild).
const MaxWatcherRows = 2000

// watcherRow is one line of the watchers view.
type watcherRow struct {
	uri, name string
	status    string // watcher info status ("pending", "active", ...), "" when not watching
	h         presrules.Handling
	rule      string
	matched   bool // a rule decides; false: the server's default
}

// state is the row's state in words.
func (r watcherRow) state() string {
	if r.matched {
		switch r.h {
		case presrules.Allow:
			return "allowed"
		case presrules.Block:
			return "blocked"
		case presrules.PoliteBlock:
			return "polite-blocked"
		}
		if r.status == "waiting" {
			return "waiting"
		}
		return "pending"
	}
	switch r.status {
	case "active":
		return "allowed"
	case "waiting":
		return "waiting"
	case "pending":
		return "pending"
	case "terminated":
		return "gone"
	}
	return "no decision"
}

// ruleWords says which rule decides, in words.
func ruleWords(rule string, matched bool) string {
	if !matched {
		return "server default"
	}
	switch rule {
	case presrules.RuleAllow, presrules.RuleBlock, presrules.RulePoliteBlock, presrules.RuleConfirm:
		return "your rule"
	case presrules.RuleAskEveryone, presrules.OMARuleUnlisted:
		return "everyone else: ask"
	case presrules.OMARuleAllowUnlisted:
		return "everyone else: allow"
	case presrules.OMARuleGranted:
		return "allowed contacts"
	case presrules.OMARuleBlocked:
		return "blocked contacts"
	case presrules.OMARuleAllowOwn:
		return "your own devices"
	case presrules.OMARuleBlockAnonymous:
		return "anonymous: block"
	case "":
		return "a rule without id"
	}
	return "rule " + clean(rule)
}

// watcherRows merges watcher info and the rules into one sorted list:
// watchers waiting for me first, then by address. self (my AOR) is left
// out: my own devices are always allowed.
func watcherRows(ws []account.Watcher, rules *account.WatcherRulesEvent, self string) []watcherRow {
	byKey := map[string]*watcherRow{}
	var order []string
	add := func(uri string) *watcherRow {
		k := uriKey(uri)
		if r, ok := byKey[k]; ok {
			return r
		}
		if len(order) >= MaxWatcherRows || k == uriKey(self) {
			return nil
		}
		r := &watcherRow{uri: uri}
		byKey[k] = r
		order = append(order, k)
		return r
	}
	for _, w := range ws {
		r := add(w.URI)
		if r == nil {
			continue
		}
		if n := clean(w.DisplayName); n != "" {
			r.name = n
		}
		// The most telling status of several dialogs (two devices).
		if statusRank(w.Status) > statusRank(r.status) {
			r.status = w.Status
		}
	}
	if rules != nil {
		for _, wr := range rules.Rules {
			if r := add(wr.Watcher); r != nil {
				r.h, r.rule, r.matched = wr.Handling, wr.Rule, wr.Rule != ""
			}
		}
		if rules.Explain != nil {
			for _, k := range order {
				r := byKey[k]
				r.h, r.rule, r.matched = rules.Explain(r.uri)
			}
		}
	}
	out := make([]watcherRow, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		wi, wj := out[i].waits(), out[j].waits()
		if wi != wj {
			return wi
		}
		return out[i].uri < out[j].uri
	})
	return out
}

func (r watcherRow) waits() bool { s := r.state(); return s == "pending" || s == "waiting" }

func statusRank(s string) int {
	switch s {
	case "active":
		return 4
	case "pending":
		return 3
	case "waiting":
		return 2
	case "terminated":
		return 1
	}
	return 0
}

// uriKey is the comparison form of an address (its AOR), the trimmed text
// when it is not a SIP address.
func uriKey(uri string) string {
	if u, err := sipuri.ParseAddress(uri); err == nil {
		return u.AOR().String()
	}
	return strings.TrimSpace(uri)
}

// watchersView is the dialog. The root model rebuilds its rows when the
// watcher list or the rules change (withRows), keeping the cursor on the
// same watcher.
type watchersView struct {
	*common
	cursor   int
	top      int
	rows     []watcherRow
	layout   string
	unlisted presrules.Unlisted
	known    bool // the rules have been read
}

func (d watchersView) withRows(rows []watcherRow, rules *account.WatcherRulesEvent) watchersView {
	cur := ""
	if d.cursor < len(d.rows) {
		cur = uriKey(d.rows[d.cursor].uri)
	}
	d.rows = rows
	if rules != nil {
		d.layout, d.unlisted, d.known = rules.Layout, rules.Unlisted, true
	}
	for i, r := range rows {
		if uriKey(r.uri) == cur {
			d.cursor = i
		}
	}
	if d.cursor >= len(rows) {
		d.cursor = max(0, len(rows)-1)
	}
	return d
}

// watcherListRows is how many watchers the view shows at once.
func (d watchersView) listRows() int { return max(3, min(12, d.height-14)) }

func (d watchersView) update(msg tea.Msg) (dialog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	selected := func(h presrules.Handling) tea.Cmd {
		if d.cursor < len(d.rows) {
			return send(watcherMsg{uri: d.rows[d.cursor].uri, h: h})
		}
		return nil
	}
	switch {
	case key.Matches(k, d.keys.Cancel), k.String() == "q", k.String() == "w":
		return d, send(closeDialogMsg{})
	case key.Matches(k, d.keys.Up):
		d.cursor = max(0, d.cursor-1)
	case key.Matches(k, d.keys.Down):
		d.cursor = max(0, min(len(d.rows)-1, d.cursor+1))
	case key.Matches(k, d.keys.Accept):
		return d, selected(presrules.Allow)
	case key.Matches(k, d.keys.Block):
		return d, selected(presrules.Block)
	case key.Matches(k, d.keys.PoliteBlock):
		return d, selected(presrules.PoliteBlock)
	case key.Matches(k, d.keys.Forget):
		return d, selected(presrules.Undo)
	case key.Matches(k, d.keys.AskEveryone):
		return d, send(askEveryoneMsg{ask: d.unlisted != presrules.UnlistedAsk})
	case k.String() == "r":
		return d, send(rereadRulesMsg{})
	}
	n := d.listRows()
	if d.cursor < d.top {
		d.top = d.cursor
	} else if d.cursor >= d.top+n {
		d.top = d.cursor - n + 1
	}
	return d, nil
}

func (d watchersView) view() string {
	w := modalWidth(d.width, 76)
	var sb strings.Builder
	sb.WriteString(d.styles.InputLabel.Render(fitPlain("Everyone else: "+d.unlistedWords(), w)) + "\n")
	sb.WriteString(d.styles.Hint.Render(fitPlain(d.layoutWords(), w)) + "\n\n")
	if len(d.rows) == 0 {
		sb.WriteString(d.styles.Empty.Render(fitPlain("Nobody watches you, and you have no rules for anyone.", w)))
	}
	stateW, ruleW := 15, min(24, max(8, w/3))
	nameW := max(8, w-2-stateW-ruleW-2)
	n := d.listRows()
	top := min(d.top, max(0, len(d.rows)-n))
	for i := top; i < len(d.rows) && i < top+n; i++ {
		r := d.rows[i]
		if i > top {
			sb.WriteByte('\n')
		}
		label := clean(r.uri)
		if r.name != "" {
			label = r.name + " <" + label + ">"
		}
		line := fit(label, nameW) + " " + fit(r.state(), stateW) + " " + fitPlain(ruleWords(r.rule, r.matched), ruleW)
		if i == d.cursor {
			sb.WriteString(d.styles.MenuActive.Render("› " + line))
		} else {
			sb.WriteString("  " + d.styles.MenuItem.Render(line))
		}
	}
	if len(d.rows) > n {
		sb.WriteString("\n" + d.styles.Hint.Render(fitPlain(strings.Repeat(" ", 2)+strconv.Itoa(d.cursor+1)+" of "+strconv.Itoa(len(d.rows)), w)))
	}
	return modalBox(d.common, "Who may see me", sb.String(), "a allow • b block • p polite • u undo • e ask me or not • r reread • esc", w)
}

func (d watchersView) unlistedWords() string {
	switch {
	case !d.known:
		return "reading your rules…"
	case d.unlisted == presrules.UnlistedAsk:
		return "ask me first"
	case d.unlisted == presrules.UnlistedAllow:
		return "may see me"
	case d.unlisted == presrules.UnlistedRefuse:
		return "refused (another client's rule)"
	}
	return "the server decides (your domain may see you, others wait)"
}

func (d watchersView) layoutWords() string {
	switch d.layout {
	case presrules.OMAAUID:
		return "Rules kept as Blink keeps them (OMA pres-rules and lists)"
	case presrules.AUID:
		return "Rules kept in IETF pres-rules"
	}
	return ""
}

// openWatchers opens the watchers view and reads the rules afresh.
func (m *Model) openWatchers() {
	m.dialogs.push(watchersView{common: m.c}.withRows(watcherRows(m.watchers, m.watcherRules, m.self.AOR), m.watcherRules))
	m.readWatcherRules()
}

// readWatcherRules reads the rules in the background (quietly unless it
// fails).
func (m *Model) readWatcherRules() {
	m.quietRequest("Could not read who may see you", func() account.RequestID { return m.b.ReadWatcherRules() })
}

// quietRequest sends a background read: its answer is the event it
// brings; only a failure shows, as failed.
func (m *Model) quietRequest(failed string, do func() account.RequestID) {
	if m.b == nil || m.closed {
		return
	}
	if m.quiet == nil {
		m.quiet = make(map[account.RequestID]string)
	}
	m.quiet[do()] = failed
}

// refreshWatchersView rebuilds the open watchers view's rows.
func (m *Model) refreshWatchersView() {
	if d, ok := m.dialogs.top().(watchersView); ok {
		m.dialogs[len(m.dialogs)-1] = d.withRows(watcherRows(m.watchers, m.watcherRules, m.self.AOR), m.watcherRules)
	}
}

// watcherRequest sends one watcher decision to the account.
func (m *Model) watcherRequest(msg watcherMsg) {
	who := clean(msg.uri)
	switch msg.h {
	case presrules.Allow:
		m.request(pendingRequest{"Allowing " + who + "…", "✓ " + who + " may see your presence", "Could not allow " + who},
			func() account.RequestID { return m.b.AcceptWatcher(msg.uri) })
	case presrules.Block:
		m.request(pendingRequest{"Blocking " + who + "…", "✓ " + who + " blocked: told so, and asks again now and then", "Could not block " + who},
			func() account.RequestID { return m.b.BlockWatcher(msg.uri) })
	case presrules.PoliteBlock:
		m.request(pendingRequest{"Polite-blocking " + who + "…", "✓ " + who + " now sees you offline", "Could not polite-block " + who},
			func() account.RequestID { return m.b.PoliteBlockWatcher(msg.uri) })
	case presrules.Undo:
		m.request(pendingRequest{"Removing your rule for " + who + "…", "✓ Your rule for " + who + " removed", "Could not remove your rule for " + who},
			func() account.RequestID { return m.b.ForgetWatcher(msg.uri) })
	}
}

func (m *Model) askEveryone(ask bool) {
	r := pendingRequest{"Changing what happens to new watchers…", "✓ You are asked about every new watcher", "Could not change what happens to new watchers"}
	if !ask {
		r.done = "✓ New watchers no longer wait for you"
	}
	m.request(r, func() account.RequestID { return m.b.SetAskEveryone(ask) })
}

// openOfflineNote opens the offline note editor with the note as last
// known, and reads it from the server.
func (m *Model) openOfflineNote() tea.Cmd {
	d, cmd := newNoteEditor(m.c, m.offlineNote, m.opts.NoPaste)
	d.offline = true
	m.dialogs.push(d)
	m.quietRequest("Could not read your offline note", func() account.RequestID { return m.b.ReadOfflineNote() })
	return cmd
}

func (m *Model) setOfflineNote(note string) {
	r := pendingRequest{"Saving your offline note…", "✓ Offline note set: watchers see it when all your devices are offline", "Could not save your offline note"}
	if note == "" {
		r = pendingRequest{"Removing your offline note…", "✓ Offline note removed", "Could not remove your offline note"}
	}
	m.request(r, func() account.RequestID { return m.b.SetOfflineNote(note) })
}
