package ua

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One instance id per account and data directory, the same on every load;
// a damaged file is replaced by a fresh id.
func TestLoadInstanceID(t *testing.T) {
	laptop, server := t.TempDir(), t.TempDir()
	a1, err := LoadInstanceID(laptop, aliceAOR)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a1, "urn:uuid:") || len(a1) != len("urn:uuid:")+36 {
		t.Fatalf("instance id %q", a1)
	}
	again, err := LoadInstanceID(laptop, aliceAOR)
	if err != nil || again != a1 {
		t.Fatalf("second load %q, %v; want %q", again, err, a1)
	}
	other, _ := LoadInstanceID(server, aliceAOR)
	bob, _ := LoadInstanceID(laptop, bobAOR)
	if other == a1 || bob == a1 || other == "" || bob == "" {
		t.Fatalf("ids not per device and account: %q %q %q", a1, other, bob)
	}
	path := filepath.Join(laptop, InstanceDirName, AORFileName(aliceAOR))
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := LoadInstanceID(laptop, aliceAOR)
	if err != nil || fresh == a1 || !strings.HasPrefix(fresh, "urn:uuid:") {
		t.Fatalf("after damage: %q, %v", fresh, err)
	}
	huge := strings.Repeat(fresh+"\n", maxInstanceFileBytes/len(fresh)+1)
	if err := os.WriteFile(path, []byte(huge), 0o600); err != nil {
		t.Fatal(err)
	}
	if id, err := LoadInstanceID(laptop, aliceAOR); err != nil || id == fresh {
		t.Fatalf("a file over maxInstanceFileBytes was read: %q, %v", id, err)
	}
	if _, err := New(Options{AOR: aliceAOR, Proxy: "sip:127.0.0.1:5060", InstanceID: "not-a-urn"}); err == nil {
		t.Error("New accepted a bad instance id")
	}
}
