package sshserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sipbuddy/sipbuddy/internal/app/sshserver"
)

func newKey(t *testing.T) (gossh.Signer, gossh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.PublicKey()
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:2222": true, "[::1]:2222": true, "localhost:22": true, "127.1.2.3:0": true,
		"0.0.0.0:2222": false, ":2222": false, "[::]:22": false, "192.0.2.1:22": false,
		"example.test:22": false, "127.0.0.1": false,
	} {
		if got := sshserver.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// A non-loopback address without a usable authorized_keys file is refused
// before anything listens (nothing here opens a socket).
func TestNonLoopbackNeedsAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	noAccount := func(context.Context, string) (sshserver.Account, error) {
		return sshserver.Account{}, errors.New("unused")
	}
	opts := func(addr string) sshserver.Options {
		return sshserver.Options{Addr: addr, DataDir: dir, Proxy: "sip:127.0.0.1:5060;transport=tcp", XCAPRoot: "http://127.0.0.1:1/xcap-root", Account: noAccount}
	}
	for _, addr := range []string{"0.0.0.0:2222", ":2222", "[::]:2222", "192.0.2.1:2222"} {
		_, err := sshserver.New(opts(addr))
		if !errors.Is(err, sshserver.ErrNoAuthorizedKeys) {
			t.Fatalf("New(%s) without authorized_keys = %v, want ErrNoAuthorizedKeys", addr, err)
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, "authorized_keys")+" does not exist") {
			t.Errorf("message does not say which file is missing: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, sshserver.HostKeyFile)); err == nil {
		t.Error("a refused server created its host key")
	}
	if _, err := sshserver.CheckAuth("0.0.0.0:2222", ""); !errors.Is(err, sshserver.ErrNoAuthorizedKeys) {
		t.Errorf("CheckAuth without a file = %v", err)
	}

	// An empty file and a malformed one are refused too.
	keys := filepath.Join(dir, "authorized_keys")
	for _, content := range []string{"", "# nobody yet\n", "ssh-ed25519 not-base64!\n"} {
		if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sshserver.New(opts("0.0.0.0:2222")); !errors.Is(err, sshserver.ErrNoAuthorizedKeys) {
			t.Errorf("authorized_keys %q: New = %v", content, err)
		}
	}

	// With a key the server is built (still without listening) and
	// requires authentication; the host key lives in the data dir.
	_, pub := newKey(t)
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := sshserver.New(opts("0.0.0.0:2222"))
	if err != nil {
		t.Fatalf("New with authorized_keys: %v", err)
	}
	if !srv.Authenticated() {
		t.Error("Authenticated() = false on 0.0.0.0")
	}
	fi, err := os.Stat(filepath.Join(dir, sshserver.HostKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("host key in data dir: %v, %v", fi, err)
	}
	// The same host key next time.
	srv2, err := sshserver.New(opts("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	if srv.HostKeyFingerprint() != srv2.HostKeyFingerprint() {
		t.Error("host key changed between two servers on one data dir")
	}
	if srv2.Authenticated() {
		t.Error("loopback server requires authentication without RequireKeys")
	}
}

func TestValidUser(t *testing.T) {
	for _, u := range []string{"carol", "d", "bob-2", "jo_e", "first.last"} {
		if err := sshserver.ValidUser(u); err != nil {
			t.Errorf("ValidUser(%q) = %v", u, err)
		}
	}
	for _, u := range []string{"", "Carol", "1abc", "a..b", "a.", ".a", "a/b", "a b", "ca@rol", "é", strings.Repeat("a", sshserver.MaxUserBytes+1), "gallery/../x"} {
		var re *sshserver.RefusedError
		if err := sshserver.ValidUser(u); !errors.As(err, &re) {
			t.Errorf("ValidUser(%q) = %v, want a RefusedError", u, err)
		}
	}
}
