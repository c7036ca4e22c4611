package sipuri

import (
	"testing"
)

// FuzzParse checks that whatever parses writes a normal form that parses
// back to an equal URI with the same text and the same AOR.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sip:alice@atlanta.com",
		"SIP:Ada@Example.Test",
		"sips:%61lice:pw@[2001:db8::1]:5061;transport=TCP;lr?subject=project%20x&priority=urgent",
		"sip:biloxi.com;method=REGISTER?to=sip:bob%40biloxi.com",
		"Bob <sip:bob@example.test>;tag=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseAddress(s)
		if err != nil {
			return
		}
		again, err := Parse(u.String())
		if err != nil {
			t.Fatalf("%q parsed, its normal form %q does not: %v", s, u.String(), err)
		}
		if !Equal(u, again) || again.String() != u.String() {
			t.Fatalf("%q: normal form %q reparses as %q", s, u.String(), again.String())
		}
		if a := u.AOR(); a.String() != a.AOR().String() || !SameAOR(u, again) {
			t.Fatalf("%q: AOR %q is not stable", s, a)
		}
	})
}
