package icon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "me.png")
	if err := os.WriteFile(path, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(path, 5); err != nil || string(data) != "12345" {
		t.Fatalf("ReadFile at the limit: %q %v", data, err)
	}
	_, err := ReadFile(path, 4)
	var le *xmltree.LimitError
	if !errors.As(err, &le) || le.What != WhatFile || le.Limit != 4 || le.Actual != 5 {
		t.Fatalf("ReadFile over the limit: %v, want a file-size LimitError", err)
	}
	if want := "me.png: file size is 5 bytes, the limit is 4 bytes"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if _, err := ReadFile(dir, 1<<20); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("ReadFile of a directory: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.png"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

func TestContentHash(t *testing.T) {
	// SHA-1 of "abc" (FIPS 180-2 test vector).
	if got := ContentHash([]byte("abc")); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("ContentHash(abc) = %s", got)
	}
}
