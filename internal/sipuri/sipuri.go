// Package sipuri parses, normalizes and compares SIP and SIPS URIs
// (RFC 3261 §19.1 and the §25 grammar) and derives the one key every part of
// sipbuddy uses for an address-of-record. It lives below sip/ and xcap/
// because both need it and xcap/ may not import sip/.
package sipuri

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxLength bounds the text Parse and ParseAddress accept, in bytes. It is
// far above any real address and keeps a hostile header from costing more
// than a few kilobytes of work.
const MaxLength = 2048

// MaxParts bounds the URI parameters plus headers of one URI.
const MaxParts = 64

// ErrNotSIP is wrapped by every parse error: the text is not a SIP address.
var ErrNotSIP = errors.New("not a SIP address")

// URI is a parsed SIP or SIPS URI in normal form: the host is lower-case
// (IPv6 in its RFC 5952 form), and user, password, parameters and headers
// are kept escaped only where RFC 3261 §19.1.4 says the escape matters, so
// two URIs that differ only in needless escapes have equal fields.
type URI struct {
	// Secure is true for a sips: URI.
	Secure bool
	// User is the user part (case kept), "" when the URI has none.
	User string
	// Password follows the user after ":"; HasPassword tells "" from none.
	Password    string
	HasPassword bool
	// Host is a domain name, an IPv4 address or a bracketed IPv6 address.
	Host string
	// Port is 0 when the URI names none.
	Port int
	// Params are the URI parameters in the order written, names lower-case.
	Params []Param
	// Headers are the header fields after "?", in the order written.
	Headers []Header
}

// Param is one URI parameter; HasValue tells ";lr" from ";lr=".
type Param struct {
	Name, Value string
	HasValue    bool
}

// Header is one "name=value" header field of a URI.
type Header struct {
	Name, Value string
}

// Parse reads a SIP or SIPS URI exactly as RFC 3261 writes it: the scheme
// is required and nothing may surround the URI.
func Parse(s string) (URI, error) {
	if len(s) > MaxLength {
		return URI{}, fmt.Errorf("%w: longer than %d bytes", ErrNotSIP, MaxLength)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || strings.ContainsAny(scheme, "@;?<> ") {
		return URI{}, fmt.Errorf("%w: %q has no sip: or sips: scheme", ErrNotSIP, s)
	}
	var u URI
	switch strings.ToLower(scheme) {
	case "sip":
	case "sips":
		u.Secure = true
	default:
		return URI{}, fmt.Errorf("%w: %q is a %s: URI, only sip: and sips: are", ErrNotSIP, s, scheme)
	}
	if err := u.parseRest(rest); err != nil {
		return URI{}, fmt.Errorf("%w: %q: %w", ErrNotSIP, s, err)
	}
	// Escaping can triple a byte, so a long URI's normal form may pass the
	// bound its text met; what we accept must also be what we can write.
	if len(s) > MaxLength/3 && len(u.String()) > MaxLength {
		return URI{}, fmt.Errorf("%w: longer than %d bytes once written out", ErrNotSIP, MaxLength)
	}
	return u, nil
}

// ParseAddress reads an address the way a person or another client writes
// it: surrounding space, a name-addr ("Bob <sip:bob@example.test>") and a
// missing scheme ("bob@example.test") are accepted.
func ParseAddress(s string) (URI, error) {
	if len(s) > MaxLength {
		return URI{}, fmt.Errorf("%w: longer than %d bytes", ErrNotSIP, MaxLength)
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return URI{}, fmt.Errorf("%w: %q opens < without closing >", ErrNotSIP, s)
		}
		s = strings.TrimSpace(s[i+1 : i+j])
	}
	if s == "" {
		return URI{}, fmt.Errorf("%w: empty; write an address like sip:bob@example.test", ErrNotSIP)
	}
	if !hasScheme(s) {
		s = "sip:" + s
	}
	return Parse(s)
}

// hasScheme reports whether s starts with "name:" before any "@": a bare
// "bob@example.test" or "bob:secret@host" has none.
func hasScheme(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at >= 0 && at < colon {
		return false
	}
	lower := strings.ToLower(s[:colon])
	if lower == "sip" || lower == "sips" {
		return true
	}
	// "bob:secret@host" has a password, not a scheme; "tel:+1..." is a
	// scheme Parse will name in its error.
	return at < 0
}

func (u *URI) parseRest(rest string) error {
	if strings.HasPrefix(rest, "//") {
		return errors.New("a SIP URI has no // after the scheme")
	}
	if strings.Count(rest, "@") > 1 {
		return errors.New("more than one @ (write an @ inside a part as %40)")
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		userinfo := rest[:i]
		rest = rest[i+1:]
		user, password, hasPassword := strings.Cut(userinfo, ":")
		if user == "" {
			return errors.New("empty user part before @")
		}
		var err error
		if u.User, err = normalize(user, userChars); err != nil {
			return fmt.Errorf("user part: %w", err)
		}
		if hasPassword {
			u.HasPassword = true
			if u.Password, err = normalize(password, passwordChars); err != nil {
				return fmt.Errorf("password: %w", err)
			}
		}
	}
	hostport, tail := rest, ""
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		hostport, tail = rest[:i], rest[i:]
	}
	if err := u.parseHostPort(hostport); err != nil {
		return err
	}
	params, headers, hasHeaders := strings.Cut(tail, "?")
	if params != "" {
		for _, p := range strings.Split(params[1:], ";") {
			if err := u.addParam(p); err != nil {
				return err
			}
		}
	}
	if hasHeaders {
		for _, h := range strings.Split(headers, "&") {
			if err := u.addHeader(h); err != nil {
				return err
			}
		}
	}
	return nil
}

func (u *URI) parseHostPort(hp string) error {
	if hp == "" {
		return errors.New("no host (want user@domain)")
	}
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return errors.New("[ of an IPv6 address is never closed")
		}
		host = hp[:end+1]
		if after := hp[end+1:]; after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return fmt.Errorf("%q after the IPv6 address", after)
			}
			port = p
			if port == "" {
				return errors.New("empty port after :")
			}
		}
	} else if strings.Count(hp, ":") > 1 {
		return fmt.Errorf("IPv6 address %q must be written in [ ]", hp)
	} else if h, p, ok := strings.Cut(hp, ":"); ok {
		host, port = h, p
		if port == "" {
			return errors.New("empty port after :")
		}
	}
	h, err := normalizeHost(host)
	if err != nil {
		return err
	}
	u.Host = h
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		u.Port = int(n)
		if u.Port == 0 {
			return errors.New("port 0 is not a port a SIP server listens on")
		}
	}
	return nil
}

// normalizeHost lower-cases a domain name and writes IP addresses in one
// form, so "[::0:1]" and "[::1]" compare equal (RFC 5954 §4).
func normalizeHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") {
		inner := h[1 : len(h)-1]
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("%q is not an IPv6 address", h)
		}
		return "[" + a.String() + "]", nil
	}
	if h == "" {
		return "", errors.New("no host (want user@domain)")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if !a.Is4() {
			return "", fmt.Errorf("IPv6 address %q must be written in [ ]", h)
		}
		return a.String(), nil
	}
	if strings.Trim(h, "0123456789.") == "" {
		return "", fmt.Errorf("%q is neither an IPv4 address nor a domain name", h)
	}
	return checkDomain(strings.ToLower(h))
}

// checkDomain checks RFC 3261's hostname: dot-separated labels of letters,
// digits and inner hyphens, the last one starting with a letter; one
// trailing dot is allowed.
func checkDomain(h string) (string, error) {
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for i, l := range labels {
		if l == "" {
			return "", fmt.Errorf("domain %q has an empty label", h)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !isAlnum(c) && c != '-' {
				return "", fmt.Errorf("character %q is not allowed in the domain %q", rune(c), h)
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("a label of the domain %q starts or ends with -", h)
		}
		if i == len(labels)-1 && !isAlpha(l[0]) {
			return "", fmt.Errorf("the last label of the domain %q must start with a letter", h)
		}
	}
	return h, nil
}

// checkParts refuses one more parameter or header past MaxParts.
func (u *URI) checkParts() error {
	if len(u.Params)+len(u.Headers) >= MaxParts {
		return fmt.Errorf("more than %d parameters and headers", MaxParts)
	}
	return nil
}

// normalizePair normalizes the name and value of one parameter or header
// (what) with the characters it may hold unescaped.
func normalizePair(what, name, value string, chars charClass) (string, string, error) {
	n, err := normalize(name, chars)
	if err != nil {
		return "", "", fmt.Errorf("%s %q: %w", what, name, err)
	}
	v, err := normalize(value, chars)
	if err != nil {
		return "", "", fmt.Errorf("%s %q: %w", what, name, err)
	}
	return n, v, nil
}

func (u *URI) addParam(p string) error {
	if err := u.checkParts(); err != nil {
		return err
	}
	name, value, hasValue := strings.Cut(p, "=")
	if name == "" {
		return fmt.Errorf("empty parameter name in %q", ";"+p)
	}
	n, v, err := normalizePair("parameter", name, value, paramChars)
	if err != nil {
		return err
	}
	n = strings.ToLower(n)
	if _, dup := u.Param(n); dup {
		// Which of the two counts would be a guess, and comparison (§19.1.4)
		// is by name: a URI names each parameter once.
		return fmt.Errorf("parameter %q appears twice", n)
	}
	u.Params = append(u.Params, Param{Name: n, Value: v, HasValue: hasValue})
	return nil
}

func (u *URI) addHeader(h string) error {
	if err := u.checkParts(); err != nil {
		return err
	}
	name, value, ok := strings.Cut(h, "=")
	if !ok || name == "" {
		return fmt.Errorf("header %q is not name=value", h)
	}
	n, v, err := normalizePair("header", name, value, headerChars)
	if err != nil {
		return err
	}
	u.Headers = append(u.Headers, Header{Name: n, Value: v})
	return nil
}

// Param returns the value of the parameter name (lower-case) and whether
// the URI has it.
func (u URI) Param(name string) (string, bool) {
	for _, p := range u.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// String writes the URI in normal form: "sips:bob@example.test:5061;transport=tcp".
func (u URI) String() string {
	var b strings.Builder
	if u.Secure {
		b.WriteString("sips:")
	} else {
		b.WriteString("sip:")
	}
	if u.User != "" {
		b.WriteString(u.User)
		if u.HasPassword {
			b.WriteByte(':')
			b.WriteString(u.Password)
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	if u.Port != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(u.Port))
	}
	for _, p := range u.Params {
		b.WriteByte(';')
		b.WriteString(p.Name)
		if p.HasValue {
			b.WriteByte('=')
			b.WriteString(p.Value)
		}
	}
	for i, h := range u.Headers {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(h.Name)
		b.WriteByte('=')
		b.WriteString(h.Value)
	}
	return b.String()
}
