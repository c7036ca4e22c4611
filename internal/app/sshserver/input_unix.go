//go:build unix

package sshserver

import (
	"os"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
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
