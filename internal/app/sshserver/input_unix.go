//go:build unix

package sshserver

import (
	"os"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"golang.org/x/sys/unix"
)

// ownInput gives the program its own descriptor of the session's PTY for
// input. Bubble Tea does not wait for its input reader when a program is
// killed (a write to a vanished client fails), and the reader still looks
// at its file after the SSH library closed the PTY: a data race on the
// *os.File. With a dup of its own that nobody closes, the reader ends on
// the PTY's hang-up and the runtime closes the descriptor once the reader
// let go of it. Options after bm.MakeOptions' WithInput override it.
func ownInput(sess ssh.Session) []tea.ProgramOption {
	pty, _, ok := sess.Pty()
	if !ok || sess.EmulatedPty() || pty.Slave == nil {
		return nil
	}
	fd, err := syscall.Dup(int(pty.Slave.Fd()))
	if err != nil {
		return nil
	}
	syscall.CloseOnExec(fd)
	return []tea.ProgramOption{tea.WithInput(os.NewFile(uintptr(fd), pty.Slave.Name()))}
}

// drainPTY waits, at most max, until the copier of the SSH library has read
// everything the program wrote to the PTY: the session's Exit does not wait
// for it, and the program's last words (alternate screen off, cursor shown)
// would be cut off with the connection.
func drainPTY(sess ssh.Session, max time.Duration) {
	pty, _, ok := sess.Pty()
	if !ok || sess.EmulatedPty() || pty.Master == nil {
		return
	}
	conn, err := pty.Master.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		pending := 0
		if err := conn.Control(func(fd uintptr) {
			pending, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		}); err != nil || pending == 0 {
			return
		}
		time.Sleep(drainPoll)
	}
}
