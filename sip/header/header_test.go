package header

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	checkParses(t, "ParseEvent", ParseEvent, []parseCase[Event]{
		{"presence", Event{Package: "presence"}, "presence"},
		{"Presence", Event{Package: "presence"}, "presence"},
		{"  PRESENCE.WINFO  ", Event{Package: "presence.winfo"}, "presence.winfo"},
		{"presence;id=123", Event{Package: "presence", ID: "123"}, "presence;id=123"},
		{"presence ; ID = abc", Event{Package: "presence", ID: "abc"}, "presence;id=abc"},
		{"dialog;sla;ma=\"a b\"", Event{Package: "dialog", Params: map[string]string{"sla": "", "ma": "a b"}}, `dialog;ma="a b";sla`},
		{"conference;Host=[::1]", Event{Package: "conference", Params: map[string]string{"host": "[::1]"}}, `conference;host=[::1]`},
		{"conference;call-id=\"x@y\"", Event{Package: "conference", Params: map[string]string{"call-id": "x@y"}}, `conference;call-id="x@y"`},
		{"message-summary", Event{Package: "message-summary"}, "message-summary"},
		{"a.b.c;id=\"q\\\"x\"", Event{Package: "a.b.c", ID: `q"x`}, `a.b.c;id="q\"x"`},
	})
}

// parseCase is one header value, what it parses to and how it is
// written back.
type parseCase[T fmt.Stringer] struct {
	in   string
	want T
	str  string
}

// checkParses checks that parse (named name) reads each case's value and
// writes it back as its str.
func checkParses[T fmt.Stringer](t *testing.T, name string, parse func(string) (T, error), cases []parseCase[T]) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		if err != nil {
			t.Errorf("%s(%q): %v", name, c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s(%q) = %#v, want %#v", name, c.in, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("%s(%q).String() = %q, want %q", name, c.in, s, c.str)
		}
	}
}

// checkRejects checks that parse (named name) refuses each value with an
// error wrapping ErrSyntax.
func checkRejects[T any](t *testing.T, name string, parse func(string) (T, error), ins []string) {
	t.Helper()
	for _, in := range ins {
		if v, err := parse(in); err == nil {
			t.Errorf("%s(%q) = %#v, want error", name, in, v)
		} else if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s(%q) error %v does not wrap ErrSyntax", name, in, err)
		}
	}
}

func TestParseEventErrors(t *testing.T) {
	checkRejects(t, "ParseEvent", ParseEvent, []string{
		"", "   ", ";id=1", "presence.", ".winfo", "presence..winfo", "presence;", "presence;=x",
		"presence;id=", "presence;id=1;id=2", "presence id=1", "presence;id=\"open",
		"presence/x", "presence;a=b c", "presence;a=\"x\r\ny\"",
		"presence" + strings.Repeat(";a", 2), // duplicate flag
		"presence" + strings.Repeat(" ", MaxHeaderValueLen),
	})
	var many strings.Builder
	many.WriteString("presence")
	for i := range MaxParams + 1 {
		many.WriteString(";p")
		many.WriteByte(byte('a' + i%26))
		many.WriteByte(byte('a' + i/26))
	}
	if _, err := ParseEvent(many.String()); err == nil {
		t.Errorf("ParseEvent with %d params: want error", MaxParams+1)
	}
}

func TestEventMatches(t *testing.T) {
	a, _ := ParseEvent("Presence;id=1;foo=bar")
	b, _ := ParseEvent("presence;id=1")
	c, _ := ParseEvent("presence;id=2")
	if !a.Matches(b) || a.Matches(c) {
		t.Errorf("Matches: a~b=%v a~c=%v, want true false", a.Matches(b), a.Matches(c))
	}
}

func TestParseSubscriptionState(t *testing.T) {
	checkParses(t, "ParseSubscriptionState", ParseSubscriptionState, []parseCase[SubscriptionState]{
		{"active;expires=600", SubscriptionState{State: "active", Expires: 600, RetryAfter: -1}, "active;expires=600"},
		{"pending;expires=600", SubscriptionState{State: "pending", Expires: 600, RetryAfter: -1}, "pending;expires=600"},
		{"terminated;reason=timeout", SubscriptionState{State: "terminated", Reason: "timeout", Expires: -1, RetryAfter: -1}, "terminated;reason=timeout"},
		{" Terminated ; Reason = Probation ; Retry-After = 30 ", SubscriptionState{State: "terminated", Reason: "probation", Expires: -1, RetryAfter: 30}, "terminated;reason=probation;retry-after=30"},
		{"active", SubscriptionState{State: "active", Expires: -1, RetryAfter: -1}, "active"},
		{"active;expires=0", SubscriptionState{State: "active", Expires: 0, RetryAfter: -1}, "active;expires=0"},
		{"active;expires=000600", SubscriptionState{State: "active", Expires: 600, RetryAfter: -1}, "active;expires=600"},
		{"active;expires=99999999999999999999999", SubscriptionState{State: "active", Expires: MaxDeltaSeconds, RetryAfter: -1}, "active;expires=4294967295"},
		{"waiting;expires=5;x-foo=\"b;c\"", SubscriptionState{State: "waiting", Expires: 5, RetryAfter: -1, Params: map[string]string{"x-foo": "b;c"}}, `waiting;expires=5;x-foo="b;c"`},
		{"terminated;reason=x-mine;retry-after=0", SubscriptionState{State: "terminated", Reason: "x-mine", Expires: -1, RetryAfter: 0}, "terminated;reason=x-mine;retry-after=0"},
	})
	ss, _ := ParseSubscriptionState("terminated;reason=rejected")
	if !ss.IsTerminated() || ss.IsActive() || ss.IsPending() {
		t.Errorf("predicates wrong for %+v", ss)
	}
}

func TestParseSubscriptionStateErrors(t *testing.T) {
	checkRejects(t, "ParseSubscriptionState", ParseSubscriptionState, []string{
		"", ";expires=5", "active;expires=", "active;expires=-1", "active;expires=+5", "active;expires=5s",
		"active;expires=0x10", "active;expires=1.5", "active;expires=\"60\"", "active;expires",
		"active;retry-after=abc", "active;expires=1;expires=2", "terminated;reason=", "terminated;reason=\"a b\"",
		"active expires=5", "active;;expires=5",
	})
}

var eventSeeds = []string{
	"presence", "presence.winfo;id=7", "dialog;sla;ma=\"a b\"", "Presence ; ID = x", "conference;host=[::1]",
	"a.b;x=\"\\\\\"", "presence;id=\"\"",
}

var subStateSeeds = []string{
	"active;expires=600", "pending;expires=600", "terminated;reason=timeout", "terminated;reason=probation;retry-after=30",
	"waiting;x=\"y\"", "active;expires=99999999999", "active;expires=00",
}

func FuzzParseEvent(f *testing.F) {
	fuzzRoundTrip(f, eventSeeds, "ParseEvent", ParseEvent, func(*testing.T, Event) {})
}

// fuzzRoundTrip fuzzes parse (named name) from seeds: whatever parses
// passes check and is written (String) as a value that parses back to the
// same and is written again the same.
func fuzzRoundTrip[T fmt.Stringer](f *testing.F, seeds []string, name string, parse func(string) (T, error), check func(*testing.T, T)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parse(s)
		if err != nil {
			return
		}
		check(t, v)
		out := v.String()
		v2, err := parse(out)
		if err != nil {
			t.Fatalf("%s(%q) ok, but its String %q does not parse: %v", name, s, out, err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, out, v, v2)
		}
		if out2 := v2.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}

func FuzzParseSubscriptionState(f *testing.F) {
	fuzzRoundTrip(f, subStateSeeds, "ParseSubscriptionState", ParseSubscriptionState, func(t *testing.T, ss SubscriptionState) {
		if ss.Expires < -1 || ss.RetryAfter < -1 || ss.Expires > MaxDeltaSeconds {
			t.Fatalf("out of range numbers: %#v", ss)
		}
	})
}
