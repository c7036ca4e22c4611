package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// debugText is every event the debug pane keeps, joined.
func debugText(m Model) string {
	var sb strings.Builder
	for _, e := range m.debug.last(m.debug.n) {
		sb.WriteString(e.Text + "\n")
	}
	return sb.String()
}

// TestStatusMessageExpires runs a real program with real timers: the
// message "m" shows is gone StatusMessageTTL later, without a key.
func TestStatusMessageExpires(t *testing.T) {
	tm := teatest.NewTestModel(t, newTestModel(Options{}),
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	tm.Send(keyMsg("m"))
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return strings.Contains(string(out), "Icons:") },
		teatest.WithDuration(5*time.Second))
	time.Sleep(StatusMessageTTL + 2*time.Second)
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if m.statusText != "" || strings.Contains(plain(m), "Icons:") {
		t.Errorf("status %q still shown %s after it was set", m.statusText, StatusMessageTTL+2*time.Second)
	}
}

// An error whose cause holds stays; it goes when the cause is gone.
func TestRegistrationErrorStaysWhileItHolds(t *testing.T) {
	m := listWith(t, scenario()...)
	m = drive(t, m, account.AccountEvent{AOR: "sip:me@example.test", State: ua.RegistrationFailed,
		Err: fmt.Errorf("ua: no response: REGISTER: client transcation failed: %w", ua.ErrTransport)})
	m = drive(t, m, statusExpiredMsg{seq: m.statusSeq})
	if m.statusKind != statusError || !strings.Contains(m.statusText, "the server does not answer") {
		t.Fatalf("status %q (kind %d), want the error in words", m.statusText, m.statusKind)
	}
	if strings.Contains(plain(m), "transcation") || !strings.Contains(debugText(m), "transcation failed") {
		t.Errorf("library text on the bar, or missing from the debug log:\n%s", plain(m))
	}
	m = drive(t, m, account.AccountEvent{AOR: "sip:me@example.test", State: ua.Registered})
	if m.statusText != "" {
		t.Errorf("after registering again the bar still says %q", m.statusText)
	}
}

// Internal error text never reaches the bar; people's words do, and the
// detail is in the debug log. Outcomes use the menus' words.
func TestErrorsInWordsForPeople(t *testing.T) {
	m := listWith(t, scenario()...)
	raw := fmt.Errorf("add buddy: %w: sip:bob@example.test in list \"buddies\"", resourcelists.ErrExists)
	m.requests[41] = pendingRequest{failed: "Could not add sip:bob@example.test"}
	m = drive(t, m, account.ErrorEvent{ID: 41, Kind: account.AddBuddyRequest, Err: raw})
	if want := "✗ Could not add sip:bob@example.test: already in your buddy list"; m.statusText != want {
		t.Errorf("status %q, want %q", m.statusText, want)
	}
	if !strings.Contains(debugText(m), "resourcelists: entry already in the list") {
		t.Error("the technical detail is not in the debug log")
	}
	m = drive(t, m, account.BuddiesEvent{Err: errors.New("backend: AOR, Proxy and XCAPRoot are required")})
	if strings.Contains(m.statusText, "backend:") || !strings.Contains(m.statusText, "settings are incomplete") {
		t.Errorf("status %q", m.statusText)
	}

	m.requests[42] = pendingRequest{done: "✓ Status: " + statusChoices[4].Label}
	m = drive(t, m, account.DoneEvent{ID: 42, Kind: account.SetStatusRequest, Detail: "status published: meeting"})
	if m.statusText != "✓ Status: In a meeting" || strings.Contains(plain(m), "status published") {
		t.Errorf("status %q; screen:\n%s", m.statusText, plain(m))
	}
	if !slices.ContainsFunc(statusChoices, func(c statusChoice) bool { return c.Label == StatusLabel(m.list.byURI["sip:dave@example.test"].Avail) }) {
		t.Error("the list's label for a meeting is not a menu label")
	}
}

// A message too long for the bar says where it is whole.
func TestLongStatusSaysWhereItIsWhole(t *testing.T) {
	m := listWith(t, scenario()...)
	long := strings.Repeat("very long words ", 10) + "END"
	m = drive(t, m, account.ErrorEvent{ID: 9, Kind: account.SetIconRequest, Err: errors.New(long)})
	m.setStatus(statusError, "✗ "+long)
	screen := plain(m)
	if strings.Contains(screen, "END") || !strings.Contains(screen, "(D: all)") || !strings.Contains(debugText(m), long+"\n") {
		t.Errorf("cut without a pointer to the whole text:\n%s", screen)
	}
}

func TestFilterMatchesStatusAndNoteAndCounts(t *testing.T) {
	m := listWith(t, scenario()...)
	type tc struct {
		filter string
		want   []string
	}
	for _, c := range []tc{
		{"meeting", []string{"Dave Bowman"}},
		{"rabbit", []string{"Alice Liddell"}},
		{"bob lunch", []string{"Bob Builder"}},
		{"AWAY", []string{"Bob Builder"}},
		{"bob meeting", nil},
		{"phone carol", []string{"Carol Danvers"}},
	} {
		k := []tea.Msg{keyMsg("esc"), keyMsg("/")}
		for _, r := range c.filter {
			if r == ' ' {
				k = append(k, keyMsg("space"))
			} else {
				k = append(k, keyMsg(string(r)))
			}
		}
		m = drive(t, m, k...)
		if got := names(m); !slices.Equal(got, c.want) {
			t.Errorf("filter %q: %v, want %v", c.filter, got, c.want)
		}
		if want := fmt.Sprintf("%d of 8 shown", len(c.want)); !strings.Contains(plain(m), want) {
			t.Errorf("filter %q: counter lacks %q", c.filter, want)
		}
	}
}

func TestRefusedSubscriptionInWords(t *testing.T) {
	m := listWith(t, scenario()...)
	m = drive(t, m, account.SubscriptionEvent{URI: "sip:heidi@example.test", State: ua.Terminated, Reason: "response 404"},
		account.SubscriptionEvent{URI: "sip:grace@example.test", State: ua.Terminated, Reason: "response 403"})
	screen := plain(m)
	for _, want := range []string{"no such user", "not allowed to see this buddy"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

// The debug pane names the log file and the buddy of each message;
// enter opens the browser, enter again the whole message, / filters.
func TestDebugPaneOpensMessagesAndFilters(t *testing.T) {
	m := drive(t, newTestModel(Options{LogPath: "/tmp/x/sipbuddy.log"}), tea.WindowSizeMsg{Width: 120, Height: 40})
	msgs := []tea.Msg{}
	for _, e := range scenario() {
		msgs = append(msgs, e)
	}
	notify := "NOTIFY sip:me@example.test SIP/2.0\r\nFrom: <sip:alice@example.test>;tag=1\r\nTo: <sip:me@example.test>\r\nSubscription-State: active\r\n\r\n<note>tea time</note>"
	msgs = append(msgs, account.LogEvent{Time: testTime, Kind: account.LogSIPIn, Text: notify},
		account.LogEvent{Time: testTime, Kind: account.LogInfo, Text: "icon cache warm"}, keyMsg("D"))
	m = drive(t, m, msgs...)
	screen := plain(m)
	if !strings.Contains(screen, "/tmp/x/sipbuddy.log") || !strings.Contains(screen, "Alice Liddell ← NOTIFY") {
		t.Fatalf("debug pane lacks the log path or the buddy:\n%s", screen)
	}
	m = drive(t, m, keyMsg("enter"), keyMsg("up"), keyMsg("enter"))
	screen = plain(m)
	if !strings.Contains(screen, "<note>tea time</note>") || !strings.Contains(screen, "Subscription-State: active") {
		t.Fatalf("enter did not open the whole message:\n%s", screen)
	}
	m = drive(t, m, keyMsg("esc"), keyMsg("/"))
	for _, r := range "cache" {
		m = drive(t, m, keyMsg(string(r)))
	}
	d := m.dialogs.top().(debugBrowser)
	if len(d.shown) != 1 || !strings.Contains(d.selected().ev.Text, "icon cache warm") {
		t.Errorf("filter \"cache\" kept %d events", len(d.shown))
	}
	m = drive(t, m, keyMsg("enter"), keyMsg("esc"))
	if m.dialogs.open() {
		t.Error("esc did not close the debug browser")
	}
}

// Mouse reporting is off, in the model and on the wire, so the terminal's
// own text selection works.
func TestMouseReportingOff(t *testing.T) {
	m := listWith(t, scenario()...)
	if mm := m.View().MouseMode; mm != tea.MouseModeNone {
		t.Errorf("mouse mode %v", mm)
	}
	tm := teatest.NewTestModel(t, newTestModel(Options{}), teatest.WithInitialTermSize(80, 24))
	for _, ev := range scenario()[:3] {
		tm.Send(ev)
	}
	var out []byte
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { out = append(out, b...); return strings.Contains(string(b), "Mia") },
		teatest.WithDuration(5*time.Second))
	_ = tm.Quit()
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	for _, seq := range []string{"\x1b[?1000h", "\x1b[?1002h", "\x1b[?1003h", "\x1b[?1006h"} {
		if strings.Contains(string(out), seq) {
			t.Errorf("the program turned mouse reporting on (%q)", seq)
		}
	}
}
