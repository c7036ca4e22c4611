package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// passwordTimeout is the account's password_timeout, or
// DefaultPasswordCommandTimeout when unset.
func (a *Account) passwordTimeout() (time.Duration, error) {
	if a.PasswordTimeout == "" {
		return DefaultPasswordCommandTimeout, nil
	}
	d, err := time.ParseDuration(a.PasswordTimeout)
	if err != nil || d <= 0 || d > MaxPasswordCommandTimeout {
		return 0, fmt.Errorf("password_timeout %q: want a duration such as 10s or 1m, at most %v", a.PasswordTimeout, MaxPasswordCommandTimeout)
	}
	return d, nil
}

// passwordCommandGrace is how long the command's output pipes stay open
// after it was killed: a grandchild that kept them (sh -c 'sleep 100')
// must not hold the caller past the timeout.
const passwordCommandGrace = 500 * time.Millisecond

// RunPasswordCommand runs cmd with sh -c and returns its trimmed stdout.
// The command and everything it started are killed when timeout passes or
// ctx ends, and the error then says so.
func RunPasswordCommand(ctx context.Context, cmd string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	killProcessGroup(c)
	c.WaitDelay = passwordCommandGrace
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = MaxPasswordCommandOutput, 4<<10
	c.Stdout, c.Stderr = &stdout, &stderr
	c.Stdin = nil
	if err := c.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("password_command gave no answer within %v and was stopped (raise password_timeout if it needs longer)", timeout)
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("password_command failed: %v: %s", err, msg)
		}
		return "", fmt.Errorf("password_command failed: %w", err)
	}
	if stdout.overflow {
		return "", fmt.Errorf("password_command printed more than %d bytes", MaxPasswordCommandOutput)
	}
	p := strings.TrimSpace(stdout.String())
	if p == "" {
		return "", errors.New("password_command printed nothing")
	}
	return p, nil
}

type limitedBuffer struct {
	bytes.Buffer
	limit    int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); len(p) > room {
		b.overflow = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
