package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// connTickInterval is how often the header's "retrying in N s" and the
// rows' "seen N ago" are redrawn while the connection is lost.
const connTickInterval = time.Second

// MaxPasswordChars bounds the password prompt's input.
const MaxPasswordChars = 256

// connTickMsg redraws the connection state; gen drops the ticks of an
// earlier outage.
type connTickMsg struct{ gen int }

// submitPasswordMsg carries the password typed in the prompt.
type submitPasswordMsg struct{ password string }

// passwordCommandMsg carries the answer of the password command run again.
type passwordCommandMsg struct {
	password string
	err      error
}

// connState is what the header says about the connection to the server.
type connState struct {
	lost       bool      // registered once, not now: buddies' states are stale
	problem    string    // the failure in words, "" when none
	retryAt    time.Time // the next attempt, zero when none is scheduled
	authFailed bool      // the password was refused: no retry until a new one
	gen        int
}

// connectionProblem says in words what went wrong with the registration;
// the technical text goes to the debug view.
func connectionProblem(err error) string {
	var re *ua.ResponseError
	switch {
	case errors.Is(err, ua.ErrAuthFailed):
		return "wrong user name or password"
	case errors.Is(err, ua.ErrTransport):
		return "server unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer from the server"
	case errors.As(err, &re):
		switch re.StatusCode {
		case 403:
			return "the server refused this account"
		case 404:
			return "the server does not know this account"
		case 408, 480, 500, 503, 504:
			return "the server is not available"
		}
		return fmt.Sprintf("the server said %d %s", re.StatusCode, clean(re.Reason))
	}
	return "cannot register"
}

// applyRegistration updates the connection state from an AccountEvent; it
// returns the command that keeps the countdown current, or the password
// prompt after an authentication failure.
func (m *Model) applyRegistration(ev account.AccountEvent) tea.Cmd {
	cs := &m.conn
	defer func() { m.c.connLost = cs.lost }()
	switch ev.State {
	case ua.Registered:
		*cs = connState{gen: cs.gen + 1}
	case ua.RegistrationFailed:
		cs.lost = true
		cs.problem = connectionProblem(ev.Err)
		cs.authFailed = errors.Is(ev.Err, ua.ErrAuthFailed)
		cs.retryAt = time.Time{}
		if ev.RetryIn > 0 {
			cs.retryAt = m.c.now().Add(ev.RetryIn)
		}
		cs.gen++
		if cs.authFailed {
			return m.askPassword()
		}
		gen := cs.gen
		return m.c.after(connTickInterval, connTickMsg{gen})
	}
	return nil
}

// tick redraws while the outage lasts.
func (m *Model) tick(msg connTickMsg) tea.Cmd {
	if msg.gen != m.conn.gen || !m.conn.lost {
		return nil
	}
	return m.c.after(connTickInterval, connTickMsg{msg.gen})
}

// connectionLabel is the header's right-hand text for the registration,
// and whether it is bad news.
func (m *Model) connectionLabel() (string, bool) {
	cs := m.conn
	switch {
	case m.self.Reg == ua.Registered:
		return RegistrationLabel(ua.Registered), false
	case cs.authFailed:
		return cs.problem + " · p enter password", true
	case cs.problem != "":
		s := cs.problem
		if !cs.retryAt.IsZero() {
			s += fmt.Sprintf(", retrying in %d s", max(0, int(cs.retryAt.Sub(m.c.now()).Round(time.Second)/time.Second)))
		}
		return s + " · r retry now", true
	}
	return RegistrationLabel(m.self.Reg), false
}

// retryNow is the r key: try the server again at once.
func (m *Model) retryNow() {
	if m.b == nil || m.closed || m.self.Reg == ua.Registered {
		return
	}
	m.b.RetryNow()
	m.conn.retryAt = time.Time{}
	m.setStatus(statusInfo, "Connecting again…")
}

// askPassword runs the password command again when there is one, else
// opens the masked prompt.
func (m *Model) askPassword() tea.Cmd {
	if run := m.opts.PasswordCommand; run != nil {
		return func() tea.Msg {
			pw, err := run()
			return passwordCommandMsg{pw, err}
		}
	}
	if _, open := m.dialogs.top().(passwordPrompt); open {
		return nil
	}
	d, cmd := newPasswordPrompt(m.c)
	m.dialogs.push(d)
	return cmd
}

// usePassword applies a new password to the account.
func (m *Model) usePassword(pw string) {
	if m.b == nil || m.closed || pw == "" {
		return
	}
	m.b.SetPassword(pw)
	m.conn.authFailed = false
	m.conn.problem = ""
	m.setStatus(statusInfo, "Signing in with the new password…")
}

// passwordPrompt asks for the password again, masked.
type passwordPrompt struct {
	*common
	input textinput.Model
}

func newPasswordPrompt(c *common) (passwordPrompt, tea.Cmd) {
	ti := newTextInput(c, "password", MaxPasswordChars, true)
	ti.EchoMode = textinput.EchoPassword
	ti.SetWidth(modalWidth(c.width, 40))
	cmd := ti.Focus()
	return passwordPrompt{common: c, input: ti}, cmd
}

func (d passwordPrompt) update(msg tea.Msg) (dialog, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Confirm):
			return d, send(submitPasswordMsg{d.input.Value()})
		case key.Matches(k, d.keys.Cancel):
			return d, send(closeDialogMsg{})
		}
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return d, cmd
}

func (d passwordPrompt) view() string {
	w := modalWidth(d.width, 40)
	body := d.styles.StatusError.Render("The server refused the password.") + "\n" +
		d.styles.InputLabel.Render("Password") + "\n" + d.input.View()
	return modalBox(d.common, "Sign in again", body, hint(d.common, d.keys.Confirm, d.keys.Cancel), w)
}

// statusCell is a row's status: the buddy's presence, or, while the
// connection or the subscription is lost, "reconnecting" (dimmed) with the
// age of the last update.
func (l *buddyList) statusCell(b *buddy) string {
	s := l.styles
	if !l.stale(b) {
		return s.Status(b.Avail).Render(StatusSymbol(b.Avail)) + " " + StatusLabel(b.Avail)
	}
	if !l.connLost && b.Sub == ua.Retrying && b.SubReason == "probation" {
		// The buddy's server ended the subscription for now: blocked.
		return s.HeaderFaint.Render("◌ blocked")
	}
	txt := "◌ reconnecting"
	if !b.Updated.IsZero() {
		txt += " · seen " + ago(l.now().Sub(b.Updated))
	}
	return s.HeaderFaint.Render(txt)
}

// ago says how long ago, coarsely: "12 s ago", "3 min ago", "2 h ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	}
	return fmt.Sprintf("%d h ago", int(d/time.Hour))
}

// stale reports whether what the row shows of b may no longer hold.
func (l *buddyList) stale(b *buddy) bool { return l.connLost || b.Sub == ua.Retrying }
