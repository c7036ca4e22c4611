package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCAFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxCAFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Client("example.test", Options{CAFile: big}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a CA file over MaxCAFileBytes: %v", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Client("example.test", Options{CAFile: empty}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without certificates: %v", err)
	}
	if _, err := Client("example.test", Options{CAFile: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

// Verification needs a name: without one nothing is trusted (a name check
// that is skipped is how a wrong certificate gets accepted).
func TestNoNameNoTrust(t *testing.T) {
	if _, err := Client("", Options{}); err == nil {
		t.Error("Client without a server name to check")
	}
	if err := Verify(tls.ConnectionState{}, "", nil); err == nil {
		t.Error("Verify without a name")
	}
	if _, err := Client("", Options{InsecureSkipVerifyTLS: true}); err != nil {
		t.Errorf("the explicit opt-out needs no name: %v", err)
	}
}
