package account

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
)

// MaxURIBytes bounds a buddy's SIP URI.
const MaxURIBytes = 256

// ErrInvalidURI is returned by NormalizeURI for input that is not a SIP
// URI of a user.
var ErrInvalidURI = errors.New("invalid SIP URI")

// NormalizeURI checks what the user typed as a buddy's address and returns
// its AOR as every part of sipbuddy stores and compares it
// (internal/sipuri): "sip:user@host", with a missing "sip:" added, sips:
// folded to sip:, the port and parameters dropped and the case folded, so
// that "SIP:Ada@Example.Test" and "sip:ada@example.test" are one buddy, one
// subscription and one pres-rules entry.
func NormalizeURI(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: enter an address like sip:bob@example.test", ErrInvalidURI)
	}
	if len(s) > MaxURIBytes {
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidURI, MaxURIBytes)
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[:i], "@") {
		rest = rest[i+1:]
	}
	if user, host, ok := strings.Cut(rest, "@"); !ok || user == "" || host == "" {
		return "", fmt.Errorf("%w: %q needs a user and a domain (bob@example.test)", ErrInvalidURI, rest)
	}
	key, err := sipuri.AORKey(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidURI, err)
	}
	return key, nil
}
