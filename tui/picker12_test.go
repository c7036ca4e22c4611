package tui

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngHeader is the start of a PNG that says it is w x h: enough for a
// size check to refuse it before decoding.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestIconPickerSaysWhyBeforeEnter(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a-huge.png"), pngHeader(9000, 9000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b-text.jpg"), []byte("just some text, not a JPEG"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openPicker(t, dir)
	if sc := plain(m); !strings.Contains(sc, "9000x9000") || !strings.Contains(sc, "cannot be used") || strings.Contains(sc, "no file") {
		t.Errorf("huge PNG highlighted, before enter:\n%s", sc)
	}
	m = drive(t, m, keyMsg("down"))
	if sc := plain(m); !strings.Contains(sc, "not an image") || !strings.Contains(sc, "cannot be used") {
		t.Errorf("text named .jpg highlighted, before enter:\n%s", sc)
	}
}

func TestIconPickerEmptyAndMissingFolder(t *testing.T) {
	m := openPicker(t, filepath.Join(t.TempDir(), "Pictures"))
	sc := plain(m)
	if strings.Contains(sc, "Bummer") || !strings.Contains(sc, "Pictures does not exist") {
		t.Errorf("missing folder:\n%s", sc)
	}
	m = openPicker(t, t.TempDir())
	if sc := plain(m); !strings.Contains(sc, "No pictures in this folder") {
		t.Errorf("empty folder:\n%s", sc)
	}
}

// A folder with files but no pictures says how many are hidden and how to
// see them; into a sub-folder and back puts the cursor on that folder.
func TestIconPickerFoldersAndHiddenFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "todo.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("text"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"a-holidays", "b-work"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := openPicker(t, dir)
	if sc := plain(m); !strings.Contains(sc, "a-holidays/") || !strings.Contains(sc, "b-work/") || strings.Contains(sc, "notes.txt") {
		t.Fatalf("folders first, text files hidden:\n%s", sc)
	}
	m = drive(t, m, keyMsg("down"), keyMsg("enter"))
	if got := pickerOf(&m).files.Dir(); got != filepath.Join(dir, "b-work") {
		t.Fatalf("enter on b-work/ opened %s", got)
	}
	if sc := plain(m); !strings.Contains(sc, "No pictures in this folder") {
		t.Errorf("empty sub-folder:\n%s", sc)
	}
	m = drive(t, m, keyMsg("backspace"))
	if got := pickerOf(&m).files.Highlighted(); got != filepath.Join(dir, "b-work") {
		t.Errorf("back: cursor on %q, want the folder we came from", got)
	}

	only := t.TempDir()
	if err := os.WriteFile(filepath.Join(only, "notes.txt"), []byte("text"), 0o600); err != nil {
		t.Fatal(err)
	}
	m = openPicker(t, only)
	if sc := plain(m); !strings.Contains(sc, "1 other file hidden: a shows all") {
		t.Errorf("a folder with only a text file:\n%s", sc)
	}
}
