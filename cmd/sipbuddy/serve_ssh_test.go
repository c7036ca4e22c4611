package main

import (
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestServeSSHNeedsSIPPassword: with `serve --ssh` on loopback any local
// user opened any SIP user's buddy list with no key and no password.
func TestServeSSHNeedsSIPPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSipbuddy(t)
	cmd, _, sc := startServe(t, bin, t.TempDir(), "--user", "alice:secret", "--ssh", "127.0.0.1:0")
	var addr string
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "SSH: "); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("serve --ssh did not print its SSH address")
	}
	dial := func(user string, auth gossh.AuthMethod) error {
		c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{auth},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
		if err == nil {
			c.Close()
		}
		return err
	}
	openDoor := gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })
	if err := dial("alice", openDoor); err == nil {
		t.Error("alice's buddy list opened without her password")
	}
	if err := dial("alice", gossh.Password("wrong")); err == nil {
		t.Error("a wrong password let alice in")
	}
	if err := dial("alice", gossh.Password("secret")); err != nil {
		t.Errorf("alice with her SIP password: %v", err)
	}
	stopServe(t, cmd, sc)
}
