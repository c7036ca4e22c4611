package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "Out for lunch", "Out for lunch"},
		{"non-Latin text stays", "Grüße, 東京 🙂 שלום", "Grüße, 東京 🙂 שלום"},
		{"ESC sequence loses its ESC", "\x1b[2J\x1b]0;owned\x07hi", "[2J]0;ownedhi"},
		{"C1 CSI", "a\u009b31mb", "a31mb"},
		{"DEL and NUL", "a\x7fb\x00c", "abc"},
		{"line breaks become spaces", "one\ntwo\r\nthree\tfour\u2028five\u0085six", "one two  three four five six"},
		{"right-to-left override", "invoice\u202Egpj.exe", "invoicegpj.exe"},
		{"every bidi control", "\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i\u200Ej\u200Fk\u061Cl", "abcdefghijkl"},
		{"zero width", "al\u200Bi\u200Cc\u200De\u2060\uFEFF", "alice"},
		{"invalid UTF-8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"empty", "", ""},
	} {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("%s: Sanitize(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		if Safe(c.in) != (c.in == c.want) {
			t.Errorf("%s: Safe(%q) = %v", c.name, c.in, Safe(c.in))
		}
	}
}

func TestSanitizeDoesNotAllocateForSafeText(t *testing.T) {
	s := strings.Repeat("Back at 3 · Grüße 🙂 ", 4)
	if n := testing.AllocsPerRun(100, func() { _ = Sanitize(s) }); n != 0 {
		t.Errorf("Sanitize of safe text made %.0f allocations", n)
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred\x1b[0m", "a\u202Eb", "x\u200By", "\xff\xfe", "\u0085\u2028", "東京"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Sanitize(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if kind(r) != safe {
				t.Fatalf("Sanitize(%q) = %q keeps %U", s, out, r)
			}
		}
		if again := Sanitize(out); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		if !Safe(out) {
			t.Fatalf("Safe(Sanitize(%q)) = false", s)
		}
		if Safe(s) && out != s {
			t.Fatalf("safe %q changed to %q", s, out)
		}
	})
}
