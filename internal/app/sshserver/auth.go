package sshserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// MaxAuthorizedKeysBytes bounds the authorized_keys file read at start and
// at every public-key attempt.
const MaxAuthorizedKeysBytes = 1 << 20

// HostKeyFile and AuthorizedKeysFile are the names of the files kept in the
// data directory.
const (
	HostKeyFile        = "ssh_host_ed25519_key"
	AuthorizedKeysFile = "authorized_keys"
)

// ErrNoAuthorizedKeys is returned by New (and CheckAuth) when the server
// would listen on a non-loopback address without a usable authorized_keys
// file: anyone on the network could then log in as anyone.
var ErrNoAuthorizedKeys = errors.New("a non-loopback address needs public-key authentication")

// IsLoopback reports whether every address a listener on addr
// ("host:port") binds is a loopback address. An empty host, 0.0.0.0 and
// :: bind every interface and are not loopback; "localhost" is.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAuth decides how visitors on addr authenticate: on a loopback
// address nobody needs to (it returns nil keys), anywhere else the
// authorized_keys file at path must exist and hold at least one key. It
// never listens; New calls it before anything is opened.
func CheckAuth(addr, path string) (*AuthorizedKeys, error) {
	if IsLoopback(addr) {
		return nil, nil
	}
	if path == "" {
		return nil, fmt.Errorf("sshserver: %s is not a loopback address, so visitors must log in with a public key, but no authorized_keys file was given: %w (give one, or listen on 127.0.0.1)", addr, ErrNoAuthorizedKeys)
	}
	keys, err := LoadAuthorizedKeys(path)
	if err != nil {
		return nil, fmt.Errorf("sshserver: %s is not a loopback address, so visitors must log in with a public key listed in %s, but %w: %w (create it with one OpenSSH public key per line, pass another file, or listen on 127.0.0.1)",
			addr, path, err, ErrNoAuthorizedKeys)
	}
	return keys, nil
}

// AuthorizedKeys is an OpenSSH authorized_keys file. A key line may carry
// the option principals="carol,dave" to restrict the SSH user names (and
// so the SIP users) it logs in as; a key without it may log in as any user.
type AuthorizedKeys struct {
	path string
}

// authorizedKey is one parsed line.
type authorizedKey struct {
	key   gossh.PublicKey
	users []string // empty: any user
}

// LoadAuthorizedKeys reads and checks the file; it fails when the file is
// missing, too large, malformed or holds no key.
func LoadAuthorizedKeys(path string) (*AuthorizedKeys, error) {
	ak := &AuthorizedKeys{path: path}
	keys, err := ak.read()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return ak, nil
}

// Allows reports whether key may log in as user. The file is read again
// on every attempt, so that adding or removing a line needs no restart.
func (a *AuthorizedKeys) Allows(user string, key gossh.PublicKey) bool {
	keys, err := a.read()
	if err != nil {
		return false
	}
	for _, k := range keys {
		if !ssh.KeysEqual(k.key, key) {
			continue
		}
		if len(k.users) == 0 {
			return true
		}
		for _, u := range k.users {
			if u == user {
				return true
			}
		}
	}
	return false
}

func (a *AuthorizedKeys) read() ([]authorizedKey, error) {
	f, err := os.Open(a.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", a.path)
		}
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxAuthorizedKeysBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", a.path, err)
	}
	if len(data) > MaxAuthorizedKeysBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", a.path, MaxAuthorizedKeysBytes)
	}
	return parseAuthorizedKeys(data)
}

// parseAuthorizedKeys parses an authorized_keys file: blank lines and
// comments are skipped, any other line must be a key.
func parseAuthorizedKeys(data []byte) ([]authorizedKey, error) {
	var out []authorizedKey
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, _, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		k := authorizedKey{key: key}
		for _, o := range options {
			name, value, ok := strings.Cut(o, "=")
			if !ok || !strings.EqualFold(name, "principals") {
				continue
			}
			for _, u := range strings.Split(strings.Trim(value, `"`), ",") {
				if u = strings.TrimSpace(u); u != "" {
					k.users = append(k.users, u)
				}
			}
			if len(k.users) == 0 {
				return nil, fmt.Errorf("line %d: empty principals", i+1)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// loadOrCreateHostKey returns the PEM of the server's host key at path,
// generating an ed25519 key (mode 0600) the first time. The key stays in
// the data directory so that returning visitors see the same host.
func loadOrCreateHostKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if _, err := gossh.ParsePrivateKey(data); err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "sipbuddy host key")
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	data = pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	return data, nil
}
