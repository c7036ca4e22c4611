package sshserver

import (
	"os"

	"golang.org/x/sys/unix"
)

// drainPTY waits until what was written to the PTY's slave side has been
// read from its master side (tcdrain).
func drainPTY(f *os.File) { _ = unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1) }
