package percent

import (
	"net/url"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct{ in, keep, want string }{
		{"", "", ""},
		{"abcXYZ019", "", "abcXYZ019"},
		{"sip:alice@example.test", ":@.", "sip:alice@example.test"},
		{"sip:alice@example.test", "", "sip%3Aalice%40example%2Etest"},
		{`list[@name="a b"]`, "_.-/", "list%5B%40name%3D%22a%20b%22%5D"},
		{"ü", "", "%C3%BC"},
		{"100%", "%", "100%"},
		{"\x00\x7f\xff", "", "%00%7F%FF"},
	} {
		if got := Encode(tc.in, tc.keep); got != tc.want {
			t.Errorf("Encode(%q, %q) = %q, want %q", tc.in, tc.keep, got, tc.want)
		}
	}
}

// FuzzEncode: what Encode writes decodes back to the input (with no %
// kept, so every escape is one Encode wrote) and holds only letters,
// digits, kept bytes and escapes.
func FuzzEncode(f *testing.F) {
	f.Add("sip:alice@example.test", ":@")
	f.Add(`/resource-lists/list[@name="friends"]`, "_.-/")
	f.Add("\xff\x00 ü", "")
	f.Fuzz(func(t *testing.T, s, keep string) {
		keep = strings.ReplaceAll(keep, "%", "")
		got := Encode(s, keep)
		back, err := url.PathUnescape(got)
		if err != nil || back != s {
			t.Fatalf("Encode(%q, %q) = %q, which decodes to %q, %v", s, keep, got, back, err)
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if c == '%' {
				i += 2
				continue
			}
			if !isAlnum(c) && (c >= 0x80 || !strings.ContainsRune(keep, rune(c))) {
				t.Fatalf("Encode(%q, %q) = %q: %q left unescaped", s, keep, got, c)
			}
		}
	})
}
