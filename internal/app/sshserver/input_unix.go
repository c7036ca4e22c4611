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

// lastWordsTo returns where lastWords writes after the program ended: a
// descriptor of the session's PTY of its own (the SSH library closes its
// *os.File of the PTY when the program ends, so that one may not be
// used), or nil without a real PTY.
func lastWordsTo(sess ssh.Session) *os.File {
	pty, _, ok := sess.Pty()
	if !ok || sess.EmulatedPty() || pty.Slave == nil {
		return nil
	}
	fd, err := syscall.Dup(int(pty.Slave.Fd()))
	if err != nil {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), pty.Slave.Name())
}

// lastWords writes s to the visitor after the program ended, through the
// PTY the program wrote to (out, from lastWordsTo): the SSH library copies
// the PTY to the channel on a goroutine of its own, and a second writer on
// the channel races it. drainPTY then waits until that copier has read it
// all, so the session does not close on it. Without a PTY, s goes to the
// session directly. out is closed.
func lastWords(sess ssh.Session, out *os.File, s string) {
	if out == nil {
		_, _ = sess.Write([]byte(s))
		return
	}
	defer out.Close()
	_, _ = out.WriteString(s)
	drainPTY(out)
}
