//go:build !unix

package config

import "os/exec"

// killProcessGroup leaves exec's default (kill the process itself); the
// WaitDelay in RunPasswordCommand still frees the caller at the timeout.
func killProcessGroup(*exec.Cmd) {}
