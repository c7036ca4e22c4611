package sipuri

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/percent"
)

// Character classes of RFC 3261 §25.
const (
	marks          = "-_.!~*'()"
	reserved       = ";/?:@&=+$,"
	userUnreserved = "&=+$,;?/"
	passwordExtra  = "&=+$,"
	paramExtra     = "[]/:&+$"
	headerExtra    = "[]/?:+$"
)

type charClass func(c byte) bool

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
func unreserved(c byte) bool {
	return isAlnum(c) || strings.IndexByte(marks, c) >= 0
}

func userChars(c byte) bool     { return unreserved(c) || strings.IndexByte(userUnreserved, c) >= 0 }
func passwordChars(c byte) bool { return unreserved(c) || strings.IndexByte(passwordExtra, c) >= 0 }
func paramChars(c byte) bool    { return unreserved(c) || strings.IndexByte(paramExtra, c) >= 0 }
func headerChars(c byte) bool   { return unreserved(c) || strings.IndexByte(headerExtra, c) >= 0 }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// normalize writes one component in the form RFC 3261 §19.1.4 compares:
// an escape of a character that may stand unescaped, and is not reserved,
// becomes the character ("%61" is "a"); every other escape stays, in upper
// case, because "%3B" and ";" are different users. Bytes above 0x7f (UTF-8
// typed by a person) are escaped rather than refused.
func normalize(s string, allowed charClass) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("%q ends in an incomplete %%-escape", s)
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("%q is not a %%-escape (want %% and two hex digits)", s[i:i+3])
			}
			d := hi<<4 | lo
			if allowed(d) && strings.IndexByte(reserved, d) < 0 {
				b.WriteByte(d)
			} else {
				percent.Escape(&b, d)
			}
			i += 2
		case allowed(c):
			b.WriteByte(c)
		case c >= 0x80:
			percent.Escape(&b, c)
		case c == ' ':
			return "", errors.New("a space is not allowed (write it as %20)")
		case c < ' ' || c == 0x7f:
			return "", fmt.Errorf("control character %q is not allowed", rune(c))
		default:
			return "", fmt.Errorf("character %q is not allowed here (write it as %%%02X)", rune(c), c)
		}
	}
	return b.String(), nil
}

// mustMatchParams are the parameters that make two URIs differ when only one
// of them has it (RFC 3261 §19.1.4; transport as the section's examples
// show: "sip:bob@biloxi.com" is not "sip:bob@biloxi.com;transport=udp").
var mustMatchParams = []string{"user", "ttl", "method", "maddr", "transport"}

// Equal compares two URIs by RFC 3261 §19.1.4: sip: never equals sips:; the
// user and password are case-sensitive; host, parameters and headers are
// not; a port or a user, ttl, method, maddr or transport parameter written
// in only one URI makes them differ, any other parameter in only one is
// ignored; headers must all be in both.
func Equal(a, b URI) bool {
	if a.Secure != b.Secure || a.User != b.User || a.HasPassword != b.HasPassword ||
		a.Password != b.Password || a.Host != b.Host || a.Port != b.Port {
		return false
	}
	for _, p := range a.Params {
		if !paramsAgree(p, b) {
			return false
		}
	}
	for _, p := range b.Params {
		if !paramsAgree(p, a) {
			return false
		}
	}
	return slices.Equal(headerSet(a.Headers), headerSet(b.Headers))
}

// paramsAgree reports whether p, a parameter of one URI, is compatible
// with the other URI.
func paramsAgree(p Param, other URI) bool {
	v, ok := other.Param(p.Name)
	if !ok {
		return !slices.Contains(mustMatchParams, p.Name)
	}
	return strings.EqualFold(v, p.Value)
}

func headerSet(hs []Header) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = strings.ToLower(h.Name) + "=" + strings.ToLower(h.Value)
	}
	slices.Sort(out)
	return out
}

// AOR returns the address-of-record the URI names: "sip:user@host". It is
// the key sipbuddy stores and compares addresses by (registrations,
// presentities, watchers, buddies, pres-rules entries, XCAP users):
//   - sips: folds to sip:, because a sips: URI asks for TLS on the way to
//     the same user (RFC 3261 §19.1) and must not give a second buddy;
//   - password, port, parameters and headers are dropped (RFC 3261 §10.3
//     step 5 drops the parameters; the port says how to reach a server,
//     not who the user is);
//   - the host is lower-case and escapes are in normal form (§19.1.4);
//   - the user is folded to lower case. This goes beyond §19.1.4, which
//     keeps the user case-sensitive (Equal does): registrars commonly treat
//     user names case-insensitively (Kamailio's registrar default,
//     case_sensitive=0), and "SIP:Ada@Example.Test" typed next to
//     "sip:ada@example.test" must be one buddy, not two.
func (u URI) AOR() URI {
	return URI{User: foldUser(u.User), Host: u.Host}
}

// foldUser lower-cases ASCII letters outside %-escapes (whose hex digits
// stay upper-case, as normalize writes them).
func foldUser(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] == '%' {
			i += 2
			continue
		}
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// SameAOR reports whether a and b name the same address-of-record.
func SameAOR(a, b URI) bool {
	return a.AOR().String() == b.AOR().String()
}

// XUI returns the XCAP User Identifier of the URI (RFC 4825 §4): its AOR,
// "sip:user@host". A URI without a user part has none.
func (u URI) XUI() (string, error) {
	if u.User == "" {
		return "", fmt.Errorf("%w: %s names a host, not a user (want sip:user@domain)", ErrNotSIP, u)
	}
	return u.AOR().String(), nil
}

// AORKey reads an address as a person or another client writes it (see
// ParseAddress) and returns its AOR "sip:user@host", or an error when it is
// not the address of a user.
func AORKey(s string) (string, error) {
	u, err := ParseAddress(s)
	if err != nil {
		return "", err
	}
	return u.XUI()
}

// AORUser returns a user part ("Ada", "%61da") as the AOR keys it ("ada"),
// for code that holds the user and the domain apart (a registrar, a digest
// username).
func AORUser(user string) (string, error) {
	if user == "" {
		return "", fmt.Errorf("%w: empty user part", ErrNotSIP)
	}
	n, err := normalize(user, userChars)
	if err != nil {
		return "", fmt.Errorf("%w: user part %q: %w", ErrNotSIP, user, err)
	}
	return foldUser(n), nil
}
