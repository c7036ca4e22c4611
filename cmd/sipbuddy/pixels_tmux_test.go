package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// strayEscapes are fragments of the probe's queries or a terminal's
// replies that would show if one leaked onto the screen as text.
var strayEscapes = []string{"\x1b", "_G", "Gi=", "i=31", "[?6", "[16t", "[14t", ">q", ";OK"}

// checkNoStrayEscapes fails when a fragment of an escape sequence shows.
func checkNoStrayEscapes(t *testing.T, screen string) {
	t.Helper()
	for _, f := range strayEscapes {
		if strings.Contains(screen, f) {
			t.Errorf("%q shows on the screen:\n%s", f, screen)
		}
	}
}

// iconModeShown waits until the status bar names the icon mode the probe
// picked ("· symbols") and returns the screen.
func iconModeShown(t *testing.T, s *tmuxSession, mode string) string {
	t.Helper()
	return s.waitFor("the icon mode "+mode+" on the status bar", screenWait, func(sc string) bool {
		return strings.Contains(sc, "online · "+mode)
	})
}

// In tmux (no graphics: tmux 3.3 drops the kitty query without
// passthrough, answers DA1 without sixel), the probe picks symbol art, or
// plain art with NO_COLOR, and nothing of the queries shows.
func TestAutoRenderModeInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo")
	}
	bin := buildSipbuddy(t)
	for _, tc := range []struct {
		name, want string
		env        []string
	}{
		{"truecolor", "symbols", []string{"TERM=xterm-256color", "COLORTERM=truecolor"}},
		{"NO_COLOR", "plain", []string{"TERM=xterm-256color", "NO_COLOR=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startTmux(t, 120, 40, tc.env, fmt.Sprintf("HOME=%s XDG_CACHE_HOME=%s %s demo --seed 1 --log %s; sleep 60",
				dir, dir, bin, filepath.Join(dir, "demo.log")))
			screen := iconModeShown(t, s, tc.want)
			s.waitFor("the buddies", screenWait, func(sc string) bool { return len(distinctURIs(sc)) >= 8 })
			checkNoStrayEscapes(t, screen)
			s.keys("m")
			screen = s.waitFor("m to the next text mode", screenWait, func(sc string) bool {
				return strings.Contains(sc, "Icons: ") && !strings.Contains(sc, "online · "+tc.want)
			})
			checkNoStrayEscapes(t, screen)
			if strings.Contains(screen, "kitty") || strings.Contains(screen, "sixel") {
				t.Errorf("m offers a pixel mode the terminal did not answer for:\n%s", screen)
			}
		})
	}
}

// Over SSH in tmux the session probes its own terminal (the SSH client's
// tmux pane), and picks symbol art; no query or reply shows.
func TestAutoRenderModeOverSSHInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sipbuddy")
	}
	s := sshIntoServe(t, buildSipbuddy(t), 120, 40, "sleep 60")
	screen := iconModeShown(t, s, "symbols")
	checkNoStrayEscapes(t, screen)
	// A second look a moment later: a late reply would show by now.
	time.Sleep(time.Second)
	checkNoStrayEscapes(t, s.capture(false))
}
