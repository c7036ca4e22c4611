package sshserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/pkg/sftp"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/demo/demotest"
	"github.com/sipbuddy/sipbuddy/internal/app/sshserver"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
)

// waitTimeout bounds every wait for something to appear on a screen.
const waitTimeout = 20 * time.Second

// env is a demo world and an SSH server in front of it.
type env struct {
	world *demo.World
	srv   *sshserver.Server
	addr  string
	data  string
}

// startEnv starts a demo world with one simulated buddy that never changes
// (so that what a test waits for can only come from the visitors) and an
// SSH server on 127.0.0.1:0.
func startEnv(t *testing.T, adjust func(*sshserver.Options)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	world := demotest.Start(t, ctx, demo.Options{Buddies: 1, Seed: 7, MinChange: time.Hour, MaxChange: time.Hour, DataDir: t.TempDir()})
	visitors := demo.NewVisitors(world)
	data := t.TempDir()
	o := sshserver.Options{
		Addr:          "127.0.0.1:0",
		DataDir:       data,
		Proxy:         world.Proxy(),
		XCAPRoot:      world.XCAPRoot(),
		ShareVisitors: true,
		Account: func(ctx context.Context, user string) (sshserver.Account, error) {
			a, err := visitors.Account(ctx, user)
			if errors.Is(err, demo.ErrReservedUser) {
				return sshserver.Account{}, &sshserver.RefusedError{Message: user + " is a simulated buddy"}
			}
			return sshserver.Account{AOR: a.AOR, DisplayName: a.DisplayName, Password: a.Password}, err
		},
		Backend: func(bo *account.Options) {
			bo.NoTrace = true
			bo.RetryMin, bo.RetryMax = 100*time.Millisecond, time.Second
		},
	}
	if adjust != nil {
		adjust(&o)
	}
	srv, err := sshserver.New(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &env{world: world, srv: srv, addr: l.Addr().String(), data: data}
}

// screen is the output of one SSH session, with its escape sequences
// stripped for searching.
type screen struct {
	t    *testing.T
	name string
	mu   sync.Mutex
	raw  bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.Write(p)
}

// mark returns the current length of the output: waitFrom looks only at
// what came after it.
func (s *screen) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.Len()
}

func (s *screen) since(from int) (raw, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := string(s.raw.Bytes()[from:])
	return r, ansi.Strip(cursorForward.ReplaceAllStringFunc(r, forwardAsSpaces))
}

// cursorForward is CUF: the renderer skips cells that did not change with
// it, so "Icon set" over a frame with a space in the same cell is written
// "Icon", CUF, "set". As spaces, the text reads as the screen does.
var cursorForward = regexp.MustCompile(`\x1b\[([0-9]*)C`)

func forwardAsSpaces(seq string) string {
	n, err := strconv.Atoi(seq[2 : len(seq)-1])
	if err != nil || n < 1 {
		n = 1
	}
	return strings.Repeat(" ", min(n, 512))
}

// waitFor waits until the text (or, with raw, the bytes with their escape
// sequences) written since from contains want.
func (s *screen) waitFor(from int, want string, raw bool) {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		r, text := s.since(from)
		if raw && strings.Contains(r, want) || !raw && strings.Contains(text, want) {
			return
		}
		if time.Now().After(deadline) {
			if len(text) > 3000 {
				text = text[len(text)-3000:]
			}
			s.t.Fatalf("%s's screen never showed %q; it shows (end):\n%s", s.name, want, text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// visitor is an x/crypto/ssh client with a PTY running the buddy list.
type visitor struct {
	*screen
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
}

func clientConfig(user string, auth ...gossh.AuthMethod) *gossh.ClientConfig {
	if len(auth) == 0 {
		auth = []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return nil, nil
		})}
	}
	return &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	}
}

func connect(t *testing.T, addr, user string, auth ...gossh.AuthMethod) *visitor {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, clientConfig(user, auth...))
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	v := &visitor{screen: &screen{t: t, name: user}, client: client, sess: sess}
	t.Cleanup(func() {
		_ = sess.Close()
		_ = client.Close()
	})
	_ = sess.Setenv("COLORTERM", "truecolor")
	if err := sess.RequestPty("xterm-256color", 30, 110, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = v.screen, v.screen
	if v.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *visitor) keys(s string) {
	v.t.Helper()
	if _, err := io.WriteString(v.stdin, s); err != nil {
		v.t.Fatalf("%s: typing %q: %v", v.name, s, err)
	}
}

// waitExit waits for the session to end and returns its exit status.
func (v *visitor) waitExit() int {
	v.t.Helper()
	done := make(chan error, 1)
	go func() { done <- v.sess.Wait() }()
	select {
	case err := <-done:
		var ee *gossh.ExitError
		if errors.As(err, &ee) {
			return ee.ExitStatus()
		}
		if err != nil {
			v.t.Fatalf("%s: %v", v.name, err)
		}
		return 0
	case <-time.After(waitTimeout):
		v.t.Fatalf("%s: session did not end", v.name)
		return -1
	}
}

func solidPNG(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, c)
		}
	}
	return testtool.EncodePNG(t, img)
}

// scpUpload sends data as name with the classic scp protocol (scp -t), as
// `scp -O` does, logging in as user with auth (none: the demo's open
// door), and returns what the server wrote on stderr.
func scpUpload(t *testing.T, addr, user, name string, data []byte, auth ...gossh.AuthMethod) (string, error) {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, clientConfig(user, auth...))
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	var in bytes.Buffer
	fmt.Fprintf(&in, "C0644 %d %s\n", len(data), name)
	in.Write(data)
	in.WriteByte(0)
	sess.Stdin = &in
	err = sess.Run("scp -t .")
	return stderr.String(), err
}

func TestMain(m *testing.M) { testmain.RunNoLeakCheck(m) }

func TestTwoVisitorsSeeEachOther(t *testing.T) {
	verifyNoLeaks(t)
	e := startEnv(t, nil)
	buddy := e.world.Buddies()[0]

	carol := connect(t, e.addr, "carol")
	carol.waitFor(0, buddy, false)
	carol.waitFor(0, "sip:carol@example.test", false)

	dave := connect(t, e.addr, "dave")
	dave.waitFor(0, buddy, false)
	dave.waitFor(0, "sip:carol@example.test", false) // put in dave's list on arrival
	carol.waitFor(0, "sip:dave@example.test", false) // and dave in carol's, live

	// carol changes her note: dave sees it.
	const note = "Carol-note-Z7"
	from := dave.mark()
	carol.keys("n")
	carol.waitFor(0, "note", false)
	carol.keys(note + "\r")
	dave.waitFor(from, note, false)

	// carol sends a picture over scp and over sftp; bad ones are refused
	// with a message and leave nothing behind.
	pic := solidPNG(t, color.RGBA{200, 10, 150, 255})
	if msg, err := scpUpload(t, e.addr, "carol", "me.png", pic); err != nil {
		t.Fatalf("scp: %v (%s)", err, msg)
	}
	if msg, err := scpUpload(t, e.addr, "carol", "notes.png", []byte("not a picture at all")); err == nil || !strings.Contains(msg, "not a usable picture") {
		t.Errorf("scp of a text file: %v, %q", err, msg)
	}
	if msg, err := scpUpload(t, e.addr, "carol", "../escape.png", pic); err == nil {
		t.Errorf("scp of ../escape.png accepted (%q)", msg)
	}
	sb := filepath.Join(e.data, "pictures", "carol")
	entries, _ := os.ReadDir(sb)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if strings.Join(names, " ") != "gallery me.png" {
		t.Errorf("carol's sandbox holds %v, want gallery and me.png", names)
	}
	sftpUpload(t, e.addr, "carol", "other.png", solidPNG(t, color.RGBA{10, 200, 20, 255}))

	// carol picks me.png (gallery, me.png, other.png): dave's screen draws
	// her new icon in its colour.
	from = dave.mark()
	carol.keys("i")
	carol.waitFor(0, "me.png", false)
	carol.keys("\x1b[B") // down: me.png
	time.Sleep(200 * time.Millisecond)
	carol.keys("\r")
	carol.waitFor(0, "PNG, 64x64", false)
	cm := carol.mark()
	carol.keys("\r")
	carol.waitFor(cm, "Icon set", false)
	dave.waitFor(from, "200;10;150", true)

	// carol leaves: she goes offline on dave's screen.
	from = dave.mark()
	carol.keys("q")
	if code := carol.waitExit(); code != 0 {
		t.Errorf("carol's session exit status %d", code)
	}
	// The simulated buddy never changes (and, with seed 7, is online), so
	// "Offline" can only be carol's row. The screen is a stream of diffs:
	// only what changed is written, which is why the check is on a word.
	dave.waitFor(from, "Offline", false)
	// dave's connection just drops: his session is cleaned up all the
	// same (Shutdown waits for it, goleak checks nothing is left).
	_ = dave.client.Close()
}

// sftpUpload sends a picture the way OpenSSH 9's scp does by default.
func sftpUpload(t *testing.T, addr, user, name string, data []byte) {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, clientConfig(user))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := sftp.NewClient(client)
	if err != nil {
		t.Fatalf("sftp: %v", err)
	}
	defer c.Close()
	f, err := c.Create(name)
	if err != nil {
		t.Fatalf("sftp create: %v", err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatalf("sftp write: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("sftp close: %v", err)
	}
	if _, err := c.Create("/etc/passwd"); err == nil {
		t.Error("sftp create /etc/passwd accepted")
	}
	if _, err := c.Open("other.png"); err == nil {
		t.Error("sftp download accepted")
	}
	if f, err := c.Create("huge.png"); err == nil {
		_, err = f.Write(make([]byte, sshserver.MaxUploadBytes+1))
		if err == nil {
			err = f.Close()
		}
		if err == nil {
			t.Error("sftp upload above MaxUploadBytes accepted")
		}
	}
}

func TestRefusals(t *testing.T) {
	verifyNoLeaks(t)
	e := startEnv(t, func(o *sshserver.Options) {
		o.MaxSessions = 1
		o.IdleTimeout = 500 * time.Millisecond
	})
	for _, tc := range []struct{ user, want string }{
		{"Bad.User", "cannot be a buddy-list user"},
		{"ada", "simulated buddy"},
	} {
		v := connect(t, e.addr, tc.user)
		if code := v.waitExit(); code != 1 {
			t.Errorf("%s: exit status %d, want 1", tc.user, code)
		}
		v.waitFor(0, tc.want, false)
	}

	// One session at most: the second visitor is told the server is full.
	erin := connect(t, e.addr, "erin")
	erin.waitFor(0, "sip:erin@example.test", false)
	frank := connect(t, e.addr, "frank")
	if code := frank.waitExit(); code != 1 {
		t.Errorf("frank: exit status %d, want 1", code)
	}
	frank.waitFor(0, "the server is full", false)

	// erin types nothing: the idle timeout ends her session.
	if code := erin.waitExit(); code != 0 {
		t.Errorf("erin: exit status %d", code)
	}
	erin.waitFor(0, "no key pressed", false)
}

func TestPublicKeyRequired(t *testing.T) {
	verifyNoLeaks(t)
	good, goodPub := newKey(t)
	bad, _ := newKey(t)
	keys := filepath.Join(t.TempDir(), "authorized_keys")
	line := `principals="heidi,judy" ` + string(gossh.MarshalAuthorizedKey(goodPub))
	if err := os.WriteFile(keys, []byte("# visitors\n"+line), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, func(o *sshserver.Options) {
		o.RequireKeys = true
		o.AuthorizedKeys = keys
	})
	if !e.srv.Authenticated() {
		t.Fatal("Authenticated() = false with RequireKeys")
	}
	if _, err := gossh.Dial("tcp", e.addr, clientConfig("heidi")); err == nil {
		t.Error("keyboard-interactive accepted although keys are required")
	}
	if _, err := gossh.Dial("tcp", e.addr, clientConfig("heidi", gossh.PublicKeys(bad))); err == nil {
		t.Error("a key not in authorized_keys accepted")
	}
	if _, err := gossh.Dial("tcp", e.addr, clientConfig("ivan", gossh.PublicKeys(good))); err == nil {
		t.Error("a key accepted for a user outside its principals")
	}
	v := connect(t, e.addr, "heidi", gossh.PublicKeys(good))
	v.waitFor(0, "sip:heidi@example.test", false)
	v.keys("q")
	v.waitExit()
}

// verifyNoLeaks checks, after every cleanup of the test has run (it is
// registered first, so it runs last), that no goroutine was left behind.
//
// The SSH library's goroutine that copies from a session's PTY master ends
// when the last descriptor of the PTY's slave side closes, and one of those
// is the program's own input descriptor (ownInput), which its finalizer
// closes: collect it first, or whether that goroutine is gone depends on
// when the collector last ran (a CI run under load caught it still there).
// leakWait bounds how long verifyNoLeaks waits for goroutines to end.
const leakWait = 20 * time.Second

func verifyNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		// A program's pending tea.Tick (a status message's expiry, at most
		// tui.ErrorMessageTTL) holds it, and so its input descriptor, until
		// it fires; wait that long for everything to wind down.
		deadline := time.Now().Add(leakWait)
		for {
			runtime.GC()
			runtime.GC() // the first collection queues the finalizer, the second sees it ran
			if goleak.Find(ignore) == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		goleak.VerifyNone(t, ignore)
	})
}
