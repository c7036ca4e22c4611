package rlmi

import (
	"strings"
	"testing"
)

// FuzzParse feeds Parse hostile bodies: it must never panic, and what it
// accepts must survive Encode and Parse again with the same resources.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc4662", "kamailio-full", "kamailio-partial"} {
		ct, body := readSample(f, name)
		f.Add(ct, body)
	}
	f.Add(ContentTypeOf("b0undary", "r"), Encode(nil, &List{URI: "sip:l@x", Version: 2, Resources: []Resource{{URI: "sip:a@x", Instances: []Instance{{ID: "1", State: "active", CID: "p"}}, Parts: []Part{{ContentType: "application/pidf+xml", Body: []byte("<presence/>")}}}}}, "b0undary", "r"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		l, err := Parse(ct, body)
		if err != nil {
			return
		}
		const boundary = "fuzz-boundary-7f3a9c2e51d04b88"
		for _, r := range l.Resources {
			for _, p := range r.Parts {
				if strings.Contains(string(p.Body), boundary) {
					return
				}
			}
		}
		again, err := Parse(ContentTypeOf(boundary, "root"), Encode(nil, l, boundary, "root"))
		if err != nil {
			t.Fatalf("re-encoded list does not parse: %v", err)
		}
		if len(again.Resources) != len(l.Resources) || again.Version != l.Version || again.FullState != l.FullState {
			t.Fatalf("round trip changed the list: %d/%d resources", len(again.Resources), len(l.Resources))
		}
	})
}

// FuzzParseRLMI feeds the RLMI document parser alone (what a multipart
// body's root part holds): never a panic, and an accepted list writes
// back to one that parses with the same resources.
func FuzzParseRLMI(f *testing.F) {
	for _, name := range []string{"rfc4662", "kamailio-full", "kamailio-partial"} {
		ct, body := readSample(f, name)
		l, err := Parse(ct, body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(AppendRLMI(nil, l))
	}
	f.Add([]byte(`<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:l@x" version="4294967295" fullState="false"><resource uri="sip:a@x"><instance id="i" state="terminated" reason="noresource"/></resource></list>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseRLMI(data)
		if err != nil {
			return
		}
		again, err := parseRLMI(AppendRLMI(nil, l))
		if err != nil {
			t.Fatalf("written back, it does not parse: %v", err)
		}
		if len(again.Resources) != len(l.Resources) || again.Version != l.Version || again.FullState != l.FullState || again.URI != l.URI {
			t.Fatalf("round trip changed the list: %+v\n%+v", l, again)
		}
	})
}
