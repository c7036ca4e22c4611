package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// How long a status-bar message stays. An outcome ("Status: Away") is
// read at a glance; an error gets longer. An error whose cause still holds
// (registration or publication failing) stays until the cause is gone, and
// a request under way stays until it is answered.
const (
	StatusMessageTTL = 5 * time.Second
	ErrorMessageTTL  = 12 * time.Second
)

// statusCause is what keeps a status-bar message on screen.
type statusCause int

const (
	causeNone         statusCause = iota // expires after its TTL
	causePending                         // a request under way: until its answer
	causeRegistration                    // until the account registers
	causePublication                     // until a publication succeeds
)

// statusExpiredMsg clears the status bar if it still shows message seq.
type statusExpiredMsg struct{ seq int }

// pendingRequest is what the status bar says about one request: while it
// is under way, when it is done and when it fails, in the words of the
// menus (the account's own summary goes to the debug log).
type pendingRequest struct {
	pending, done, failed string
}

// armStatusTimer returns the command that expires the current status
// message, once per message; nil when it has a cause that holds it.
func (m *Model) armStatusTimer() tea.Cmd {
	if m.statusArmed == m.statusSeq || m.statusText == "" || m.statusCause != causeNone {
		return nil
	}
	m.statusArmed = m.statusSeq
	ttl := StatusMessageTTL
	if m.statusKind == statusError {
		ttl = ErrorMessageTTL
	}
	seq := m.statusSeq
	return m.c.after(ttl, statusExpiredMsg{seq: seq})
}

// expireStatus clears the message if it is still the one the timer was for.
func (m *Model) expireStatus(msg statusExpiredMsg) {
	if msg.seq == m.statusSeq && m.statusCause == causeNone {
		m.statusText, m.statusKind = "", statusInfo
	}
}

// clearCause clears the status bar when it shows an error whose cause is
// gone (the account registered again, a publication went through).
func (m *Model) clearCause(c statusCause) {
	if m.statusCause == c {
		m.statusText, m.statusKind, m.statusCause = "", statusInfo, causeNone
		m.statusSeq++
	}
}

// logDetail keeps the technical text behind a message in the debug log,
// where D shows it whole.
func (m *Model) logDetail(kind account.LogKind, text string) {
	m.debug.push(account.LogEvent{Time: m.c.now(), Kind: kind, Text: text})
}

// personWords says in a person's words what went wrong; "" when the
// error is nothing a person can act on beyond reading the detail.
func personWords(err error) string {
	var re *ua.ResponseError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, resourcelists.ErrExists):
		return "already in your buddy list"
	case errors.Is(err, account.ErrNotInList), errors.Is(err, resourcelists.ErrNotFound):
		return "not in your buddy list"
	case errors.Is(err, account.ErrInvalidURI):
		return "that is not a SIP address (like alice@example.com)"
	case errors.Is(err, account.ErrNotStarted), errors.Is(err, account.ErrClosed), errors.Is(err, ua.ErrClosed):
		return "not connected"
	case errors.Is(err, account.ErrBusy):
		return "too many requests at once, try again"
	case errors.Is(err, account.ErrNoAnswer):
		return "the server has not confirmed it yet (still trying)"
	case errors.Is(err, ua.ErrAuthFailed):
		return "the server does not accept the password"
	case errors.Is(err, ua.ErrTransport):
		return "the server does not answer"
	case errors.As(err, &re):
		return responseWords(re.StatusCode)
	}
	t := err.Error()
	switch {
	case strings.Contains(t, "required"):
		return "the account settings are incomplete"
	case strings.Contains(t, "connection refused"), strings.Contains(t, "no such host"), strings.Contains(t, "timeout"):
		return "the server does not answer"
	}
	return ""
}

// responseWords says what a SIP final response means to a person.
func responseWords(code int) string {
	switch {
	case code == 401 || code == 407:
		return "the server does not accept the password"
	case code == 403 || code == 603:
		return "not allowed to see this buddy"
	case code == 404 || code == 604:
		return "no such user"
	case code == 408 || code == 480 || code == 503 || code == 504:
		return "the server is not available right now"
	case code == 489:
		return "the server does not offer presence"
	case code >= 500:
		return "the server had a problem"
	}
	return ""
}

// subscriptionWords turns the reason a subscription ended or is retried
// ("response 404", "rejected") into a person's words, keeping the code.
func subscriptionWords(reason string) string {
	var code int
	if _, err := fmt.Sscanf(reason, "response %d", &code); err == nil {
		if w := responseWords(code); w != "" {
			return w + " (" + reason + ")"
		}
		return reason
	}
	switch reason {
	case "rejected": // the Subscription-State reason of a refusal
		return "not allowed to see this buddy"
	case "probation": // how the embedded server ends a blocked watcher's subscription
		return "not sharing presence with you"
	case "noresource":
		return "no such user"
	}
	return reason
}

// failure builds the status-bar text of a failed request: what failed and
// why in words, and where the detail is.
func failure(what string, err error) string {
	if w := personWords(err); w != "" {
		return "✗ " + what + ": " + w
	}
	return "✗ " + what + " (D shows why)"
}
