package rlmi

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/sip/header"
)

func readSample(t testing.TB, name string) (string, []byte) {
	t.Helper()
	body, err := os.ReadFile("testdata/" + name + ".body")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := os.ReadFile("testdata/" + name + ".ctype")
	if err != nil {
		t.Fatal(err)
	}
	return string(ct), body
}

func TestParseRFC4662Example(t *testing.T) {
	ct, body := readSample(t, "rfc4662")
	if !IsList(ct) {
		t.Fatalf("IsList(%q) = false", ct)
	}
	l, err := Parse(ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if l.URI != "sip:adam-friends@pres.example.com" || l.Version != 1 || !l.FullState || l.Name != "Buddy List at COM" {
		t.Errorf("list = %q v%d full=%v name %q", l.URI, l.Version, l.FullState, l.Name)
	}
	if len(l.Resources) != 4 {
		t.Fatalf("%d resources, want 4", len(l.Resources))
	}
	want := []struct {
		uri, name, state, reason, note string
	}{
		{"sip:bob@example.com", "Bob Smith", header.StateActive, "", "Bob is in"},
		{"sip:dave@example.com", "Dave Jones", header.StateActive, "", "Dave &amp; co"},
		{"sip:ed@example.net", "", header.StatePending, "", ""},
		{"sip:mark@example.org", "", header.StateTerminated, header.ReasonRejected, ""},
	}
	for i, w := range want {
		r := l.Resources[i]
		st, reason := r.State()
		if r.URI != w.uri || r.Name != w.name || st != w.state || reason != w.reason {
			t.Errorf("resource %d = %q %q %s/%s, want %q %q %s/%s", i, r.URI, r.Name, st, reason, w.uri, w.name, w.state, w.reason)
		}
		if w.note == "" {
			if len(r.Parts) != 0 {
				t.Errorf("%s has %d parts, want none", r.URI, len(r.Parts))
			}
			continue
		}
		if len(r.Parts) != 1 || r.Parts[0].ContentType != "application/pidf+xml" || !strings.Contains(string(r.Parts[0].Body), w.note) {
			t.Errorf("%s parts = %+v", r.URI, r.Parts)
		}
	}
}

// What Encode writes, Parse reads back the same, and the body is what
// RFC 4662 describes: the RLMI first, one part per instance with state.
func TestEncodeRoundTrip(t *testing.T) {
	in := &List{URI: "sip:alice+presence@example.test", Version: 7, FullState: false, Resources: []Resource{
		{URI: "sip:bob@example.test", Name: `Bob "B" <Smith>`, Instances: []Instance{{ID: "i1", State: "active", CID: "c1@example.test"}},
			Parts: []Part{{ContentType: "application/pidf+xml", Body: []byte("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:bob@example.test'/>")}}},
		{URI: "sip:carol@example.test", Instances: []Instance{{ID: "i2", State: "terminated", Reason: "noresource"}}},
	}}
	body := Encode(nil, in, "b0undaryXYZ0123456789", "root@example.test")
	ct := ContentTypeOf("b0undaryXYZ0123456789", "root@example.test")
	out, err := Parse(ct, body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if fmt.Sprintf("%+v", out) != fmt.Sprintf("%+v", in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if i, j := strings.Index(string(body), ContentType), strings.Index(string(body), "application/pidf+xml"); i < 0 || j < i {
		t.Errorf("the RLMI part is not first:\n%s", body)
	}
}

// A list inside the list (RFC 4662 §5.3) is flattened into its members.
func TestNestedList(t *testing.T) {
	inner := &List{URI: "sip:work@example.test", Version: 1, FullState: true, Resources: []Resource{
		{URI: "sip:dan@example.test", Instances: []Instance{{ID: "d", State: "pending"}}},
	}}
	innerBody := Encode(nil, inner, "innerBoundary0123456", "inner-root")
	outer := &List{URI: "sip:all@example.test", Version: 1, FullState: true, Resources: []Resource{
		{URI: "sip:bob@example.test", Instances: []Instance{{ID: "b", State: "pending"}}},
		{URI: "sip:work@example.test", Instances: []Instance{{ID: "w", State: "active", CID: "work-list"}},
			Parts: []Part{{ContentType: ContentTypeOf("innerBoundary0123456", "inner-root"), Body: innerBody}}},
	}}
	body := Encode(nil, outer, "outerBoundary0123456", "outer-root")
	l, err := Parse(ContentTypeOf("outerBoundary0123456", "outer-root"), body)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range l.Resources {
		uris = append(uris, r.URI)
	}
	if got := strings.Join(uris, " "); got != "sip:bob@example.test sip:dan@example.test" {
		t.Errorf("resources %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	ct, body := readSample(t, "rfc4662")
	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"not multipart", "application/pidf+xml", string(body), "not multipart/related"},
		{"no boundary", "multipart/related;type=\"application/rlmi+xml\"", string(body), "no boundary"},
		{"wrong root type", strings.Replace(ct, "application/rlmi+xml", "text/plain", 1), string(body), "root part's type"},
		{"missing start", strings.Replace(ct, "nXYxAE", "nosuch", 1), string(body), "no part has the start Content-ID"},
		{"no parts", ct, "--50UBfW7LSCVLtggUPe5z--\r\n", "no parts"},
		{"bad version", ct, strings.Replace(string(body), `version="1"`, `version="one"`, 1), "version \"one\" is not a number"},
		{"bad fullState", ct, strings.Replace(string(body), `fullState="true"`, `fullState="yes"`, 1), "fullState"},
		{"instance without state", ct, strings.Replace(string(body), ` state="pending"`, ``, 1), "lacks its id or state"},
		{"not xml", ct, strings.Replace(string(body), "<list ", "<list <", 1), "RLMI document"},
	} {
		_, err := Parse(tc.ct, []byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		var le *xmltree.LimitError
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.As(err, &le) {
			t.Errorf("%s: %v wraps neither ErrMalformed nor a LimitError", tc.name, err)
		}
	}
}

func TestLimits(t *testing.T) {
	l := &List{URI: "sip:big@example.test", Version: 1, FullState: true}
	for i := range MaxResources + 1 {
		l.Resources = append(l.Resources, Resource{URI: fmt.Sprintf("sip:u%d@example.test", i), Instances: []Instance{{ID: "x", State: "pending"}}})
	}
	_, err := Parse(ContentTypeOf("bigBoundary012345678", "r"), Encode(nil, l, "bigBoundary012345678", "r"))
	var le *xmltree.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("%d resources: %v, want a LimitError", len(l.Resources), err)
	}
	if _, err := Parse("multipart/related;boundary=x", make([]byte, MaxBodyBytes+1)); !errors.As(err, &le) {
		t.Errorf("oversized body: %v", err)
	}
}

// The resource's state: active beats pending beats terminated.
func TestResourceState(t *testing.T) {
	r := Resource{Instances: []Instance{{State: "terminated", Reason: "timeout"}, {State: "pending"}}}
	if s, _ := r.State(); s != header.StatePending {
		t.Errorf("terminated+pending = %s", s)
	}
	r.Instances = append(r.Instances, Instance{State: "active"})
	if s, _ := r.State(); s != header.StateActive {
		t.Errorf("+active = %s", s)
	}
	if s, _ := (Resource{}).State(); s != header.StatePending {
		t.Errorf("no instance yet = %s, want pending", s)
	}
	if s, reason := (Resource{Instances: []Instance{{State: "terminated", Reason: "rejected"}}}).State(); s != header.StateTerminated || reason != "rejected" {
		t.Errorf("terminated = %s %s", s, reason)
	}
}

// TestParseKamailio: Kamailio 5.6 rls's first NOTIFY (full state, bare
// resources) and the partial one with a member's PIDF, as captured from
// the harness.
func TestParseKamailio(t *testing.T) {
	ct, body := readSample(t, "kamailio-full")
	l, err := Parse(ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if !l.FullState || l.Version != 1 || len(l.Resources) != 2 {
		t.Fatalf("full state: %+v", l)
	}
	for _, r := range l.Resources {
		if st, _ := r.State(); st != "pending" || len(r.Instances) != 0 {
			t.Errorf("bare resource %s: state %s, %d instances", r.URI, st, len(r.Instances))
		}
	}
	ct, body = readSample(t, "kamailio-partial")
	if l, err = Parse(ct, body); err != nil {
		t.Fatal(err)
	}
	if l.FullState || l.Version != 2 || len(l.Resources) != 1 {
		t.Fatalf("partial state: %+v", l)
	}
	r := l.Resources[0]
	if st, _ := r.State(); st != "active" || len(r.Parts) != 1 || r.Parts[0].ContentType != "application/pidf+xml" || !strings.Contains(string(r.Parts[0].Body), "dumping") {
		t.Errorf("bob's resource: %+v", r)
	}
}
