package account

import (
	"errors"
	"fmt"
	"strings"
)

// MaxURIBytes bounds a buddy's SIP URI.
const MaxURIBytes = 256

// ErrInvalidURI is returned by NormalizeURI for input that is not a SIP
// URI of a user.
var ErrInvalidURI = errors.New("invalid SIP URI")

// NormalizeURI checks what the user typed as a buddy's address and returns
// it as "sip:user@host" (a missing "sip:" is added, the host is lower-cased).
func NormalizeURI(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: enter an address like sip:bob@example.test", ErrInvalidURI)
	}
	if len(s) > MaxURIBytes {
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidURI, MaxURIBytes)
	}
	lower := strings.ToLower(s)
	scheme := "sip:"
	switch {
	case strings.HasPrefix(lower, "sip:"):
		s = s[4:]
	case strings.HasPrefix(lower, "sips:"):
		scheme, s = "sips:", s[5:]
	case strings.Contains(s, ":") && !strings.Contains(s, "@"):
		return "", fmt.Errorf("%w: only sip: and sips: addresses", ErrInvalidURI)
	}
	user, host, ok := strings.Cut(s, "@")
	if !ok || user == "" || host == "" {
		return "", fmt.Errorf("%w: %q needs a user and a domain (bob@example.test)", ErrInvalidURI, s)
	}
	for _, r := range user {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("<>\"@;?", r) {
			return "", fmt.Errorf("%w: %q is not allowed in the user part", ErrInvalidURI, r)
		}
	}
	h, port, hasPort := strings.Cut(host, ":")
	if strings.HasPrefix(host, "[") {
		// IPv6 reference: "[::1]" or "[::1]:5060".
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", fmt.Errorf("%w: unclosed [ in the domain", ErrInvalidURI)
		}
		h, port = host[:end+1], strings.TrimPrefix(host[end+1:], ":")
		hasPort = len(host) > end+1
		if hasPort && host[end+1] != ':' {
			return "", fmt.Errorf("%w: junk after ]", ErrInvalidURI)
		}
		if strings.Trim(h[1:end], "0123456789abcdefABCDEF:.") != "" || end < 3 {
			return "", fmt.Errorf("%w: bad IPv6 address %q", ErrInvalidURI, h)
		}
	} else if strings.ContainsAny(h, "[]") {
		return "", fmt.Errorf("%w: [ ] only around an IPv6 address", ErrInvalidURI)
	}
	if h == "" {
		return "", fmt.Errorf("%w: empty domain", ErrInvalidURI)
	}
	for _, r := range strings.Trim(h, "[]") {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':' && h[0] == '[') {
			return "", fmt.Errorf("%w: %q is not allowed in the domain", ErrInvalidURI, r)
		}
	}
	if hasPort {
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return "", fmt.Errorf("%w: bad port %q", ErrInvalidURI, port)
		}
	}
	out := scheme + user + "@" + strings.ToLower(host)
	if len(out) > MaxURIBytes {
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidURI, MaxURIBytes)
	}
	return out, nil
}
