package rlmi

import (
	"strings"
	"testing"
)

// FuzzParse feeds Parse hostile bodies: it must never panic, and what it
// accepts must survive Encode and Parse again with the same resources.
func FuzzParse(f *testing.F) {
	ct, body := readSample(f, "rfc4662")
	f.Add(ct, body)
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
