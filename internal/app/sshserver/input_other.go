//go:build !unix

package sshserver

import (
	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
)

// ownInput: without real PTYs there is no descriptor to share.
func ownInput(ssh.Session) []tea.ProgramOption { return nil }
