package tui

import (
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// testTime is the fixed time of every presence in the tests.
var testTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// testIcon draws a deterministic icon: a disc of one colour on a
// contrasting square, so the art has a shape.
func testIcon(c color.RGBA, side int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	bg := color.RGBA{R: 255 - c.R, G: 255 - c.G, B: 255 - c.B, A: 255}
	r := side / 2
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			dx, dy := x-r, y-r
			if dx*dx+dy*dy <= (r-2)*(r-2) {
				img.SetRGBA(x, y, c)
			} else {
				img.SetRGBA(x, y, bg)
			}
		}
	}
	return img
}

// iconColours are the test icons' colours (distinct, so a test can see in
// the terminal output that each one was drawn).
var iconColours = []color.RGBA{
	{R: 230, G: 60, B: 60, A: 255},
	{R: 60, G: 200, B: 90, A: 255},
	{R: 60, G: 110, B: 230, A: 255},
	{R: 240, G: 200, B: 40, A: 255},
	{R: 170, G: 80, B: 220, A: 255},
}

// scenario is a buddy list in every state the UI can show.
func scenario() []account.Event {
	buddies := []account.Buddy{
		{URI: "sip:alice@example.test", DisplayName: "Alice Liddell", List: "buddies"},
		{URI: "sip:bob@example.test", DisplayName: "Bob Builder", List: "buddies"},
		{URI: "sip:carol@example.test", DisplayName: "Carol Danvers", List: "buddies"},
		{URI: "sip:dave@example.test", DisplayName: "Dave Bowman", List: "buddies"},
		{URI: "sip:erin@example.test", DisplayName: "Erin Brockovich", List: "buddies"},
		{URI: "sip:frank@example.test", DisplayName: "Frank Poole", List: "work"},
		{URI: "sip:grace@example.test", DisplayName: "Grace Hopper", List: "buddies"},
		{URI: "sip:heidi@example.test", List: "buddies"},
	}
	ev := []account.Event{
		account.AccountEvent{AOR: "sip:me@example.test", DisplayName: "Mia Example", State: ua.Registered},
		account.SelfEvent{Open: true, Activities: []string{"away"}, Note: "back at ten"},
		account.BuddiesEvent{Buddies: buddies},
	}
	pres := func(uri string, basic pidf.Basic, note string, acts ...string) account.Event {
		return account.PresenceEvent{URI: uri, At: testTime, State: pidf.State{
			Entity: uri, Basic: basic, Activities: acts, Note: note,
			IconURL:  "http://127.0.0.1:8080/xcap-root/oma_status-icon/users/" + uri + "/index",
			IconHash: fmt.Sprintf("%040x", len(uri)),
		}}
	}
	ev = append(ev,
		pres("sip:alice@example.test", pidf.BasicOpen, "Down the rabbit hole"),
		pres("sip:bob@example.test", pidf.BasicOpen, "Lunch", "away"),
		pres("sip:carol@example.test", pidf.BasicOpen, "", "on-the-phone"),
		pres("sip:dave@example.test", pidf.BasicOpen, "Open the pod bay doors, HAL, the meeting runs long", "meeting"),
		pres("sip:erin@example.test", pidf.BasicClosed, ""),
		account.SubscriptionEvent{URI: "sip:grace@example.test", State: ua.Pending, Reason: "awaiting authorization"},
		account.SubscriptionEvent{URI: "sip:heidi@example.test", State: ua.Terminated, Reason: "rejected"},
		account.SubscriptionEvent{URI: "sip:frank@example.test", State: ua.Retrying, Reason: "response 503", RetryIn: 8 * time.Second},
		account.IconFailedEvent{URI: "sip:erin@example.test", URL: "http://127.0.0.1:8080/x", Err: fmt.Errorf("404 Not Found")},
	)
	for i, uri := range []string{"sip:alice@example.test", "sip:bob@example.test", "sip:carol@example.test", "sip:dave@example.test", "sip:me@example.test"} {
		ev = append(ev, account.IconEvent{URI: uri, URL: "http://127.0.0.1:8080/icon/" + uri, Hash: fmt.Sprintf("%040d", i+1), Thumb: testIcon(iconColours[i], 64)})
	}
	ev = append(ev, account.WatchersEvent{Watchers: []account.Watcher{
		{ID: "w1", URI: "sip:zoe@example.test", DisplayName: "Zoe", Status: "pending"},
		{ID: "w2", URI: "sip:bob@example.test", Status: "active"},
	}})
	return ev
}

// drive feeds messages to a model and runs the commands they return, the
// way the program would, but synchronously; commands that would block (the
// backend wait, cursor blinks) are not produced when there is no backend
// and no focused input.
func drive(t testing.TB, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	// A synchronous driver cannot wait for timers: the status bar's
	// expiry is sent by the tests that check it.
	m.c.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.c.now = func() time.Time { return testTime }
	queue := append([]tea.Msg(nil), msgs...)
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 100000 {
			t.Fatal("drive: too many messages")
		}
		msg := queue[0]
		queue = queue[1:]
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					queue = append(queue, c())
				}
			}
			continue
		}
		if msg == nil {
			continue
		}
		// A focused input starts its cursor blinking with this message;
		// its answer is a timer, which a synchronous driver skips.
		if fmt.Sprintf("%T", msg) == "cursor.initialBlinkMsg" {
			continue
		}
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		if cmd != nil {
			queue = append(queue, cmd())
		}
	}
	return m
}

func newTestModel(o Options) Model {
	if o.Environ == nil {
		o.Environ = []string{}
	}
	o.SteadyCursor = true // no blink timers in synchronous tests
	return New(nil, o)
}

func plain(m Model) string { return ansi.Strip(m.View().Content) }

// pickerOf returns the icon picker on top of m's dialogs (the zero picker
// when another dialog, or none, is open).
func pickerOf(m *Model) iconPicker {
	p, _ := m.dialogs.top().(iconPicker)
	return p
}

// pickerOpen reports whether the icon picker is the open dialog.
func pickerOpen(m *Model) bool {
	_, ok := m.dialogs.top().(iconPicker)
	return ok
}
