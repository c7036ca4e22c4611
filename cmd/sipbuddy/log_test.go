package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"
)

// The log is at INFO unless asked for more; a demo starts its log afresh
// while the client appends to its own.
func TestOpenLog(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	defer sipgo.SetDefaultLogger(slog.New(slog.DiscardHandler))
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	if err := os.WriteFile(path, []byte("old run\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(verbose, fresh bool) string {
		logger, closeLog, got, err := openLog(path, "", verbose, fresh)
		if err != nil {
			t.Fatal(err)
		}
		if got != path {
			t.Errorf("path %q, want %q", got, path)
		}
		logger.Debug("a SIP message")
		logger.Info("registered")
		closeLog()
		b, _ := os.ReadFile(path)
		return string(b)
	}
	if s := write(false, false); !strings.HasPrefix(s, "old run\n") || strings.Contains(s, "a SIP message") || !strings.Contains(s, "registered") {
		t.Errorf("client log (append, INFO):\n%s", s)
	}
	if s := write(true, true); strings.Contains(s, "old run") || !strings.Contains(s, "a SIP message") {
		t.Errorf("fresh verbose log:\n%s", s)
	}
	if _, _, _, err := openLog(filepath.Join(dir, "x.log", "sub", "y.log"), "", false, false); err == nil || !strings.HasPrefix(err.Error(), "log: ") {
		t.Errorf("unwritable path: %v", err)
	}
}
