//go:build unix

package config

import (
	"os/exec"
	"syscall"
)

// killProcessGroup makes c the leader of its own process group and, on
// cancellation, kills the whole group: sh -c forks, and killing only sh
// would leave its children running.
func killProcessGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		if c.Process == nil {
			return nil
		}
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
}
