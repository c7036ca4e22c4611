package account

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// notifyLog keeps the bodies of the presence NOTIFYs a UA receives, as they
// were on the wire.
type notifyLog struct {
	mu     sync.Mutex
	bodies []string
}

func (l *notifyLog) trace(in bool, msg string) {
	if !in || !strings.HasPrefix(msg, "NOTIFY ") || !regexp.MustCompile(`(?mi)^Event:\s*presence\s*$`).MatchString(msg) {
		return
	}
	_, body, _ := strings.Cut(msg, "\r\n\r\n")
	l.mu.Lock()
	l.bodies = append(l.bodies, body)
	l.mu.Unlock()
}

// since returns the bodies from the first one that matches from on.
func (l *notifyLog) since(from func(string) bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, b := range l.bodies {
		if from(b) {
			return append([]string(nil), l.bodies[i:]...)
		}
	}
	return nil
}

var closedBasic = regexp.MustCompile(`<(\w+:)?basic>\s*closed\s*</(\w+:)?basic>`)

// leaks says what a NOTIFY body sent while I am invisible gives away, or "".
func leaks(body string) string {
	switch {
	case !closedBasic.MatchString(body):
		return "a basic status other than closed"
	case regexp.MustCompile(`<(\w+:)?note[\s>]`).MatchString(body):
		return "a note"
	case regexp.MustCompile(`<(\w+:)?activities[\s>]`).MatchString(body):
		return "activities"
	case strings.Contains(body, "dentist"):
		return "the note's text"
	}
	return ""
}

// TestInvisibleShowsWatchersNothing: with Invisible chosen, a second UA's
// NOTIFY bodies (the real ones, on the wire, through the embedded server)
// say basic closed with no note and no activities, also after the note is
// changed while invisible; the note is kept here and published again once
// I am back.
func TestInvisibleShowsWatchersNothing(t *testing.T) {
	w := startWorld(t, 1)
	b, r := login(t, w, "tester", t.TempDir())
	if _, err := r.answer(t, b.SetStatus(true, "away", "At the dentist")); err != nil {
		t.Fatal(err)
	}

	// The watcher is a plain UA whose trace keeps every NOTIFY body.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	acc := addUser(t, w, "watcher")
	var wire notifyLog
	watcher := apptest.StartUA(t, ctx, ua.Options{AOR: acc.AOR, Password: acc.Password, Proxy: acc.Proxy, Trace: wire.trace})
	waitPresence := func(what string, ok func(pidf.State) bool) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			select {
			case ev := <-watcher.Events():
				if p, is := ev.(ua.PresenceEvent); is && p.URI == b.AOR() && ok(p.State) {
					return
				}
			case <-deadline:
				t.Fatalf("the watcher never saw %s", what)
			}
		}
	}
	watcher.Subscribe(b.AOR())
	waitPresence("tester at the dentist", func(s pidf.State) bool { return s.Note == "At the dentist" })

	if _, err := r.answer(t, b.SetStatus(false, "away", "At the dentist")); err != nil {
		t.Fatal(err)
	}
	waitPresence("tester offline", func(s pidf.State) bool { return s.Basic == pidf.BasicClosed })
	// A note changed while invisible stays here: answered at once, and a
	// fresh subscription (which gets the server's whole current state)
	// shows nothing of it.
	done, err := r.answer(t, b.SetStatus(false, "away", "Still at the dentist"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(done.Detail, "invisible") {
		t.Errorf("answer %q does not say the note is kept while invisible", done.Detail)
	}
	r.wait(t, "the note kept locally", func(ev Event) bool {
		s, ok := ev.(SelfEvent)
		return ok && !s.Open && s.Note == "Still at the dentist"
	})
	watcher.Unsubscribe(b.AOR())
	watcher.Subscribe(b.AOR())
	waitPresence("tester still offline on a new subscription", func(s pidf.State) bool { return s.Basic == pidf.BasicClosed })

	bodies := wire.since(func(body string) bool { return closedBasic.MatchString(body) })
	if len(bodies) < 2 {
		t.Fatalf("%d NOTIFYs with basic closed, want at least 2 (one per subscription)", len(bodies))
	}
	for i, body := range bodies {
		if leak := leaks(body); leak != "" {
			t.Errorf("NOTIFY %d while invisible carries %s:\n%s", i+1, leak, body)
		}
	}

	// Back: the kept note reaches the watcher.
	if _, err := r.answer(t, b.SetStatus(true, "", "Still at the dentist")); err != nil {
		t.Fatal(err)
	}
	waitPresence("tester back with the kept note", func(s pidf.State) bool {
		return s.Basic == pidf.BasicOpen && s.Note == "Still at the dentist"
	})
}

func TestLeaksDetectsWhatInvisibleMustNotSay(t *testing.T) {
	closed := `<presence><tuple id="t"><status><basic>closed</basic></status></tuple></presence>`
	if l := leaks(closed); l != "" {
		t.Errorf("a bare closed document leaks %s", l)
	}
	for _, body := range []string{
		`<presence><tuple id="t"><status><basic>open</basic></status></tuple></presence>`,
		`<presence><tuple id="t"><status><basic>closed</basic></status><note>At the dentist</note></tuple></presence>`,
		`<presence xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"><tuple id="t"><status><basic>closed</basic></status></tuple><dm:person><rpid:activities><rpid:away/></rpid:activities></dm:person></presence>`,
	} {
		if leaks(body) == "" {
			t.Errorf("leak not detected in %s", body)
		}
	}
}
