package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/icholy/digest"
)

// sipbuddyRun runs the built command with stdin and returns its stdout,
// stderr and exit code.
func sipbuddyRun(t *testing.T, bin, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// Users are managed with the password on standard input, never on the
// command line; the server then lets them in with that password.
func TestServeUsers(t *testing.T) {
	bin := buildSipbuddy(t)
	data := t.TempDir()
	if out, errOut, code := sipbuddyRun(t, bin, "", "serve", "users", "list", "--data", data); code != 1 || !strings.Contains(errOut, "no server store") {
		t.Fatalf("list before any user: %q %q %d", out, errOut, code)
	}
	if out, _, code := sipbuddyRun(t, bin, "alice-pw\n", "serve", "users", "add", "alice", "--data", data); code != 0 || out != "User alice added.\n" {
		t.Fatalf("add alice: %q %d", out, code)
	}
	if out, _, code := sipbuddyRun(t, bin, "bob-pw\n", "serve", "users", "add", "--data", data, "Bob"); code != 0 || out != "User bob added.\n" {
		t.Fatalf("add bob: %q %d", out, code)
	}
	if out, _, code := sipbuddyRun(t, bin, "alice-pw2\n", "serve", "users", "add", "alice", "--data", data); code != 0 || out != "Password of alice changed.\n" {
		t.Fatalf("change alice: %q %d", out, code)
	}
	if _, errOut, code := sipbuddyRun(t, bin, "", "serve", "users", "add", "carol", "--data", data); code != 1 || !strings.Contains(errOut, "no password on standard input") {
		t.Fatalf("add without a password: %q %d", errOut, code)
	}
	if _, errOut, code := sipbuddyRun(t, bin, "x\n", "serve", "users", "add", "ca:rol", "--data", data); code != 1 || !strings.Contains(errOut, "cannot be a user name") {
		t.Fatalf("bad name: %q %d", errOut, code)
	}
	if out, _, code := sipbuddyRun(t, bin, "", "serve", "users", "remove", "bob", "--data", data); code != 0 || !strings.HasPrefix(out, "User bob removed") {
		t.Fatalf("remove bob: %q %d", out, code)
	}
	if _, errOut, code := sipbuddyRun(t, bin, "", "serve", "users", "remove", "bob", "--data", data); code != 1 || errOut != "Error: there is no user bob\n" {
		t.Fatalf("remove bob again: %q %d", errOut, code)
	}
	if out, _, code := sipbuddyRun(t, bin, "", "serve", "users", "list", "--data", data); code != 0 || out != "alice\n" {
		t.Fatalf("list: %q %d", out, code)
	}

	cmd, root, sc := startServe(t, bin, data)
	get := func(user, pw string) int {
		c := &http.Client{Transport: &digest.Transport{Username: user, Password: pw}}
		resp, err := c.Get(root + "/resource-lists/users/sip:" + user + "@example.test/index")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("alice", "alice-pw2"); code != http.StatusNotFound {
		t.Errorf("alice with her new password: %d, want 404 (authenticated, no list yet)", code)
	}
	if code := get("alice", "alice-pw"); code != http.StatusUnauthorized {
		t.Errorf("alice with her old password: %d, want 401", code)
	}
	if code := get("bob", "bob-pw"); code != http.StatusUnauthorized {
		t.Errorf("removed bob: %d, want 401", code)
	}
	stopServe(t, cmd, sc)
}

// --help lists every flag with its default and variable, on stdout;
// --version says which build this is; a mistake points at the help.
func TestHelpAndVersion(t *testing.T) {
	bin := buildSipbuddy(t)
	out, _, code := sipbuddyRun(t, bin, "", "--help")
	for _, want := range []string{"sipbuddy demo", "sipbuddy serve users", "xcap-icon", "xcap-directory", "--account", "$SIPBUDDY_ACCOUNT", "--xcap-root", "--proxy", "--render", "--log"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("sipbuddy --help (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	out, _, code = sipbuddyRun(t, bin, "", "serve", "-h")
	if code != 0 || !strings.Contains(out, "--xcap ") || !strings.Contains(out, "default 127.0.0.1:8080") {
		t.Errorf("serve -h (exit %d):\n%s", code, out)
	}
	out, _, code = sipbuddyRun(t, bin, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "sipbuddy ") || !strings.Contains(out, "go1.") {
		t.Errorf("--version (exit %d): %q", code, out)
	}
	_, errOut, code := sipbuddyRun(t, bin, "", "--no-such-flag")
	if code != 2 || !strings.Contains(errOut, "Run 'sipbuddy -h' for every flag.") {
		t.Errorf("unknown flag (exit %d): %q", code, errOut)
	}
}
