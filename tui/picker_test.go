package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/assets"
)

// openPicker opens the icon picker on dir and lets it read the directory.
func openPicker(t *testing.T, dir string) Model {
	t.Helper()
	m := listWith(t, scenario()...)
	m.opts.PicturesDir = dir
	return drive(t, m, keyMsg("i"))
}

func TestIconPickerPreviewsAndRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a-broken.png", []byte("not a picture at all"))
	write("b-good.png", assets.DemoUserIcon())
	write("c-notes.txt", []byte("text"))

	m := openPicker(t, dir)
	if !pickerOpen(&m) || pickerOf(&m).files.Height() <= 0 {
		t.Fatalf("picker not open or without height (dialog %T, height %d)", m.dialogs.top(), pickerOf(&m).files.Height())
	}
	screen := plain(m)
	for _, name := range []string{"a-broken.png", "b-good.png"} {
		if !strings.Contains(screen, name) {
			t.Errorf("picker does not list %s:\n%s", name, screen)
		}
	}
	if strings.Contains(screen, "c-notes.txt") || !strings.Contains(screen, "a all files") {
		t.Errorf("the picker lists a file that is not a picture, or does not offer to:\n%s", screen)
	}

	// The broken file: a clear error, no preview, enter does not submit.
	m = drive(t, m, keyMsg("enter"))
	if pickerOf(&m).preview != "" || !strings.Contains(pickerOf(&m).previewErr, "not an image") {
		t.Fatalf("broken file: preview %q, error %q", pickerOf(&m).preview, pickerOf(&m).previewErr)
	}
	if !strings.Contains(plain(m), "not an image") {
		t.Errorf("the error is not on screen:\n%s", plain(m))
	}
	m = drive(t, m, keyMsg("enter"))
	if !pickerOpen(&m) {
		t.Fatal("enter on a broken file closed the picker")
	}

	// The good file: a preview with its format and size; enter submits
	// (without a backend: "Not connected", nothing else changes).
	m = drive(t, m, keyMsg("esc"), keyMsg("down"), keyMsg("enter"))
	if pickerOf(&m).preview == "" || pickerOf(&m).previewErr != "" || !strings.Contains(pickerOf(&m).info, "PNG") {
		t.Fatalf("good file: preview %d bytes, info %q, error %q", len(pickerOf(&m).preview), pickerOf(&m).info, pickerOf(&m).previewErr)
	}
	m = drive(t, m, keyMsg("enter"))
	if m.dialogs.open() || !strings.Contains(m.statusText, "not connected") {
		t.Errorf("confirm: dialog %T, status %q", m.dialogs.top(), m.statusText)
	}
	if m.self.IconHash == "" {
		// My icon did not change: it was set by the scenario's IconEvent.
		t.Error("my icon was lost")
	}

	// With every file shown, the text file is listed, and cannot be
	// picked; a shows pictures only again.
	m = openPicker(t, dir)
	m = drive(t, m, keyMsg("a"))
	if sc := plain(m); !strings.Contains(sc, "c-notes.txt") || !strings.Contains(sc, "a pictures only") {
		t.Fatalf("a: the text file is not listed:\n%s", sc)
	}
	m = drive(t, m, keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	if !strings.Contains(pickerOf(&m).previewErr, "not an image") {
		t.Errorf("text file: error %q", pickerOf(&m).previewErr)
	}
	m = drive(t, m, keyMsg("a"))
	if sc := plain(m); strings.Contains(sc, "c-notes.txt") {
		t.Errorf("a again: the text file is still listed:\n%s", sc)
	}
}

// Confined (over SSH), the picker stays in the pictures folder: back at its
// top does nothing, a link out of it cannot be picked, and no absolute
// path of the server is shown.
func TestIconPickerConfined(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.png")
	if err := os.WriteFile(secret, assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "carol")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.png"), assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.png")); err != nil {
		t.Fatal(err)
	}

	m := listWith(t, scenario()...)
	m.opts.PicturesDir, m.opts.ConfinePictures = dir, true
	m = drive(t, m, keyMsg("i"))
	screen := plain(m)
	if strings.Contains(screen, dir) || strings.Contains(screen, filepath.Dir(dir)) {
		t.Errorf("the server's path is on screen:\n%s", screen)
	}
	if !strings.Contains(screen, "pictures/") {
		t.Errorf("no pictures/ heading:\n%s", screen)
	}

	m = drive(t, m, keyMsg("backspace"), keyMsg("h"))
	if got, _ := realPath(pickerOf(&m).files.Dir()); got != pickerOf(&m).root {
		t.Fatalf("back left the pictures folder: %s", pickerOf(&m).files.Dir())
	}

	// link.png sorts first: it points outside and cannot be picked.
	m = drive(t, m, keyMsg("enter"))
	if !strings.Contains(pickerOf(&m).previewErr, "outside your pictures folder") || pickerOf(&m).preview != "" {
		t.Fatalf("link out of the folder: preview %d bytes, error %q", len(pickerOf(&m).preview), pickerOf(&m).previewErr)
	}

	// Unconfined, the same link is an ordinary file.
	m = listWith(t, scenario()...)
	m.opts.PicturesDir = dir
	m = drive(t, m, keyMsg("i"))
	m = drive(t, m, keyMsg("enter"))
	if pickerOf(&m).preview == "" {
		t.Fatalf("unconfined picker refused the link: %q", pickerOf(&m).previewErr)
	}
}

// Moving onto a picture shows its art before it is picked; the pick (enter)
// then asks for confirmation.
func TestIconPickerPreviewsHighlightedFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "me.png"), assets.DemoUserIcon(), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openPicker(t, dir)
	if pickerOf(&m).preview == "" || pickerOf(&m).path != "" {
		t.Fatalf("highlighted picture: preview %d bytes, picked %q", len(pickerOf(&m).preview), pickerOf(&m).path)
	}
	if !strings.Contains(plain(m), "enter select") {
		t.Errorf("a preview alone already offers to set the icon:\n%s", plain(m))
	}
	m = drive(t, m, keyMsg("enter"))
	if pickerOf(&m).path == "" || !strings.Contains(plain(m), "enter set as my icon") {
		t.Fatalf("after enter: picked %q\n%s", pickerOf(&m).path, plain(m))
	}
}
