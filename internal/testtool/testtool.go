// Package testtool lets tests find external programs (sipp, tmux, ssh) they
// drive as independent peers.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv names the environment variable that turns a missing tool from a
// skip into a failure. CI sets it, so that a broken install can't turn into a
// green run that tested nothing.
const RequireEnv = "SIPBUDDY_REQUIRE_TOOLS"

// Path returns the path of the named program. When the program is missing the
// test is skipped with a message saying how to install it, or fails when
// RequireEnv is set.
func Path(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " is not installed (apt-get install -y " + debianPackage + ")"
	if os.Getenv(RequireEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
