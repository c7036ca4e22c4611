// Package percent writes the %XX escapes of RFC 3986 §2.1, which SIP URIs
// (RFC 3261 §19.1.2), XCAP URIs (RFC 4825 §6) and xs:anyURI values share:
// one encoder, however many character sets the callers keep unescaped.
package percent

import "strings"

// upperHex are the digits of an escape: RFC 3986 §2.1 asks producers for
// upper case, and SIP compares escapes case-insensitively anyway.
const upperHex = "0123456789ABCDEF"

// Escape writes the escape of c ("%3B" for ';') to b.
func Escape(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[c>>4])
	b.WriteByte(upperHex[c&15])
}

// Encode returns s with every byte escaped except ASCII letters, digits
// and the ASCII bytes in keep. Bytes above 0x7f (UTF-8) are always escaped.
func Encode(s, keep string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c < 0x80 && strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		Escape(&b, c)
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
