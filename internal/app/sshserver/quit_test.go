package sshserver_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// Quitting with q hands the visitor's terminal back as it was: the last
// words of the session leave the alternate screen, show the cursor and
// stop mouse reporting before the connection closes, so "Connection
// closed" does not land on a frozen list (issue 10, item 6).
func TestQuitRestoresTerminal(t *testing.T) {
	e := startEnv(t, nil)
	erin := connect(t, e.addr, "erin")
	erin.waitFor(0, e.world.Buddies()[0], false)
	erin.keys("q")
	if code := erin.waitExit(); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	raw, _ := erin.since(0)
	for _, c := range []struct{ on, off, what string }{
		{"\x1b[?1049h", "\x1b[?1049l", "the alternate screen"},
		{"\x1b[?25l", "\x1b[?25h", "the hidden cursor"},
	} {
		on, off := strings.LastIndex(raw, c.on), strings.LastIndex(raw, c.off)
		if on < 0 {
			t.Fatalf("the session never turned on %s (%q): the check proves nothing", c.what, c.on)
		}
		if off < on {
			t.Errorf("%s is still on after quitting (last %q at %d, last %q at %d of %d bytes)", c.what, c.on, on, c.off, off, len(raw))
		}
	}
	// Nothing of the list is drawn after the terminal was handed back.
	if i := strings.LastIndex(raw, "\x1b[?1049l"); i >= 0 {
		if rest := strings.TrimSpace(ansi.Strip(raw[i:])); rest != "" {
			t.Errorf("after leaving the alternate screen the session still drew %q", rest)
		}
	}
}
