// Package header parses and formats the SIP event-framework header values
// used by SIP SIMPLE presence: Event (RFC 6665 §8.2.1) and
// Subscription-State (RFC 6665 §8.2.3).
//
// Parsing is lenient where peers differ harmlessly (linear whitespace around
// ";" and "=", letter case of tokens) and strict where a wrong guess would
// change behaviour (numbers, duplicate parameters, empty tokens). String()
// produces a canonical form that parses back to the same value.
package header

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxHeaderValueLen bounds the length of a header value accepted by the
// parsers; SIP servers rarely accept headers above a few KiB and a bound keeps
// a hostile peer from making us allocate for a parameter list of megabytes.
const MaxHeaderValueLen = 4096

// MaxParams bounds the number of parameters in one header value.
const MaxParams = 32

// ErrSyntax is wrapped by every parse error, so callers can answer 400
// without matching message text.
var ErrSyntax = errors.New("header: syntax error")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// isTokenChar reports whether c may appear in an RFC 3261 token.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

func isToken(s string) bool { return nonEmptyOf(s, isTokenChar) }

// nonEmptyOf reports whether s is not empty and every byte of it is in
// the class: a token, or a bare parameter value.
func nonEmptyOf(s string, class func(byte) bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !class(s[i]) {
			return false
		}
	}
	return true
}

// isBareValueChar reports whether c may appear in an unquoted gen-value
// (token or host, the latter including IPv6 references like "[::1]").
func isBareValueChar(c byte) bool {
	return isTokenChar(c) || c == ':' || c == '[' || c == ']'
}

func isBareValue(s string) bool { return nonEmptyOf(s, isBareValueChar) }

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// scanner walks a header value byte by byte.
type scanner struct {
	s   string
	pos int
}

func (sc *scanner) skipLWS() {
	for sc.pos < len(sc.s) && isLWS(sc.s[sc.pos]) {
		sc.pos++
	}
}

func (sc *scanner) eof() bool { return sc.pos >= len(sc.s) }

func (sc *scanner) peek() byte { return sc.s[sc.pos] }

func (sc *scanner) token() string {
	start := sc.pos
	for sc.pos < len(sc.s) && isTokenChar(sc.s[sc.pos]) {
		sc.pos++
	}
	return sc.s[start:sc.pos]
}

// value reads a gen-value: a quoted string (returned unescaped) or a bare
// token/host.
func (sc *scanner) value() (string, error) {
	if sc.eof() {
		return "", syntaxErr("missing parameter value")
	}
	if sc.peek() != '"' {
		start := sc.pos
		for sc.pos < len(sc.s) && isBareValueChar(sc.s[sc.pos]) {
			sc.pos++
		}
		if sc.pos == start {
			return "", syntaxErr("bad parameter value at %q", sc.rest())
		}
		return sc.s[start:sc.pos], nil
	}
	sc.pos++ // opening quote
	var b strings.Builder
	for sc.pos < len(sc.s) {
		c := sc.s[sc.pos]
		switch {
		case c == '"':
			sc.pos++
			return b.String(), nil
		case c == '\\':
			if sc.pos+1 >= len(sc.s) {
				return "", syntaxErr("unterminated quoted-pair")
			}
			n := sc.s[sc.pos+1]
			if n == '\r' || n == '\n' || n > 0x7f {
				return "", syntaxErr("invalid quoted-pair")
			}
			b.WriteByte(n)
			sc.pos += 2
		case c == '\r' || c == '\n' || c < 0x20 && c != '\t' || c == 0x7f:
			return "", syntaxErr("control character in quoted string")
		default:
			b.WriteByte(c)
			sc.pos++
		}
	}
	return "", syntaxErr("unterminated quoted string")
}

func (sc *scanner) rest() string {
	r := sc.s[sc.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

// param is one ";name[=value]" with the name lower-cased.
type param struct {
	name, value string
	quoted      bool
}

// params reads *( SEMI generic-param ) up to the end of the value.
func (sc *scanner) params() ([]param, error) {
	var out []param
	for {
		sc.skipLWS()
		if sc.eof() {
			return out, nil
		}
		if sc.peek() != ';' {
			return nil, syntaxErr("expected ';' at %q", sc.rest())
		}
		sc.pos++
		sc.skipLWS()
		name := sc.token()
		if name == "" {
			return nil, syntaxErr("empty parameter name at %q", sc.rest())
		}
		p := param{name: strings.ToLower(name)}
		sc.skipLWS()
		if !sc.eof() && sc.peek() == '=' {
			sc.pos++
			sc.skipLWS()
			v, err := sc.value()
			if err != nil {
				return nil, fmt.Errorf("parameter %q: %w", name, err)
			}
			p.value, p.quoted = v, sc.s[sc.pos-1] == '"'
		}
		for _, q := range out {
			if q.name == p.name {
				return nil, syntaxErr("duplicate parameter %q", p.name)
			}
		}
		out = append(out, p)
		if len(out) > MaxParams {
			return nil, syntaxErr("more than %d parameters", MaxParams)
		}
	}
}

// writeParam appends ";name" or ";name=value", quoting the value when it is
// not a bare token or host. An empty value is written as a flag parameter,
// which parses back to the empty string.
func writeParam(b *strings.Builder, name, value string) {
	b.WriteByte(';')
	b.WriteString(name)
	if value == "" {
		return
	}
	b.WriteByte('=')
	if isBareValue(value) {
		b.WriteString(value)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(value); i++ {
		c := value[i]
		// A quote, a backslash and the controls a quoted string may not
		// hold bare (RFC 3261 §25.1 qdtext) go as quoted-pairs, so what
		// was read is written back readable.
		if c == '"' || c == '\\' || c < 0x20 && c != '\t' || c == 0x7f {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
}

// writeParams appends every parameter of params with writeParam, sorted
// by name so that String() is canonical whatever the map's order.
func writeParams(b *strings.Builder, params map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		writeParam(b, k, params[k])
	}
}

func checkLen(s string) error {
	if len(s) > MaxHeaderValueLen {
		return syntaxErr("header value longer than %d bytes", MaxHeaderValueLen)
	}
	return nil
}
