// Package termtext makes text from the network safe to put on a terminal.
//
// A buddy's note, display name or activity is written by someone else. Raw,
// it could carry escape sequences that drive the terminal (ESC and the other
// C0 and C1 controls), bidirectional overrides that make "gpj.exe" read as
// "exe.jpg" or flip the rest of the line, and zero-width characters that
// make two names that look the same differ. Sanitize removes all of them.
package termtext

import (
	"strings"
	"unicode/utf8"
)

// Sanitize returns s without C0 and C1 control characters (ESC included),
// DEL, bidirectional controls (U+202A-202E, U+2066-2069, U+200E, U+200F,
// U+061C) and zero-width characters (U+200B-200D, U+2060, U+FEFF). Line
// breaks and tabs (\t \n \v \f \r, U+0085, U+2028, U+2029) become one space
// each, so words stay apart; invalid UTF-8 becomes U+FFFD. Text that needs
// none of this is returned as it is, without allocating.
func Sanitize(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] { // invalid bytes come as utf8.RuneError (U+FFFD)
		switch kind(r) {
		case safe:
			b.WriteRune(r)
		case space:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// Safe reports whether s is unchanged by Sanitize.
func Safe(s string) bool { return firstUnsafe(s) < 0 }

type runeKind int

const (
	safe runeKind = iota
	space
	drop
)

func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f { // printable ASCII: the common case
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || kind(r) != safe {
			return i
		}
		i += n
	}
	return -1
}

func kind(r rune) runeKind {
	switch {
	case r == '\t', r == '\n', r == '\v', r == '\f', r == '\r', r == 0x85, r == 0x2028, r == 0x2029:
		return space
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0: // C0, DEL, C1 (ESC, CSI ...)
		return drop
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi
		return drop
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff: // zero width
		return drop
	}
	return safe
}
