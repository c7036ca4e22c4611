package account

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// The icon cache keeps within its bound by dropping the least recently
// used icons, and leaves files that are not icons alone.
func TestIconCachePrunes(t *testing.T) {
	dir := t.TempDir()
	f := newIconCache(dir, MaxCacheBytes, slog.New(slog.DiscardHandler))
	base := time.Now().Add(-time.Hour)
	var names []string
	for i := range 8 {
		data := []byte(strings.Repeat(string(rune('a'+i)), 1000))
		name := icon.ContentHash(data)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		used := base.Add(time.Duration(i) * time.Minute) // 0 oldest ... 7 newest
		if err := os.Chtimes(filepath.Join(dir, name), used, used); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	other := filepath.Join(dir, cacheIndexFile)
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Reading the oldest makes it the most recently used.
	if _, ok := f.read(names[0]); !ok {
		t.Fatal("cached icon not found")
	}

	f.prune(6000) // 8000 bytes held: down to 4500 or less

	var kept []int
	for i, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			kept = append(kept, i)
		}
	}
	if want := []int{0, 5, 6, 7}; len(kept) != len(want) || kept[0] != 0 || kept[1] != 5 {
		t.Fatalf("kept icons %v, want %v (the recently used)", kept, want)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("pruning removed a file that is not an icon: %v", err)
	}
	f.prune(6000)
	if n, _ := os.ReadDir(dir); len(n) != 5 {
		t.Fatalf("a cache within its bound was pruned again: %d files", len(n))
	}
}
