package presrules

import (
	"strings"
	"testing"
)

// The sub-handling tokens read back to the values they name, however
// spelled; Undo and unknown values are named but never parsed.
func TestHandlingTokens(t *testing.T) {
	for _, c := range []struct {
		h     Handling
		token string
	}{{Block, "block"}, {Confirm, "confirm"}, {PoliteBlock, "polite-block"}, {Allow, "allow"}} {
		if got := c.h.String(); got != c.token {
			t.Errorf("%d.String() = %q, want %q", int(c.h), got, c.token)
		}
		for _, in := range []string{c.token, " " + c.token + "\n", strings.ToUpper(c.token)} {
			if h, ok := ParseHandling(in); !ok || h != c.h {
				t.Errorf("ParseHandling(%q) = %v, %v; want %v", in, h, ok, c.h)
			}
		}
	}
	if got := Undo.String(); got != "undo" {
		t.Errorf("Undo.String() = %q", got)
	}
	if got := Handling(5).String(); got != "Handling(5)" {
		t.Errorf("Handling(5).String() = %q", got)
	}
	for _, in := range []string{"", "undo", "polite block", "allowed"} {
		if h, ok := ParseHandling(in); ok {
			t.Errorf("ParseHandling(%q) = %v, want not a token", in, h)
		}
	}
}
