package testtool

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
)

// Build compiles the named packages' commands ("github.com/.../cmd/xcap-icon")
// into a temporary directory and returns the binaries' paths in the same
// order: the tests run them as a user would.
func Build(t testing.TB, pkgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, out)
	}
	bins := make([]string, len(pkgs))
	for i, p := range pkgs {
		bins[i] = filepath.Join(dir, path.Base(p))
	}
	return bins
}
