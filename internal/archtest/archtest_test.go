// Package archtest checks the rules of the code's shape that the compiler
// does not.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// uiModules are the terminal UI libraries the protocol packages and the
// account bridge must not depend on, even indirectly: sip/... and xcap/...
// are used by servers and command-line tools that have no terminal UI, and
// account/... serves any front end.
var uiModules = []string{
	"charm.land/bubbletea",
	"charm.land/lipgloss",
	"charm.land/bubbles",
	"github.com/charmbracelet/bubbletea",
	"github.com/charmbracelet/lipgloss",
	"github.com/charmbracelet/bubbles",
}

func TestProtocolPackagesHaveNoUIImports(t *testing.T) {
	for _, pattern := range []string{module + "/sip/...", module + "/xcap/...", module + "/account/..."} {
		if bad := uiDeps(t, pattern); len(bad) > 0 {
			t.Errorf("%s depends on UI packages: %s", pattern, strings.Join(bad, ", "))
		}
	}
}

// TestUIDetection proves the check above can fail: the TUI itself must be
// reported as depending on Bubble Tea.
func TestUIDetection(t *testing.T) {
	if bad := uiDeps(t, module+"/tui"); len(bad) == 0 {
		t.Fatal("the dependency walk found no UI package where there is one")
	}
}

const module = "github.com/sipbuddy/sipbuddy"

// uiDeps lists the UI packages among the dependencies (tests included) of the
// packages matching pattern.
func uiDeps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	var bad []string
	for _, dep := range strings.Fields(string(out)) {
		for _, ui := range uiModules {
			if dep == ui || strings.HasPrefix(dep, ui+"/") {
				bad = append(bad, dep)
			}
		}
	}
	return bad
}
