//go:build !unix

package sshserver

import (
	"os"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
)

// ownInput: without real PTYs there is no descriptor to share.
func ownInput(ssh.Session) []tea.ProgramOption { return nil }

// lastWordsTo: without real PTYs the words go to the session.
func lastWordsTo(ssh.Session) *os.File { return nil }

// lastWords writes s to the visitor after the program ended.
func lastWords(sess ssh.Session, _ *os.File, s string) { _, _ = sess.Write([]byte(s)) }
