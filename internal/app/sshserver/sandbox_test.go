package sshserver

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

func galleryBytes() int64 {
	var n int64
	for _, ic := range assets.Gallery() {
		n += int64(len(ic.PNG))
	}
	return n
}

func testPNG(t *testing.T, side int) []byte {
	t.Helper()
	return testtool.EncodePNG(t, image.NewGray(image.Rect(0, 0, side, side)))
}

func receive(t *testing.T, sb *sandbox, name string, data []byte) error {
	t.Helper()
	u, err := sb.begin(name, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(data); err != nil {
		t.Fatal(err)
	}
	return u.finish()
}

func TestSandboxesShareOneDiskBound(t *testing.T) {
	root := t.TempDir()
	pic := testPNG(t, 64)
	// Room for two galleries and one picture.
	limit := 2*galleryBytes() + int64(len(pic))
	boxes := newSandboxes(root, limit)
	a, err := boxes.get("alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := boxes.get("bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boxes.get("carol"); !errors.Is(err, ErrServerStorage) {
		t.Fatalf("a third sandbox past the bound: %v, want ErrServerStorage", err)
	}
	if _, err := os.Stat(filepath.Join(root, "carol")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("carol's refused sandbox is on disk: %v", err)
	}
	if err := receive(t, a, "me.png", pic); err != nil {
		t.Fatalf("alice's upload within the bound: %v", err)
	}
	if err := receive(t, b, "me.png", pic); !errors.Is(err, ErrServerStorage) {
		t.Fatalf("bob's upload past the bound: %v, want ErrServerStorage", err)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "me.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bob's refused picture was kept: %v", err)
	}
	// Replacing a picture counts only the difference.
	if err := receive(t, a, "me.png", pic); err != nil {
		t.Fatalf("alice replaces her picture: %v", err)
	}

	// A restart counts what earlier runs left on disk.
	again := newSandboxes(root, limit)
	if _, err := again.get("carol"); !errors.Is(err, ErrServerStorage) {
		t.Fatalf("after a restart, a third sandbox: %v, want ErrServerStorage", err)
	}
	if _, err := again.get("alice"); err != nil {
		t.Fatalf("after a restart, alice's existing sandbox: %v", err)
	}
}
