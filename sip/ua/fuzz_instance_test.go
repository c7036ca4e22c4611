package ua

import (
	"strings"
	"testing"
)

// FuzzParseInstanceID: an instance id read back from disk is either
// refused or a normalized urn:uuid: URN that reads back the same.
func FuzzParseInstanceID(f *testing.F) {
	f.Add("urn:uuid:00000000-0000-4000-8000-000000000001")
	f.Add("URN:UUID:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6")
	f.Add("urn:uuid:")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseInstanceID(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(id, "urn:uuid:") || len(id) != len("urn:uuid:")+36 {
			t.Fatalf("%q parsed to %q", s, id)
		}
		again, err := parseInstanceID(id)
		if err != nil || again != id {
			t.Fatalf("%q does not read back: %q, %v", id, again, err)
		}
	})
}
