package xcapdiff

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// parseTestdata parses testdata/name, failing the test if it cannot.
func parseTestdata(t *testing.T, name string) *Diff {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func TestParseRFC5874(t *testing.T) {
	d := parseTestdata(t, "rfc5874.xml")
	if d.XCAPRoot != "http://xcap.example.com/root/" || len(d.Documents) != 3 || len(d.Elements) != 1 || len(d.Attributes) != 1 {
		t.Fatalf("%+v", d)
	}
	rls, lists, icon := d.Documents[0], d.Documents[1], d.Documents[2]
	if rls.AUID() != "rls-services" || rls.PreviousETag != "6" || rls.NewETag != "7" || !rls.BodyNotChanged || rls.Deleted() {
		t.Errorf("rls-services change %+v", rls)
	}
	if lists.AUID() != "resource-lists" || !lists.Deleted() || lists.PreviousETag != "sr-1-2" {
		t.Errorf("resource-lists change %+v", lists)
	}
	if icon.AUID() != "org.openmobilealliance.pres-content" || !icon.Patched || icon.PreviousETag != "" {
		t.Errorf("icon change %+v", icon)
	}
	if d.Elements[0].Exists || !d.Attributes[0].Exists || d.Attributes[0].Value != "friends" {
		t.Errorf("nodes %+v %+v", d.Elements, d.Attributes)
	}
}

// Kamailio's own notifier (the shared peer's cfg) writes one line, default
// namespace.
func TestParseKamailio(t *testing.T) {
	d := parseTestdata(t, "kamailio.xml")
	if len(d.Documents) != 1 || d.Documents[0].NewETag != "sr-1796191422-9856-2" || d.Documents[0].PreviousETag != "sr-1796191422-9856-1" {
		t.Errorf("%+v", d.Documents)
	}
}

func TestAppendRoundTrip(t *testing.T) {
	in := &Diff{XCAPRoot: "http://127.0.0.1:8080/xcap-root", Documents: []DocumentChange{
		{Sel: "resource-lists/users/sip:a@x/index", PreviousETag: `"e1"`, NewETag: `"e2"`},
		{Sel: "pres-rules/users/sip:a@x/index", PreviousETag: "p&1"},
		{Sel: "rls-services/users/sip:a@x/index", NewETag: "n1", BodyNotChanged: true},
	}, Elements: []NodeChange{{Sel: "x/y", Exists: false}}, Attributes: []NodeChange{{Sel: "x/@a", Exists: true, Value: "<v>"}}}
	out, err := Parse(in.Append(nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, in.Append(nil))
	}
	if fmt.Sprintf("%+v", out) != fmt.Sprintf("%+v", in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"wrong root", `<x xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="r"/>`, "not <xcap-diff>"},
		{"wrong namespace", `<xcap-diff xmlns="urn:x" xcap-root="r"/>`, "not <xcap-diff>"},
		{"no root URL", `<xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff"/>`, "no xcap-root"},
		{"no sel", `<xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="r"><document new-etag="1"/></xcap-diff>`, "has no sel"},
		{"no etags", `<xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="r"><document sel="a/b"/></xcap-diff>`, "neither previous-etag nor new-etag"},
		{"bad exists", `<xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="r"><element sel="a" exists="maybe"/></xcap-diff>`, "is not 0 or 1"},
		{"not XML", `<xcap-diff`, "not a valid xcap-diff document"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed with %q", tc.name, err, tc.want)
		}
	}
	var b strings.Builder
	b.WriteString(`<xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="r">`)
	for i := range MaxChanges + 1 {
		fmt.Fprintf(&b, `<document sel="a/%d" new-etag="1"/>`, i)
	}
	b.WriteString(`</xcap-diff>`)
	var le *xmltree.LimitError
	if _, err := Parse([]byte(b.String())); !errors.As(err, &le) {
		t.Errorf("%d changes: %v, want a LimitError", MaxChanges+1, err)
	}
}

// FuzzParse: never a panic, and an accepted document writes back to one
// that parses the same.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc5874.xml", "kamailio.xml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(d.Append(nil))
		if err != nil {
			t.Fatalf("written back, it does not parse: %v", err)
		}
		for i := range d.Documents {
			d.Documents[i].Patched = false // patches are not written
		}
		if fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", d) {
			t.Fatalf("round trip changed it:\n%+v\n%+v", d, again)
		}
	})
}
