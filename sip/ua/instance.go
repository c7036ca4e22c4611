package ua

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// InstanceDirName is the folder of the data directory that keeps one
// instance id (RFC 5626 +sip.instance) per account.
const InstanceDirName = "instance"

// maxInstanceFileBytes bounds an instance file (an URN is 45 bytes).
const maxInstanceFileBytes = 256

// LoadInstanceID returns this device's instance id for aor, a UUID URN
// ("urn:uuid:..."), kept in dataDir/instance/: made once, then the same on
// every start, so that the registrar and the presence server see one
// device come back rather than a new one appear (RFC 5626 §4.1), and a
// second device of the same account (another data directory) has its own.
func LoadInstanceID(dataDir, aor string) (string, error) {
	dir := filepath.Join(dataDir, InstanceDirName)
	path := filepath.Join(dir, AORFileName(aor))
	if fi, err := os.Stat(path); err == nil && fi.Size() <= maxInstanceFileBytes {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("ua: instance id: %w", err)
		}
		if id, err := parseInstanceID(strings.TrimSpace(string(b))); err == nil {
			return id, nil
		}
		// A damaged file: replace it (a new id costs one stale binding).
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("ua: instance id: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("ua: instance id: %w", err)
	}
	id := NewInstanceID()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("ua: instance id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("ua: instance id: %w", err)
	}
	return id, nil
}

// NewInstanceID returns a fresh random instance id, "urn:uuid:...".
func NewInstanceID() string { return "urn:uuid:" + uuid.NewString() }

// parseInstanceID accepts "urn:uuid:<uuid>" and returns it normalized.
func parseInstanceID(s string) (string, error) {
	rest, ok := strings.CutPrefix(strings.ToLower(s), "urn:uuid:")
	if !ok {
		return "", fmt.Errorf("ua: instance id %q is not a urn:uuid: URN", s)
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return "", fmt.Errorf("ua: instance id %q: %w", s, err)
	}
	return "urn:uuid:" + id.String(), nil
}

// AORFileName is a file name for aor that is safe on every system, so
// that what is kept per account in a data directory (the instance id here,
// the account's saved status) is found again under the same name.
func AORFileName(aor string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(aor) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
