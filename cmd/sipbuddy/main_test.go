package main

import (
	"io"
	"log/slog"
	"os"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"
)

func TestMain(m *testing.M) {
	// The user agents these tests run in-process log connection bookkeeping
	// through sipgo's process-wide logger.
	sipgo.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
