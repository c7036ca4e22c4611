//go:build !unix

package sshserver

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
)

// ownInput: without real PTYs there is no descriptor to share.
func ownInput(ssh.Session) []tea.ProgramOption { return nil }

// drainPTY: the emulated PTY is written to the session directly.
func drainPTY(ssh.Session, time.Duration) {}
