package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// The server went away: the header says what is wrong and what happens
// next, in words, and every row says reconnecting instead of a stale state.
func TestGoldenReconnecting80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{})
	m = drive(t, m, account.AccountEvent{AOR: "sip:me@example.test", DisplayName: "Mia Example", State: ua.RegistrationFailed,
		RetryIn: 8 * time.Second, Err: fmt.Errorf("ua: no response: REGISTER: %w", ua.ErrTransport)})
	requireGolden(t, m, 80, 24)
	screen := ansi.Strip(m.View().Content)
	for _, want := range []string{"server unreachable, retrying in 8 s · r retry now", "reconnecting"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "● Available") {
		t.Errorf("a buddy is still shown available while reconnecting:\n%s", screen)
	}
}

// A refused password: the retries stop and a masked prompt asks for it.
func TestGoldenWrongPassword80x24(t *testing.T) {
	m := runProgram(t, 80, 24, Options{SteadyCursor: true}) // drive cannot wait for a blink
	m = drive(t, m, account.AccountEvent{AOR: "sip:me@example.test", DisplayName: "Mia Example", State: ua.RegistrationFailed,
		Err: fmt.Errorf("ua: REGISTER: %w", ua.ErrAuthFailed)})
	m = drive(t, m, keyMsg("s"), keyMsg("e"), keyMsg("c"))
	requireGolden(t, m, 80, 24)
	screen := ansi.Strip(m.View().Content)
	if !strings.Contains(screen, "The server refused the password.") || !strings.Contains(screen, "wrong user name or password") {
		t.Errorf("no prompt or no reason:\n%s", screen)
	}
	if strings.Contains(screen, "sec") {
		t.Errorf("the typed password shows:\n%s", screen)
	}
}
