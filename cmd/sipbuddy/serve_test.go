package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// buildSipbuddy compiles the command for the tests that run it.
func buildSipbuddy(t *testing.T) string {
	t.Helper()
	return testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/sipbuddy")[0]
}

// startServe runs `sipbuddy serve` on 127.0.0.1 port 0 and returns the
// process, the printed XCAP root and the rest of stdout.
func startServe(t *testing.T, bin, data string, extra ...string) (*exec.Cmd, string, *bufio.Scanner) {
	t.Helper()
	cmd, sc := runServe(t, bin, append([]string{"--domain", "example.test", "--xcap", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--data", data}, extra...)...)
	if !sc.Scan() {
		t.Fatalf("no output from sipbuddy serve: %v", sc.Err())
	}
	line := sc.Text()
	root, ok := strings.CutPrefix(line, "XCAP root: ")
	if !ok || !strings.HasPrefix(root, "http://127.0.0.1:") || !strings.HasSuffix(root, "/xcap-root") || strings.HasSuffix(root, ":0/xcap-root") {
		t.Fatalf("first line %q, want the XCAP root with the bound port", line)
	}
	return cmd, root, sc
}

// runServe starts `sipbuddy serve` with args (its stderr passed through)
// and returns the process and a scanner over its stdout; the process is
// killed when the test ends unless the test already waited for it.
func runServe(t *testing.T, bin string, args ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	sc := bufio.NewScanner(out)
	return cmd, sc
}

func stopServe(t *testing.T, cmd *exec.Cmd, sc *bufio.Scanner) string {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sipbuddy serve after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sipbuddy serve did not stop on SIGINT")
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", cmd.ProcessState.ExitCode())
	}
	return rest.String()
}

func TestServeSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSipbuddy(t)
	data := t.TempDir()
	cmd, root, sc := startServe(t, bin, data, "--user", "alice:secret", "--user", "bob:pw")

	res, err := http.Get(root + "/xcap-caps/global/index")
	if err != nil {
		t.Fatal(err)
	}
	caps, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(caps, []byte("<auid>org.openmobilealliance.pres-content</auid>")) {
		t.Fatalf("caps: %d %s", res.StatusCode, caps)
	}
	alice := &http.Client{Transport: &digest.Transport{Username: "alice", Password: "secret"}}
	doc := `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`
	req, _ := http.NewRequest("PUT", root+"/resource-lists/users/sip:alice@example.test/index", strings.NewReader(doc))
	req.Header.Set("Content-Type", "application/resource-lists+xml")
	res, err = alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
	etag := res.Header.Get("ETag")
	if rest := stopServe(t, cmd, sc); !strings.Contains(rest, "Stopped.") {
		t.Fatalf("output after SIGINT: %q", rest)
	}

	// Restarted without --user: alice's password and document are still there.
	cmd, root, sc = startServe(t, bin, data)
	res, err = alice.Get(root + "/resource-lists/users/sip:alice@example.test/index")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != doc || res.Header.Get("ETag") != etag {
		t.Fatalf("after restart: %d %q %s (want %s)", res.StatusCode, body, res.Header.Get("ETag"), etag)
	}
	stopServe(t, cmd, sc)
}

func TestServeFlagErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--user", "alice"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "name:password") {
		t.Fatalf("--user without password: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"serve", "--data", t.TempDir(), "--xcap", "256.0.0.1:1"}, &out, &errb); code != 1 || errb.Len() == 0 {
		t.Fatalf("bad listen address: %d %q", code, errb.String())
	}
	if code := run(t.Context(), []string{"bogus"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}
