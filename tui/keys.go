package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the buddy list, with its help text. Dialogs
// use the Confirm/Cancel/Up/Down bindings and a few of their own.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding

	Filter      key.Binding
	ClearFilter key.Binding

	SetStatus   key.Binding
	EditNote    key.Binding
	SetIcon     key.Binding
	AddBuddy    key.Binding
	RemoveBuddy key.Binding
	Watchers    key.Binding
	OfflineNote key.Binding
	Retry       key.Binding
	Password    key.Binding

	Fold        key.Binding
	Unfold      key.Binding
	NewGroup    key.Binding
	Rename      key.Binding
	MoveToGroup key.Binding

	ToggleDetail key.Binding
	CycleArt     key.Binding
	RowSize      key.Binding
	ViewMyIcon   key.Binding
	ToggleDebug  key.Binding
	Help         key.Binding
	Quit         key.Binding

	Confirm key.Binding
	Cancel  key.Binding
	Next    key.Binding
	Accept  key.Binding
	Block   key.Binding
	Copy    key.Binding // the group picker: put the buddy in this group too

	// The watchers view's other keys.
	PoliteBlock key.Binding
	Forget      key.Binding
	AskEveryone key.Binding
}

// DefaultKeyMap returns the default bindings.
func DefaultKeyMap() *KeyMap {
	return &KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),

		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),

		SetStatus:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "status")),
		EditNote:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "note")),
		SetIcon:     key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "my icon")),
		AddBuddy:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add buddy")),
		RemoveBuddy: key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "remove buddy")),
		Watchers:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "watchers")),
		OfflineNote: key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "offline note")),
		Retry:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry now")),
		Password:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "password")),

		Fold:        key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "fold group")),
		Unfold:      key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "unfold")),
		NewGroup:    key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "new group")),
		Rename:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "rename")),
		MoveToGroup: key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "move to group")),

		ToggleDetail: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "details")),
		CycleArt:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "icon mode")),
		RowSize:      key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "row size")),
		ViewMyIcon:   key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "view my icon")),
		ToggleDebug:  key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "debug log")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:         key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Next:    key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "next field")),
		Accept:  key.NewBinding(key.WithKeys("a", "enter"), key.WithHelp("a", "accept")),
		Block:   key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "block")),
		Copy:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "in this group too")),

		PoliteBlock: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "polite block")),
		Forget:      key.NewBinding(key.WithKeys("u", "delete"), key.WithHelp("u", "undo my rule")),
		AskEveryone: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "ask about everyone")),
	}
}

// ShortHelp is the one-line help of the buddy list (help.KeyMap).
func (k *KeyMap) ShortHelp() []key.Binding {
	// Essential keys first: a narrow terminal cuts the line from the right.
	return []key.Binding{k.Quit, k.Help, k.AddBuddy, k.SetStatus, k.EditNote, k.Filter, k.Watchers}
}

// FullHelp is the help shown by "?" (help.KeyMap).
func (k *KeyMap) FullHelp() [][]key.Binding {
	// The help drops the columns that do not fit from the right, so the
	// essential ones (add, remove, quit) come first.
	return [][]key.Binding{
		{k.AddBuddy, k.RemoveBuddy, k.Quit, k.Help},
		{k.SetStatus, k.EditNote, k.SetIcon, k.ViewMyIcon, k.Watchers, k.OfflineNote},
		{k.Filter, k.ClearFilter, k.ToggleDetail, k.ToggleDebug, k.CycleArt, k.RowSize},
		{k.NewGroup, k.Rename, k.MoveToGroup, k.Fold, k.Unfold},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
	}
}

// bindings is a help.KeyMap for one dialog.
type bindings []key.Binding

func (b bindings) ShortHelp() []key.Binding  { return b }
func (b bindings) FullHelp() [][]key.Binding { return [][]key.Binding{b} }
