package tui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// MaxEventsPerRead bounds the events one read hands to Update: enough to
// catch up after a flood in a few frames, few enough that one Update stays
// short.
const MaxEventsPerRead = 512

// eventsMsg carries the events of one read of the account's queue, with
// the art rendered ahead for the icons among them; handling it re-arms the
// read.
type eventsMsg struct {
	evs []account.Event
	art artMsg
}

// accountClosedMsg says the account was closed and every event was read.
type accountClosedMsg struct{}

// readEvents returns the command that waits for the account's next events
// (up to MaxEventsPerRead) and renders the art of the icons among them at
// the list's size in the current mode, and at the detail pane's for the
// selected buddy. Update re-arms it after handling.
func (m *Model) readEvents() tea.Cmd {
	if m.b == nil {
		return nil
	}
	b, mode, rows := m.b, m.c.mode, m.list.rowHeight
	var detailURI string
	var dc, dr int
	if sel := m.list.selected(); sel != nil && m.c.width > 0 {
		if lay := m.layout(); lay.detailW > 0 {
			detailURI = sel.URI
			dc, dr = detailIconSize(lay.detailW, lay.detailH, lay.detailRight)
		}
	}
	self := m.self.AOR
	return func() tea.Msg {
		evs, err := b.Next(context.Background(), MaxEventsPerRead)
		if err != nil {
			return accountClosedMsg{}
		}
		var pre artMsg
		for _, ev := range evs {
			ic, ok := ev.(account.IconEvent)
			if !ok || ic.Thumb == nil || ic.Hash == "" {
				continue
			}
			pre.add(ic.Hash, ic.Thumb, ic.Large, 2*rows, rows, mode)
			if ic.URI == detailURI && ic.URI != self {
				pre.add(ic.Hash, ic.Thumb, ic.Large, dc, dr, mode)
			}
		}
		return eventsMsg{evs: evs, art: pre}
	}
}

// handleEvent applies one account event to the model. A change of order
// in the list is left to resortIfDirty, once per batch of events.
func (m *Model) handleEvent(ev account.Event) tea.Cmd {
	switch ev := ev.(type) {
	case account.AccountEvent:
		m.self.AOR, m.self.Name, m.self.Reg = ev.AOR, ev.DisplayName, ev.State
		m.self.RegErr = ""
		if ev.Err != nil {
			// The header says it in words; the detail is in the debug view.
			m.self.RegErr = ev.Err.Error()
			m.logDetail(account.LogError, "registration: "+m.self.RegErr)
			m.setStatusCause(statusError, failure("Not signed in", ev.Err), causeRegistration)
		} else if ev.State == ua.Registered {
			m.clearCause(causeRegistration)
		}
		return m.applyRegistration(ev)
	case account.BuddiesEvent:
		if ev.Err != nil {
			// The list could not be (re)loaded: keep what is shown.
			m.list.loadErr = clean(ev.Err.Error())
			m.logDetail(account.LogError, "buddy list: "+m.list.loadErr)
			m.setStatus(statusError, failure("Could not load your buddy list", ev.Err))
			return nil
		}
		m.list.loaded, m.list.loadErr = true, ""
		m.list.setGroups(ev.Groups)
		m.list.setBuddies(ev.Buddies)
	case account.ListEvent:
		m.list.mode = ev.String()
	case account.PresenceEvent:
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
		had, was := b.HasState, b.Avail
		b.State, b.HasState, b.Updated = ev.State, true, ev.At
		b.refresh()
		m.noticePresence(b, had, was)
		m.list.dirty = true
	case account.SubscriptionEvent:
		b := m.list.get(ev.URI, false)
		if b == nil {
			return nil
		}
		b.Sub, b.SubReason, b.RetryIn = ev.State, ev.Reason, ev.RetryIn
		if b.SubReason == "" && ev.Err != nil {
			b.SubReason = ev.Err.Error()
		}
	case account.IconEvent:
		if ev.URI == m.self.AOR {
			m.self.IconHash = ev.Hash
			m.self.icon = iconInfo{url: ev.URL, format: ev.Format, w: ev.Width, h: ev.Height, bytes: ev.Bytes}
		} else if b := m.list.get(ev.URI, false); b != nil {
			b.IconHash, b.IconURL, b.IconErr = ev.Hash, ev.URL, ""
		}
		m.arts.addThumb(ev.Hash, ev.Thumb, ev.Large)
	case account.IconFailedEvent:
		if b := m.list.get(ev.URI, false); b != nil {
			b.IconErr = ev.Err.Error()
			if ev.RetryIn > 0 {
				b.IconErr += fmt.Sprintf(" (retry in %s)", ev.RetryIn.Round(time.Second))
			}
		}
	case account.PublicationEvent:
		m.self.PubState, m.self.PubErr = ev.State, ""
		if ev.Err != nil {
			m.self.PubErr = ev.Err.Error()
			m.logDetail(account.LogError, "publication: "+m.self.PubErr)
			m.setStatusCause(statusError, failure("Your status is not published", ev.Err), causePublication)
		} else {
			m.clearCause(causePublication)
		}
	case account.SelfEvent:
		m.self.known = true
		m.self.Open, m.self.Activities, m.self.Note = ev.Open, ev.Activities, ev.Note
		m.self.IconURL = ev.IconURL
		if ev.IconHash != m.self.IconHash && ev.IconURL == "" {
			m.self.IconHash = ""
		}
	case account.WatchersEvent:
		before := len(m.pending)
		m.watchers = ev.Watchers
		m.pending = pendingWatchers(ev.Watchers)
		_, watching := m.dialogs.top().(watchersView)
		m.refreshWatchersView()
		if watching {
			// Another client may have changed the rules that moved them.
			m.readWatcherRules()
		}
		if len(m.pending) > before && !watching {
			p := m.pending[len(m.pending)-1]
			m.setStatus(statusInfo, clean(p.URI)+" asks to see your presence (w)")
		}
	case account.DevicesEvent:
		m.devices = ev.Devices
	case account.WatcherRulesEvent:
		m.watcherRules = &ev
		m.refreshWatchersView()
	case account.OfflineNoteEvent:
		m.offlineNote = ev.Note
		if d, ok := m.dialogs.top().(noteEditor); ok && d.offline && d.input.Value() == "" {
			d.input.SetValue(ev.Note)
			m.dialogs[len(m.dialogs)-1] = d
		}
	case account.LogEvent:
		m.debug.push(ev)
	case account.DoneEvent:
		if _, quiet := m.quiet[ev.ID]; quiet {
			// A read the user did not ask for in so many words: its
			// answer is the event it brought, not a status line.
			delete(m.quiet, ev.ID)
			return nil
		}
		r, ok := m.requests[ev.ID]
		delete(m.requests, ev.ID)
		if ev.Detail != "" {
			m.logDetail(account.LogInfo, ev.Kind.String()+": "+ev.Detail)
		}
		if !ok {
			r.done = "✓ Done"
		}
		m.setStatus(statusOK, r.done)
	case account.ErrorEvent:
		if failed, quiet := m.quiet[ev.ID]; quiet {
			delete(m.quiet, ev.ID)
			m.logDetail(account.LogError, ev.Kind.String()+": "+clean(ev.Err.Error()))
			m.setStatus(statusError, failure(failed, ev.Err))
			return nil
		}
		r, ok := m.requests[ev.ID]
		delete(m.requests, ev.ID)
		m.logDetail(account.LogError, ev.Kind.String()+": "+clean(ev.Err.Error()))
		if !ok {
			r.failed = "Request failed"
		}
		m.setStatus(statusError, failure(r.failed, ev.Err))
	}
	return nil
}
