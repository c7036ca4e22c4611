package presrules

import (
	"strings"
	"testing"
)

// The sub-handling tokens read back to the values they name, however
// spelled; Undo and unknown values are named but never parsed.
func TestHandlingTokens(t *testing.T) {
	for token, h := range map[string]Handling{"block": Block, "confirm": Confirm, "polite-block": PoliteBlock, "allow": Allow} {
		if got := h.String(); got != token {
			t.Errorf("%d.String() = %q, want %q", int(h), got, token)
		}
		for _, in := range []string{token, " " + token + "\n", strings.ToUpper(token)} {
			if got, ok := ParseHandling(in); !ok || got != h {
				t.Errorf("ParseHandling(%q) = %v, %v; want %v", in, got, ok, h)
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
