package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	sipgo "github.com/emiago/sipgo/sip"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Log file limits: the file is rotated when it reaches MaxLogMegabytes,
// and MaxLogBackups older files are kept beside it (compressed).
const (
	MaxLogMegabytes = 10
	MaxLogBackups   = 3
)

// openLog opens the log file: path, or name in the user cache directory.
// While the TUI owns the terminal nothing may be written to it, so every
// logger, sipgo's process-wide one included, writes here. INFO by default
// (what happened to the account and the servers); DEBUG with verbose (every
// SIP message). The file is rotated by size (lumberjack, a kept library:
// rotation, backups and compression done right across restarts), so a
// long-running demo no longer grows it without bound. fresh starts the
// file empty: each demo is a new world, and its log should be that run's.
func openLog(path, name string, verbose, fresh bool) (*slog.Logger, func(), string, error) {
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		path = filepath.Join(dir, "sipbuddy", name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("log: %w", err)
	}
	// Open once here so that a path we cannot write is an error now, in
	// words, rather than a silent loss of every line later.
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if fresh {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, nil, "", fmt.Errorf("log: %w", err)
	}
	_ = f.Close()
	w := &lumberjack.Logger{Filename: path, MaxSize: MaxLogMegabytes, MaxBackups: MaxLogBackups, Compress: true}
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	sipgo.SetDefaultLogger(logger)
	return logger, func() { _ = w.Close() }, path, nil
}
