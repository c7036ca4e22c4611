package sipuri

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestEqualRFC3261Examples checks the example sets of RFC 3261 §19.1.4.
func TestEqualRFC3261Examples(t *testing.T) {
	equivalent := [][]string{
		{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			"sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			"sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
	}
	for _, set := range equivalent {
		for _, a := range set {
			for _, b := range set {
				if !Equal(mustParse(t, a), mustParse(t, b)) {
					t.Errorf("Equal(%s, %s) = false, RFC 3261 says they are equivalent", a, b)
				}
			}
		}
	}
	different := [][2]string{
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"}, // different usernames
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},                              // different ports
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},                     // different transports
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},                // port and transport
		{"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},      // header
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},                        // name is not its address
	}
	for _, d := range different {
		if Equal(mustParse(t, d[0]), mustParse(t, d[1])) || Equal(mustParse(t, d[1]), mustParse(t, d[0])) {
			t.Errorf("Equal(%s, %s) = true, RFC 3261 says they differ", d[0], d[1])
		}
	}
}

func TestEqualRules(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"sip:bob@example.test", "sips:bob@example.test", false},
		{"sip:bob@example.test;maddr=239.255.255.1", "sip:bob@example.test", false},
		{"sip:bob@example.test;ttl=15", "sip:bob@example.test", false},
		{"sip:bob@example.test;method=INVITE", "sip:bob@example.test", false},
		{"sip:+1555@example.test;user=phone", "sip:+1555@example.test", false},
		{"sip:bob@example.test;lr", "sip:bob@example.test", true},
		{"sip:bob@example.test;foo=a", "sip:bob@example.test;foo=B", false},
		{"sip:a%3Bb@example.test", "sip:a;b@example.test", false}, // ; is reserved: the escape matters
		{"sip:a%2db@example.test", "sip:a-b@example.test", true},
		{"sip:bob:pw@example.test", "sip:bob@example.test", false},
		{"sip:bob@[::0:1]", "sip:bob@[::1]", true},
		{"sip:bob@example.test.", "sip:bob@example.test.", true},
		{"sip:bob@example.test?a=1", "sip:bob@example.test?A=1", true},
	} {
		if got := Equal(mustParse(t, c.a), mustParse(t, c.b)); got != c.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestAOR(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SIP:Ada@Example.Test", "sip:ada@example.test"},
		{"sips:ada@example.test", "sip:ada@example.test"},
		{"sip:ada@example.test", "sip:ada@example.test"},
		{"sip:%41da@EXAMPLE.test:5061;transport=tls?subject=hi", "sip:ada@example.test"},
		{"\"Ada L.\" <sips:Ada@Example.Test;transport=tls>;tag=x", "sip:ada@example.test"},
		{"  ada@example.test ", "sip:ada@example.test"},
		{"ada:secret@example.test", "sip:ada@example.test"},
		{"sip:a%3bb@example.test", "sip:a%3Bb@example.test"},
		{"sip:Iñaki@example.test", "sip:i%C3%B1aki@example.test"},
		{"sip:+1-212-555-1212:1234@gateway.com;user=phone", "sip:+1-212-555-1212@gateway.com"},
		{"sip:bob@[2001:DB8::1]:5060", "sip:bob@[2001:db8::1]"},
		{"sip:bob@127.0.0.1", "sip:bob@127.0.0.1"},
	} {
		got, err := AORKey(c.in)
		if err != nil || got != c.want {
			t.Errorf("AORKey(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if !SameAOR(mustParse(t, "SIP:Ada@Example.Test"), mustParse(t, "sips:ada@example.test;transport=tls")) {
		t.Error("SIP:Ada@Example.Test and sips:ada@example.test are not the same AOR")
	}
	if SameAOR(mustParse(t, "sip:ada@example.test"), mustParse(t, "sip:bob@example.test")) {
		t.Error("ada and bob are the same AOR")
	}
}

func TestAORUser(t *testing.T) {
	for in, want := range map[string]string{"Ada": "ada", "%41da": "ada", "a%3bB": "a%3Bb", "+1555": "+1555"} {
		if got, err := AORUser(in); err != nil || got != want {
			t.Errorf("AORUser(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "a@b", "a%zz"} {
		if got, err := AORUser(bad); err == nil || !errors.Is(err, ErrNotSIP) {
			t.Errorf("AORUser(%q) = %q, %v; want ErrNotSIP", bad, got, err)
		}
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SIPS:%61lice:p%61ss@AtLanTa.CoM:5061;Transport=TCP;lr?Subject=project%20x&priority=urgent",
			"sips:alice:pass@atlanta.com:5061;transport=TCP;lr?Subject=project%20x&priority=urgent"},
		{"sip:biloxi.com;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER?to=sip:bob%40biloxi.com"},
		{"sip:bob@[::1]:5060", "sip:bob@[::1]:5060"},
		{"sip:bob:@host.test", "sip:bob:@host.test"},
	} {
		u := mustParse(t, c.in)
		if got := u.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
		if again := mustParse(t, u.String()); !Equal(u, again) || again.String() != u.String() {
			t.Errorf("%q does not survive a second parse: %q", c.in, again)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "no sip: or sips: scheme"},
		{"bob@example.test", "no sip: or sips: scheme"},
		{"tel:+15551234", "a tel: URI"},
		{"http://example.test", "a http: URI"},
		{"sip:", "no host"},
		{"sip:@example.test", "empty user part"},
		{"sip:bob@", "no host"},
		{"sip:bob@exa mple.test", "not allowed"},
		{"sip:bo b@example.test", "a space is not allowed"},
		{"sip:bob<@example.test", `character '<' is not allowed here (write it as %3C)`},
		{"sip:bob@example.test:", "empty port"},
		{"sip:bob@example.test:99999", "port \"99999\""},
		{"sip:bob@example.test:0", "port 0"},
		{"sip:bob@example.test:+5", "port \"+5\""},
		{"sip:bob@[::1", "never closed"},
		{"sip:bob@[example.test]", "not an IPv6 address"},
		{"sip:bob@[fe80::1%25eth0]", "not an IPv6 address"},
		{"sip:bob@::1", "must be written in [ ]"},
		{"sip:bob@1.2.3", "neither an IPv4 address nor a domain"},
		{"sip:bob@999.1.1.1", "neither an IPv4 address nor a domain"},
		{"sip:bob@-x.test", "starts or ends with -"},
		{"sip:bob@x..test", "empty label"},
		{"sip:bob@x.4test", "must start with a letter"},
		{"sip:bob@example.test;=x", "empty parameter name"},
		{"sip:bob@example.test?subject", "not name=value"},
		{"sip:b%6x@example.test", "not a %-escape"},
		{"sip:b%4@x.test", "incomplete %-escape"},
		{"sip:b@x.test;p=%4", "incomplete %-escape"},
		{"sip:a@b@example.test", "more than one @"},
		{"sip://bob@example.test", "no // after the scheme"},
		{"sip:bob@example.test\r\n", "not allowed"},
		{"sip:" + strings.Repeat("a", MaxLength) + "@x.test", "longer than 2048 bytes"},
		{"sip:x.test" + manyParams(MaxParts+1), "more than 64 parameters and headers"},
		{"sip:x.test;lr;transport=tcp;LR", `parameter "lr" appears twice`},
	} {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) = nil error, want %q", c.in, c.want)
			continue
		}
		if !errors.Is(err, ErrNotSIP) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want ErrNotSIP mentioning %q", c.in, err, c.want)
		}
		if !strings.HasPrefix(err.Error(), "not a SIP address: ") {
			t.Errorf("Parse(%q) error %q does not start with \"not a SIP address: \"", c.in, err)
		}
	}
	if _, err := Parse("sip:x.test" + manyParams(MaxParts)); err != nil {
		t.Errorf("%d parameters are allowed: %v", MaxParts, err)
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"   ", "empty; write an address like sip:bob@example.test"},
		{"Bob <sip:bob@example.test", "without closing >"},
		{"tel:+15551234", "a tel: URI"},
		{"<>", "empty"},
	} {
		if _, err := ParseAddress(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAddress(%q) = %v, want an error mentioning %q", c.in, err, c.want)
		}
	}
	if _, err := AORKey("sip:example.test"); err == nil || !strings.Contains(err.Error(), "names a host, not a user") {
		t.Errorf("AORKey of a host = %v, want a 'names a host' error", err)
	}
}

func mustParse(t *testing.T, s string) URI {
	t.Helper()
	u, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return u
}

// manyParams is n distinct parameters, ";p0;p1;...".
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ";p%d", i)
	}
	return b.String()
}
