package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// tmuxSession is a terminal a person would look at: a tmux server of its
// own (so tests never touch the developer's tmux), one window of a fixed size.
type tmuxSession struct {
	t      *testing.T
	tmux   string
	socket string
}

func startTmux(t *testing.T, cols, rows int, env []string, command string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, tmux: testtool.Path(t, "tmux", "tmux"), socket: fmt.Sprintf("sipbuddy-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	args := []string{"-L", s.socket, "-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, command)
	if out, err := exec.Command(s.tmux, args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(s.tmux, "-L", s.socket, "kill-server").Run() })
	return s
}

// capture returns the screen; with escapes it keeps the SGR sequences.
func (s *tmuxSession) capture(escapes bool) string {
	args := []string{"-L", s.socket, "capture-pane", "-p"}
	if escapes {
		args = append(args, "-e")
	}
	out, err := exec.Command(s.tmux, args...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// format returns a tmux format of the pane ("#{alternate_on}").
func (s *tmuxSession) format(f string) string {
	out, err := exec.Command(s.tmux, "-L", s.socket, "display-message", "-p", f).Output()
	if err != nil {
		s.t.Fatalf("tmux display-message %s: %v", f, err)
	}
	return strings.TrimSpace(string(out))
}

func (s *tmuxSession) keys(k ...string) {
	args := append([]string{"-L", s.socket, "send-keys"}, k...)
	if out, err := exec.Command(s.tmux, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// waitFor polls the screen until ok holds; the deadline only bounds a
// failing run.
func (s *tmuxSession) waitFor(what string, d time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture(false)
		if ok(screen) {
			return screen
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("%s: not seen within %v; screen:\n%s", what, d, screen)
	return ""
}

var (
	buddyURI   = regexp.MustCompile(`sip:[a-z]+@example\.test`)
	statusWord = regexp.MustCompile(`(Available|Away|Busy|On the phone|In a meeting|Offline)`)
	sgrColour  = regexp.MustCompile("\x1b\\[[0-9;]*(38|48);[25];")
)

// buddyStatuses maps each buddy URI on screen to the status words of the
// screen line that shows its name or URI, a fingerprint of what the list shows.
func screenStatuses(screen string) string {
	var b strings.Builder
	for _, line := range strings.Split(screen, "\n") {
		if m := statusWord.FindAllString(line, -1); len(m) > 0 {
			b.WriteString(strings.Join(m, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func distinctURIs(screen string) map[string]bool {
	seen := map[string]bool{}
	for _, u := range buddyURI.FindAllString(screen, -1) {
		if u != "sip:you@example.test" {
			seen[u] = true
		}
	}
	return seen
}

// TestDemoInTmux runs `sipbuddy demo` as a person would, in a terminal of
// each size and colour setting the product promises to support.
func TestDemoInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole demo")
	}
	bin := buildSipbuddy(t)
	cases := []struct {
		name       string
		cols, rows int
		env        []string
		colour     bool
	}{
		{"120x40 truecolor", 120, 40, []string{"TERM=xterm-256color", "COLORTERM=truecolor"}, true},
		{"80x24", 80, 24, []string{"TERM=xterm-256color", "COLORTERM=truecolor"}, true},
		{"NO_COLOR", 120, 40, []string{"TERM=xterm-256color", "NO_COLOR=1"}, false},
		{"256 colours without COLORTERM", 120, 40, []string{"TERM=xterm-256color", "COLORTERM="}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exitFile := filepath.Join(dir, "exit")
			cmd := fmt.Sprintf("HOME=%s XDG_CACHE_HOME=%s %s demo --seed 1 --log %s; echo $? > %s",
				dir, dir, bin, filepath.Join(dir, "demo.log"), exitFile)
			s := startTmux(t, tc.cols, tc.rows, tc.env, cmd)

			minBuddies := 8
			screen := s.waitFor("at least 8 buddies with URIs and statuses", 30*time.Second, func(sc string) bool {
				return len(distinctURIs(sc)) >= minBuddies && len(statusWord.FindAllString(sc, -1)) >= minBuddies
			})
			if strings.Contains(screen, "\x1b") || strings.Contains(screen, "[38;") || strings.Contains(screen, "[48;") {
				t.Errorf("broken escape sequence shows as text:\n%s", screen)
			}
			for i, line := range strings.Split(strings.TrimRight(screen, "\n"), "\n") {
				if w := len([]rune(line)); w > tc.cols {
					t.Errorf("line %d is %d cells wide in a %d-column terminal: %q", i, w, tc.cols, line)
				}
			}
			coloured := sgrColour.MatchString(s.capture(true))
			if coloured != tc.colour {
				t.Errorf("coloured output = %v, want %v", coloured, tc.colour)
			}

			// The simulated buddies change every few seconds.
			before := screenStatuses(screen)
			s.waitFor("a status change", 15*time.Second, func(sc string) bool {
				return screenStatuses(sc) != before
			})

			s.keys("q")
			deadline := time.Now().Add(15 * time.Second)
			var code []byte
			for time.Now().Before(deadline) {
				if b, err := os.ReadFile(exitFile); err == nil && len(b) > 0 {
					code = b
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if strings.TrimSpace(string(code)) != "0" {
				t.Fatalf("exit status %q after q; screen:\n%s", code, s.capture(false))
			}
			if out, err := exec.Command("pgrep", "-f", bin).Output(); err == nil && len(out) > 0 {
				t.Errorf("processes left behind after q: %s", out)
			}
			// The log says what happened at INFO, not every SIP message of
			// every simulated buddy (that is -v).
			if log, err := os.ReadFile(filepath.Join(dir, "demo.log")); err != nil {
				t.Error(err)
			} else if n := strings.Count(string(log), "level=DEBUG"); n > 0 {
				t.Errorf("the demo log has %d DEBUG lines without -v", n)
			}
		})
	}
}
