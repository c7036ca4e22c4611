package testtool

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippTimeout bounds one sipp call; its own -timeout fires first.
const sippTimeout = 30 * time.Second

// Sipp runs one sipp scenario (a path, usually under testdata) as a single
// call from 127.0.0.1 to target over transport ("udp" or "tcp"), and returns
// the messages sipp exchanged (-trace_msg). A failed scenario fails the test
// with sipp's errors and trace.
func Sipp(t testing.TB, transport, scenario, target string, args ...string) string {
	t.Helper()
	sipp := Path(t, "sipp", "sip-tester")
	scen, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	mode := "u1"
	if transport == "tcp" {
		mode = "t1"
	}
	dir := t.TempDir()
	msgs := filepath.Join(dir, "messages.log")
	errFile := filepath.Join(dir, "errors.log")
	ctx, cancel := context.WithTimeout(context.Background(), sippTimeout)
	defer cancel()
	all := append([]string{"-sf", scen, "-t", mode, "-i", "127.0.0.1", "-p", freePort(t, transport), "-m", "1", "-nostdin",
		"-timeout", "20s", "-timeout_error", "-trace_msg", "-message_file", msgs,
		"-trace_err", "-error_file", errFile}, args...)
	cmd := exec.CommandContext(ctx, sipp, append(all, target)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	trace, _ := os.ReadFile(msgs)
	if err != nil {
		errs, _ := os.ReadFile(errFile)
		t.Fatalf("sipp %s: %v\n%s\n--- errors ---\n%s\n--- messages ---\n%s", filepath.Base(scenario), err, lastLines(string(out), 20), errs, trace)
	}
	return string(trace)
}

// freePort returns a loopback port that was free a moment ago, for sipp's
// own socket.
func freePort(t testing.TB, transport string) string {
	t.Helper()
	if transport == "tcp" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
