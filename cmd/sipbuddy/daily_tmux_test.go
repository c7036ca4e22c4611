package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// screenWait bounds every wait for the screen in the daily-use test; a
// loaded machine needs it, a passing run sees each screen within seconds.
const screenWait = 30 * time.Second

// dailyClient is one person's terminal running the buddy list against the
// test's `sipbuddy serve`.
type dailyClient struct {
	*tmuxSession
	dir, exitFile string
}

// startClient runs `sipbuddy` for user in a tmux terminal of cols x rows
// with its own home, data directory (kept across runs of the same dir) and
// log, the password in $SIPBUDDY_PASSWORD.
func startClient(t *testing.T, bin, dir, user, password, root, proxy string, cols, rows int, extra ...string) *dailyClient {
	t.Helper()
	exitFile := filepath.Join(dir, "exit")
	os.Remove(exitFile)
	args := append([]string{"--account", "sip:" + user + "@example.test", "--xcap-root", root, "--proxy", "'" + proxy + "'",
		"--data", filepath.Join(dir, "data"), "--log", filepath.Join(dir, "sipbuddy.log")}, extra...)
	cmd := fmt.Sprintf("HOME=%s XDG_CONFIG_HOME=%s/config XDG_CACHE_HOME=%s/cache SIPBUDDY_PASSWORD=%s %s %s; echo $? > %s",
		dir, dir, dir, password, bin, strings.Join(args, " "), exitFile)
	return &dailyClient{tmuxSession: startTmux(t, cols, rows, []string{"TERM=xterm-256color", "COLORTERM=truecolor"}, cmd), dir: dir, exitFile: exitFile}
}

// quit presses q and waits for the program's exit status 0.
func (c *dailyClient) quit() {
	c.t.Helper()
	c.keys("q")
	deadline := time.Now().Add(screenWait)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(c.exitFile); err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				c.t.Fatalf("exit status %s after q", code)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("still running %v after q; screen:\n%s", screenWait, c.capture(false))
}

// header is the screen's first two lines: my address, state and status.
func header(screen string) string {
	lines := strings.SplitN(screen, "\n", 3)
	return strings.Join(lines[:min(2, len(lines))], "\n")
}

// aliceRow is the screen line of bob's list that shows alice, with the
// line after it (the status or note may wrap onto it at narrow widths).
func aliceRow(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Alice") && i > 2 {
			return strings.Join(lines[i:min(i+2, len(lines))], "\n")
		}
	}
	return ""
}

var (
	servePorts = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)
	// placeholderHeader is the header of someone without an icon: the
	// initial in the icon's place.
	placeholderHeader = regexp.MustCompile(`^ [A-Z]   sip:`)
)

// TestDailyUseInTmux is the regression test of issue 10 as a person meets
// it: two people on `sipbuddy serve`, each in a tmux terminal, one of them
// at 60x20, the server killed and started again on the same ports. The
// items it covers are named in the steps (item N of the issue).
func TestDailyUseInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sipbuddy and runs the server and two clients")
	}
	bin := buildSipbuddy(t)
	srvData := t.TempDir()
	users := []string{"--user", "alice:alicepw", "--user", "bob:bobpw"}
	srv, root, sc := startServe(t, bin, srvData, users...)
	if !sc.Scan() {
		t.Fatal("serve printed no SIP line")
	}
	proxy := strings.TrimSuffix(strings.SplitN(sc.Text(), "proxy ", 2)[1], "\n")
	go func() {
		for sc.Scan() {
		}
	}()
	aliceDir, bobDir := t.TempDir(), t.TempDir()
	pictures := filepath.Join(aliceDir, "pictures")
	if err := os.MkdirAll(pictures, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pictures, "holiday.jpg"), []byte("not a picture at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Item 4: a picture uploaded with xcap-icon is my icon when I start:
	// art where the placeholder's initial would be.
	if err := os.WriteFile(filepath.Join(pictures, "readme.txt"), []byte("my pictures\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pictures, "me.png"), assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	xcapIcon := testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/xcap-icon")[0]
	if out, err := exec.Command(xcapIcon, "--xcap-root", root, "--account", "sip:alice@example.test", "--password", "alicepw",
		"-f", filepath.Join(pictures, "me.png"), "PUT").CombinedOutput(); err != nil {
		t.Fatalf("xcap-icon PUT: %v\n%s", err, out)
	}

	alice := startClient(t, bin, aliceDir, "alice", "alicepw", root, proxy, 120, 40, "--pictures", pictures)
	alice.waitFor("alice registered with her uploaded icon", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && !placeholderHeader.MatchString(s)
	})

	// Item 15: mouse reporting is off, so the terminal's own selection works.
	if mouse := alice.format("#{mouse_any_flag}"); mouse != "0" {
		t.Errorf("mouse reporting flag %q, want 0", mouse)
	}

	// Item 12: the picker says why a file cannot be used before enter.
	alice.keys("i")
	picker := alice.waitFor("the picker's reason", screenWait, func(s string) bool {
		return strings.Contains(s, "holiday.jpg") && strings.Contains(s, "not an image")
	})
	// Only pictures are listed; a lists every file and back.
	if s := picker; strings.Contains(s, "readme.txt") {
		t.Errorf("the picker lists a file that is not a picture:\n%s", s)
	}
	alice.keys("a")
	alice.waitFor("every file listed", screenWait, func(s string) bool { return strings.Contains(s, "readme.txt") })
	alice.keys("a")
	alice.waitFor("pictures only again", screenWait, func(s string) bool { return !strings.Contains(s, "readme.txt") })
	alice.keys("Escape")
	alice.waitFor("the picker closed", screenWait, func(s string) bool { return !strings.Contains(s, "Choose my icon") })

	// Item 14: the debug pane says where the whole log is.
	alice.keys("D")
	alice.waitFor("the debug pane with the log's path", screenWait, func(s string) bool {
		return strings.Contains(strings.ReplaceAll(s, "\n", ""), filepath.Join(aliceDir, "sipbuddy.log"))
	})
	alice.keys("D")

	// Away with a note, and half-block icons chosen with m.
	alice.keys("s")
	alice.waitFor("the status menu", screenWait, func(s string) bool { return strings.Contains(s, "Set my status") })
	alice.keys("2", "Enter")
	alice.waitFor("alice away", screenWait, func(s string) bool { return strings.Contains(header(s), "◐ Away") })
	alice.keys("n")
	alice.waitFor("the note editor", screenWait, func(s string) bool { return strings.Contains(s, "Edit my note") })
	alice.keys("-l", "back at ten")
	alice.keys("Enter")
	alice.waitFor("alice's note", screenWait, func(s string) bool { return strings.Contains(header(s), "Away · back at ten") })
	alice.keys("m")
	alice.waitFor("half-block icons", screenWait, func(s string) bool { return strings.Contains(s, "Icons: half-block") })
	// Item 10: the message goes by itself.
	alice.waitFor("the message expired", screenWait, func(s string) bool {
		return !strings.Contains(s, "Icons: half-block") && strings.Contains(s, "· half-block")
	})

	// Bob at 60x20 adds alice and sees her as she set herself.
	bob := startClient(t, bin, bobDir, "bob", "bobpw", root, proxy, 60, 20)
	bob.waitFor("bob registered", screenWait, func(s string) bool { return strings.Contains(header(s), "Registered") })
	if s := bob.capture(false); !placeholderHeader.MatchString(s) {
		t.Errorf("bob has no icon, yet his header does not show the placeholder (the icon check proves nothing):\n%s", header(s))
	}
	bob.keys("a")
	bob.waitFor("the add form", screenWait, func(s string) bool { return strings.Contains(s, "Add a buddy") })
	bob.keys("-l", "sip:alice@example.test")
	bob.keys("Tab")
	bob.keys("-l", "Alice")
	bob.keys("Enter")
	bob.waitFor("alice away on bob's screen", screenWait, func(s string) bool {
		row := aliceRow(s)
		return strings.Contains(row, "Away") && strings.Contains(row, "back at ten")
	})

	// Item 9: at 60x20 the detail pane stays hidden and ? keeps the
	// essential keys; item 14: it says where the log is.
	bob.keys("Tab")
	time.Sleep(300 * time.Millisecond)
	if s := bob.capture(false); strings.Contains(s, "╭") {
		t.Errorf("a pane opened at 60x20:\n%s", s)
	}
	bob.keys("?")
	bob.waitFor("help with the essential keys and the log", screenWait, func(s string) bool {
		return strings.Contains(s, "add buddy") && strings.Contains(s, "remove") && strings.Contains(s, "quit") &&
			strings.Contains(strings.ReplaceAll(s, "\n", ""), "sipbuddy.log")
	})
	bob.keys("?")

	// Item 11: the filter matches notes and the counter says how many.
	bob.keys("/")
	bob.keys("-l", "ten")
	bob.waitFor("alice found by her note", screenWait, func(s string) bool {
		return aliceRow(s) != "" && strings.Contains(s, "1 of 1 shown")
	})
	bob.keys("-l", "zz")
	bob.waitFor("nothing matches", screenWait, func(s string) bool { return strings.Contains(s, "0 of 1 shown") })
	time.Sleep(300 * time.Millisecond) // an escape right after a key reads as alt+key
	bob.keys("Escape")
	bob.waitFor("the filter cleared", screenWait, func(s string) bool { return aliceRow(s) != "" && !strings.Contains(s, " shown") })

	// Item 8: a restart comes back Away with the note, published as such,
	// and with the icons chosen.
	alice.quit()
	alice = startClient(t, bin, aliceDir, "alice", "alicepw", root, proxy, 120, 40)
	alice.waitFor("alice back Away with her note and half-block icons", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && strings.Contains(header(s), "◐ Away · back at ten") &&
			strings.Contains(s, "· half-block")
	})
	bob.waitFor("alice away again on bob's screen", screenWait, func(s string) bool {
		row := aliceRow(s)
		return strings.Contains(row, "Away") && strings.Contains(row, "back at ten")
	})
	if s, ok, err := account.LoadState(account.StateFile(filepath.Join(aliceDir, "data"), "sip:alice@example.test")); !ok || err != nil ||
		!reflect.DeepEqual(s, account.SavedState{Open: true, Activity: "away", Note: "back at ten", RenderMode: "halfblock"}) {
		t.Errorf("alice's saved state %+v (%v, %v)", s, ok, err)
	}

	// Item 1: invisible shows bob someone offline, and nothing of the note;
	// item 8: a restart stays invisible with the note kept.
	alice.keys("s")
	alice.waitFor("the status menu", screenWait, func(s string) bool { return strings.Contains(s, "Set my status") })
	alice.keys("6", "Enter")
	alice.waitFor("alice invisible", screenWait, func(s string) bool { return strings.Contains(header(s), "Invisible") })
	bob.waitFor("alice offline without her note", screenWait, func(s string) bool {
		row := aliceRow(s)
		return strings.Contains(row, "Offline") && !strings.Contains(s, "back at ten")
	})
	alice.quit()
	alice = startClient(t, bin, aliceDir, "alice", "alicepw", root, proxy, 120, 40)
	alice.waitFor("alice still invisible with her note kept", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && strings.Contains(header(s), "Invisible") && strings.Contains(header(s), "back at ten")
	})
	time.Sleep(time.Second)
	if s := bob.capture(false); strings.Contains(s, "back at ten") || !strings.Contains(aliceRow(s), "Offline") {
		t.Errorf("bob's screen after alice restarted invisible:\n%s", s)
	}
	alice.keys("s")
	alice.waitFor("the status menu", screenWait, func(s string) bool { return strings.Contains(s, "Set my status") })
	alice.keys("3", "Enter")
	bob.waitFor("alice busy with her kept note", screenWait, func(s string) bool {
		row := aliceRow(s)
		return strings.Contains(row, "Busy") && strings.Contains(row, "back at ten")
	})

	// Items 2 and 7: the server is killed; both say so in words and offer
	// r; started again on the same ports, both are back by themselves.
	m := servePorts.FindAllStringSubmatch(root+" "+proxy, -1)
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	bob.waitFor("bob's list reconnecting", screenWait, func(s string) bool {
		return strings.Contains(s, "reconnecting") && strings.Contains(s, "r retry now") && !strings.Contains(s, "transcation")
	})
	alice.waitFor("alice's header unreachable", screenWait, func(s string) bool { return strings.Contains(s, "unreachable") })
	srv, _, sc = startServe(t, bin, srvData, "--xcap", "127.0.0.1:"+m[0][1], "--sip", "127.0.0.1:"+m[1][1])
	go func() {
		for sc.Scan() {
		}
	}()
	bob.keys("r")
	bob.waitFor("bob fully back", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && strings.Contains(aliceRow(s), "Busy") &&
			!strings.Contains(s, "reconnecting") && !strings.Contains(s, "unreachable")
	})
	alice.waitFor("alice fully back", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && !strings.Contains(s, "unreachable")
	})

	// Item 3: a wrong password stops and asks; the typed one signs in.
	wrong := startClient(t, bin, t.TempDir(), "bob", "wrong", root, proxy, 80, 24)
	wrong.waitFor("the password prompt", screenWait, func(s string) bool { return strings.Contains(s, "The server refused the password") })
	wrong.keys("-l", "bobpw")
	if s := wrong.capture(false); strings.Contains(s, "bobpw") {
		t.Errorf("the password shows as typed:\n%s", s)
	}
	wrong.keys("Enter")
	wrong.waitFor("signed in with the typed password", screenWait, func(s string) bool {
		return strings.Contains(header(s), "Registered") && !strings.Contains(s, "refused")
	})
	wrong.quit()

	// Item 14: INFO by default: no DEBUG line in either log.
	for _, dir := range []string{aliceDir, bobDir} {
		if log, err := os.ReadFile(filepath.Join(dir, "sipbuddy.log")); err != nil {
			t.Error(err)
		} else if n := strings.Count(string(log), "level=DEBUG"); n > 0 {
			t.Errorf("%s has %d DEBUG lines without -v", dir, n)
		}
	}
	alice.quit()
	bob.quit()
}

// TestPasswordCommandTimeoutInTmux is item 5: a password_command that
// never answers is stopped at password_timeout, and the person is told so.
func TestPasswordCommandTimeoutInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sipbuddy")
	}
	bin := buildSipbuddy(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(`[[account]]
account = "sip:alice@example.test"
password_command = "sleep 100"
password_timeout = "1s"
xcap_root = "http://127.0.0.1:9/xcap-root"
proxy = "sip:127.0.0.1:9;transport=tcp"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The wait is shorter than the command's 100 s: only a stopped command
	// lets the message appear within it.
	s := startTmux(t, 100, 24, []string{"TERM=xterm-256color"},
		fmt.Sprintf("HOME=%s SIPBUDDY_PASSWORD= %s --config %s; echo exit=$?; sleep 60", dir, bin, conf))
	s.waitFor("the timeout in words", screenWait, func(sc string) bool {
		flat := strings.ReplaceAll(sc, "\n", "")
		return strings.Contains(flat, "no answer within 1s and was stopped") && strings.Contains(flat, "exit=1")
	})
}

// sshIntoServe starts `sipbuddy serve` with an SSH port and user alice,
// and logs in as alice with the ssh client in a cols x rows tmux pane; the
// pane runs after once ssh ends.
func sshIntoServe(t *testing.T, bin string, cols, rows int, after string) *tmuxSession {
	t.Helper()
	ssh := testtool.Path(t, "ssh", "openssh-client")
	_, _, sc := startServe(t, bin, t.TempDir(), "--user", "alice:alicepw", "--ssh", "127.0.0.1:0")
	var addr string
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "SSH: "); ok {
			addr = a
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		t.Fatalf("serve --ssh printed %q", addr)
	}
	s := startTmux(t, cols, rows, []string{"TERM=xterm-256color"}, fmt.Sprintf(
		"HOME=%s %s -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -p %s alice@%s; %s",
		t.TempDir(), ssh, port, host, after))
	s.waitFor("the password prompt", screenWait, func(sc string) bool { return strings.Contains(strings.ToLower(sc), "password for alice:") })
	s.keys("-l", "alicepw")
	s.keys("Enter")
	return s
}

// TestSSHQuitHandsTheTerminalBackInTmux is item 6: over SSH, q ends the
// session with the terminal as it was (alternate screen off), not frozen
// on the list.
func TestSSHQuitHandsTheTerminalBackInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sipbuddy")
	}
	s := sshIntoServe(t, buildSipbuddy(t), 100, 30, "echo ssh-exit=$?; sleep 60")
	s.waitFor("the buddy list over SSH", screenWait, func(sc string) bool { return strings.Contains(sc, "sip:alice@example.test") })
	if alt := s.format("#{alternate_on}"); alt != "1" {
		t.Fatalf("the list is not on the alternate screen (%q): the check below proves nothing", alt)
	}
	s.keys("q")
	screen := s.waitFor("the session closed", screenWait, func(sc string) bool { return strings.Contains(sc, "ssh-exit=0") })
	if alt := s.format("#{alternate_on}"); alt != "0" {
		t.Errorf("after q the terminal is still on the alternate screen; screen:\n%s", screen)
	}
	if cur := s.format("#{cursor_flag}"); cur != "1" {
		t.Errorf("after q the cursor is hidden (cursor_flag %q)", cur)
	}
	if strings.Contains(screen, "No buddies yet") {
		t.Errorf("the list is still drawn after the session ended:\n%s", screen)
	}
}

// TestUsersAddAtTheTerminalInTmux is item 13: `serve users add` asks for
// the password at the terminal, twice, without echoing it (never on the
// command line), and the server then accepts it; --version says the build.
func TestUsersAddAtTheTerminalInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sipbuddy")
	}
	bin := buildSipbuddy(t)
	data := t.TempDir()
	s := startTmux(t, 100, 30, []string{"TERM=xterm-256color"}, fmt.Sprintf(
		"%s serve users add carol --data %s; echo add-exit=$?; %s serve users list --data %s; %s --version; sleep 60", bin, data, bin, data, bin))
	s.waitFor("the password prompt", screenWait, func(sc string) bool { return strings.Contains(sc, "New password for carol:") })
	s.keys("-l", "carol-secret")
	s.keys("Enter")
	s.waitFor("the second prompt", screenWait, func(sc string) bool { return strings.Contains(sc, "Again:") })
	s.keys("-l", "carol-secret")
	s.keys("Enter")
	screen := s.waitFor("carol added and listed, the version", screenWait, func(sc string) bool {
		return strings.Contains(sc, "User carol added.") && strings.Contains(sc, "add-exit=0") &&
			regexp.MustCompile(`(?m)^carol$`).MatchString(sc) && regexp.MustCompile(`(?m)^sipbuddy .*go1\.`).MatchString(sc)
	})
	if strings.Contains(screen, "carol-secret") {
		t.Errorf("the password was echoed:\n%s", screen)
	}
	srv, root, sc := startServe(t, bin, data)
	c := &http.Client{Transport: &digest.Transport{Username: "carol", Password: "carol-secret"}}
	resp, err := c.Get(root + "/resource-lists/users/sip:carol@example.test/index")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("carol with the typed password: %s, want 404 (signed in, no list yet)", resp.Status)
	}
	stopServe(t, srv, sc)
}
