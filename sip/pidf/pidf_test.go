package pidf

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// golden is the expected outcome stored next to each testdata/*.xml.
type golden struct {
	State
	Availability string
}

func TestGoldenDocuments(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 golden documents, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(strings.TrimSuffix(f, ".xml") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var want golden
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&want); err != nil {
				t.Fatalf("expected state: %v", err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got.Devices = nil // TestDevices
			if !reflect.DeepEqual(got, want.State) {
				t.Errorf("state\n got %+v\nwant %+v", got, want.State)
			}
			if a := got.Availability().String(); a != want.Availability {
				t.Errorf("availability %q, want %q", a, want.Availability)
			}
		})
	}
}

func TestTupleChoice(t *testing.T) {
	doc := `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:e="urn:ag-projects:xml:ns:pidf" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:a@x">
	<tuple id="a"><status><basic>open</basic></status><c:icon>http://x/a</c:icon><note>open newest</note><timestamp>2025-01-03T00:00:00Z</timestamp></tuple>
	<tuple id="b"><status><basic>closed</basic><e:extended>offline</e:extended></status><c:icon>http://x/b</c:icon><note>extended</note><timestamp>2025-01-01T00:00:00Z</timestamp></tuple>
	<tuple id="c"><status><basic>open</basic></status><note>open older</note><timestamp>2025-01-02T00:00:00Z</timestamp></tuple>
	</presence>`
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// The tuple with an extended status wins even though it is closed and oldest.
	if s.Note != "extended" || s.IconURL != "http://x/b" || s.Basic != BasicClosed || s.Availability() != Offline {
		t.Errorf("got %+v (%v), want the extended tuple", s, s.Availability())
	}
	doc = strings.Replace(doc, `<e:extended>offline</e:extended>`, ``, 1)
	s, err = Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.Note != "open newest" || s.IconURL != "http://x/a" || s.Basic != BasicOpen {
		t.Errorf("got %+v, want the newest open tuple", s)
	}
}

func TestAvailability(t *testing.T) {
	tests := []struct {
		s    State
		want Availability
	}{
		{State{}, Unknown},
		{State{Basic: BasicOpen}, Available},
		{State{Basic: BasicClosed, Activities: []string{"busy"}}, Offline},
		{State{Basic: BasicOpen, Activities: []string{"away"}}, Away},
		{State{Basic: BasicOpen, Activities: []string{"vacation"}}, Away},
		{State{Basic: BasicOpen, Activities: []string{"busy", "on-the-phone"}}, OnThePhone},
		{State{Basic: BasicOpen, Activities: []string{"appointment"}}, Meeting},
		{State{Basic: BasicOpen, Activities: []string{"Busy"}}, Busy},
		{State{Basic: BasicOpen, Activities: []string{"available"}}, Available},
		{State{Activities: []string{"away"}}, Away},
		{State{Activities: []string{"working"}}, Available},
		{State{Basic: BasicOpen, Extended: "away"}, Away},
		{State{Basic: BasicOpen, Extended: "extended-away"}, Away},
		{State{Basic: BasicOpen, Extended: "busy"}, Busy},
		{State{Basic: BasicOpen, Extended: "busy", Activities: []string{"on-the-phone"}}, OnThePhone},
		{State{Basic: BasicOpen, Extended: "available", Activities: []string{"away"}}, Available},
		{State{Basic: BasicOpen, Extended: "offline"}, Offline},
	}
	for _, tt := range tests {
		if got := tt.s.Availability(); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestSplitIconURL(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct{ in, url, hash string }{
		{"http://x/i", "http://x/i", ""},
		{"http://x/i#" + h, "http://x/i", h},
		{"http://x/i#blink-icon" + strings.ToUpper(h), "http://x/i", h},
		{"http://x/i#section", "http://x/i", ""},
		{"http://x/i#" + h[:39], "http://x/i", ""},
		{"  http://x/i  ", "http://x/i", ""},
	}
	for _, tt := range tests {
		u, hash := SplitIconURL(tt.in)
		if u != tt.url || hash != tt.hash {
			t.Errorf("SplitIconURL(%q) = %q, %q; want %q, %q", tt.in, u, hash, tt.url, tt.hash)
		}
	}
}

func TestParseErrors(t *testing.T) {
	var limit *xmltree.LimitError
	deep := strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)
	many := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">` + strings.Repeat("<x/>", MaxElements) + `</presence>`
	big := append([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><note>`), bytes.Repeat([]byte("a"), MaxDocumentSize)...)
	big = append(big, "</note></presence>"...)
	tests := []struct {
		name string
		doc  string
		is   func(error) bool
	}{
		{"empty", "", func(e error) bool { return errors.Is(e, ErrEmpty) }},
		{"blank", " \r\n ", func(e error) bool { return errors.Is(e, ErrEmpty) }},
		{"not xml", "open", func(e error) bool { return errors.Is(e, ErrMalformed) }},
		{"unclosed", `<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple>`, func(e error) bool { return errors.Is(e, ErrMalformed) }},
		{"two roots", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/><presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, func(e error) bool { return errors.Is(e, ErrMalformed) }},
		{"entity bomb", `<!DOCTYPE p [<!ENTITY a "aaaa">]><presence xmlns="urn:ietf:params:xml:ns:pidf">&a;</presence>`, func(e error) bool { return errors.Is(e, ErrMalformed) }},
		{"winfo", `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"/>`, func(e error) bool { return errors.Is(e, ErrNotPIDF) }},
		{"wrong ns", `<presence xmlns="urn:example"/>`, func(e error) bool { return errors.Is(e, ErrNotPIDF) }},
		{"deep", deep, func(e error) bool { return errors.As(e, &limit) && limit.What == xmltree.WhatDepth }},
		{"many", many, func(e error) bool { return errors.As(e, &limit) && limit.What == xmltree.WhatElements }},
		{"nodes", `<presence xmlns="urn:ietf:params:xml:ns:pidf">` + strings.Repeat("<!---->x", MaxNodes/2) + `</presence>`, func(e error) bool { return errors.As(e, &limit) && limit.What == xmltree.WhatNodes }},
		{"big", string(big), func(e error) bool { return errors.As(e, &limit) && limit.What == xmltree.WhatSize }},
		{"duplicate attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x" entity="sip:b@x"/>`, func(e error) bool { return errors.Is(e, ErrMalformed) }},
		{"charset", `<?xml version="1.0" encoding="EBCDIC"?><presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, func(e error) bool { return errors.Is(e, ErrMalformed) }},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc))
		if err == nil || !tt.is(err) {
			t.Errorf("%s: error %v is not the expected kind", tt.name, err)
		}
	}
}

func TestParseLatin1(t *testing.T) {
	doc := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@x\"><tuple id=\"t\"><status><basic>open</basic></status><note>caf\xe9</note></tuple></presence>")
	s, err := Parse(doc)
	if err != nil || s.Note != "café" {
		t.Fatalf("Parse latin-1: %+v, %v", s, err)
	}
}

var testPub = Publication{
	Entity:      "sip:alice@example.test",
	TupleID:     "t-alice",
	PersonID:    "p-alice",
	Contact:     "sip:alice@127.0.0.1:5090;transport=tcp",
	Open:        true,
	Activities:  []string{"on-the-phone", "busy", "Cooking & <baking>"},
	Note:        `Back at 15:00 "sharp" & <soon>`,
	DisplayName: "Alice Ä. Example",
	IconURL:     "http://127.0.0.1:8080/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index",
	IconSHA1:    "89ABCDEF0123456789abcdef0123456789abcdef",
	Timestamp:   time.Date(2025, 6, 1, 12, 30, 45, 123000000, time.FixedZone("CEST", 2*3600)),
}

func TestEncodeRoundTrip(t *testing.T) {
	doc, err := Encode(testPub)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`xmlns="urn:ietf:params:xml:ns:pidf"`, `xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"`,
		`<tuple id="t-alice">`, `<dm:person id="p-alice">`, `<rpid:on-the-phone/>`,
		`<rpid:other>Cooking &amp; &lt;baking&gt;</rpid:other>`,
		`<c:icon>` + testPub.IconURL + `#89abcdef0123456789abcdef0123456789abcdef</c:icon>`,
		`<timestamp>2025-06-01T10:30:45.123Z</timestamp>`, `<dm:timestamp>2025-06-01T10:30:45.123Z</dm:timestamp>`,
	} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("document lacks %s:\n%s", want, doc)
		}
	}
	// Schema order inside the tuple and the person.
	assertOrder(t, doc, `<status>`, `<c:icon>`, `<contact>`, `<note>`, `<timestamp>`, `<dm:person`, `<rpid:activities>`, `<c:icon>`, `<c:display-name>`, `<dm:note>`, `<dm:timestamp>`)
	s, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(Encode): %v\n%s", err, doc)
	}
	want := State{
		Entity: testPub.Entity, Basic: BasicOpen, Activities: []string{"on-the-phone", "busy", "Cooking & <baking>"},
		Note: testPub.Note, DisplayName: testPub.DisplayName, IconURL: testPub.IconURL,
		IconHash: "89abcdef0123456789abcdef0123456789abcdef", Timestamp: testPub.Timestamp.UTC(), Contact: testPub.Contact,
	}
	want.Devices = []Device{{ID: StableID("t", testPub.Entity), Basic: BasicOpen, Activities: want.Activities, Note: testPub.Note, Timestamp: testPub.Timestamp.UTC()}}
	if testPub.TupleID != "" {
		want.Devices[0].ID = testPub.TupleID
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("round trip\n got %+v\nwant %+v", s, want)
	}
	if s.Availability() != OnThePhone {
		t.Errorf("availability %v", s.Availability())
	}
}

func assertOrder(t *testing.T, doc []byte, parts ...string) {
	t.Helper()
	pos := 0
	for _, p := range parts {
		i := bytes.Index(doc[pos:], []byte(p))
		if i < 0 {
			t.Errorf("%q missing or out of order after offset %d in\n%s", p, pos, doc)
			return
		}
		pos += i + len(p)
	}
}

func TestEncodeMinimalAndClosed(t *testing.T) {
	doc, err := Encode(Publication{Entity: "sip:bob@example.test", Timestamp: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if s.Basic != BasicClosed || s.Contact != "sip:bob@example.test" || s.Note != "" || s.IconURL != "" || s.Activities != nil || s.Availability() != Offline {
		t.Errorf("minimal closed publication parsed as %+v", s)
	}
	if bytes.Contains(doc, []byte("activities")) || bytes.Contains(doc, []byte("icon")) {
		t.Errorf("empty fields written:\n%s", doc)
	}
	again, _ := Encode(Publication{Entity: "sip:bob@example.test", Timestamp: time.Unix(0, 0)})
	if !bytes.Equal(doc, again) {
		t.Errorf("derived ids are not stable")
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, p := range map[string]Publication{
		"no entity":     {},
		"numeric id":    {Entity: "sip:a@x", TupleID: "123"},
		"id with space": {Entity: "sip:a@x", PersonID: "p 1"},
		"same ids":      {Entity: "sip:a@x", TupleID: "x", PersonID: "x"},
		"fragment":      {Entity: "sip:a@x", IconURL: "http://x/i#frag"},
		"bad sha":       {Entity: "sip:a@x", IconURL: "http://x/i", IconSHA1: "xyz"},
		"sha no url":    {Entity: "sip:a@x", IconSHA1: strings.Repeat("a", 40)},
		"control char":  {Entity: "sip:a@x", Note: "a\x00b"},
		"bad utf8":      {Entity: "sip:a@x", DisplayName: "a\xffb"},
		"bad activity":  {Entity: "sip:a@x", Activities: []string{"\x01"}},
	} {
		if _, err := Encode(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Encode error %v, want ErrInvalid", name, err)
		}
	}
}

func TestClosed(t *testing.T) {
	doc := Closed(`sip:a&b@example.test`)
	s, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(Closed): %v\n%s", err, doc)
	}
	if s.Entity != "sip:a&b@example.test" || s.Basic != BasicClosed || s.Availability() != Offline {
		t.Errorf("Closed parsed as %+v", s)
	}
	if bytes.Contains(doc, []byte("person")) {
		t.Errorf("closed document has a person:\n%s", doc)
	}
}

func mustEncode(t testing.TB, p Publication) []byte {
	t.Helper()
	doc, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCompose(t *testing.T) {
	newer := mustEncode(t, Publication{Entity: "sip:alice@example.test", TupleID: "t-phone", PersonID: "p-alice", Open: true,
		Activities: []string{"busy"}, Note: "from the phone", Timestamp: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)})
	older := mustEncode(t, Publication{Entity: "sip:alice@example.test", TupleID: "t-laptop", PersonID: "p-alice", Open: true,
		Note: "from the laptop", IconURL: "http://x/icon", Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	blink, err := os.ReadFile("testdata/blink.xml")
	if err != nil {
		t.Fatal(err)
	}
	// A stale copy of the newest publication (same first tuple id) is dropped, like Kamailio does.
	stale := mustEncode(t, Publication{Entity: "sip:alice@example.test", TupleID: "t-phone", Note: "stale", Timestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	doc, err := Compose("sip:alice@example.test", [][]byte{newer, []byte("<broken"), older, stale, blink})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	if bytes.Contains(doc, []byte("stale")) {
		t.Errorf("stale duplicate publication kept:\n%s", doc)
	}
	// Every tuple before every person/device (schema order), ids unique.
	assertOrder(t, doc, `<tuple id="t-phone">`, `<tuple id="t-laptop">`, `<tuple id="SID-`, `<dm:person id="p-alice">`, `<dm:person id="p-alice-2">`, `<dm:person id="PID-`, `<dm:device`)
	if n := bytes.Count(doc, []byte(`id="p-alice"`)); n != 1 {
		t.Errorf("person id p-alice appears %d times", n)
	}
	s, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(Compose): %v\n%s", err, doc)
	}
	// The Blink tuple carries an extended status, so Blink's rule picks it;
	// the person fields come from the first (newest) person.
	if s.Entity != "sip:alice@example.test" || s.Extended != "away" || s.Note != "from the phone" || len(s.Activities) != 1 || s.Activities[0] != "busy" {
		t.Errorf("composed state %+v", s)
	}
	if !strings.Contains(s.IconURL, "oma_status-icon") {
		t.Errorf("icon should come from the chosen (Blink) tuple, got %q", s.IconURL)
	}
	// The caps and agp namespaces of the Blink document survive re-serialisation.
	if !bytes.Contains(doc, []byte(`urn:ietf:params:xml:ns:pidf:caps`)) || !bytes.Contains(doc, []byte(`<caps:audio>true</caps:audio>`)) {
		t.Errorf("foreign content lost:\n%s", doc)
	}
}

func TestComposeRenamesBadAndDuplicateIDs(t *testing.T) {
	a := []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@x">
	<tuple id="1"><status><basic>open</basic></status></tuple><dm:person id="1"/><dm:device id="d"><dm:deviceID>urn:x</dm:deviceID></dm:device></presence>`)
	b := []byte(`<p:presence xmlns:p="urn:ietf:params:xml:ns:cpim-pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@x">
	<p:tuple id="x1"><p:status><p:basic>closed</p:basic></p:status></p:tuple><dm:device id="d"><dm:deviceID>urn:y</dm:deviceID></dm:device></p:presence>`)
	doc, err := Compose("sip:a@x", [][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<tuple id="x1">`, `<dm:person id="x1-2"`, `<dm:device id="d">`, `<tuple id="x1-3">`, `<dm:device id="d-2">`} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("want %s in\n%s", want, doc)
		}
	}
	if bytes.Contains(doc, []byte("cpim-pidf")) {
		t.Errorf("CPIM namespace not normalised:\n%s", doc)
	}
	if _, err := Parse(doc); err != nil {
		t.Fatal(err)
	}
}

func TestComposeLimits(t *testing.T) {
	if _, err := Compose("sip:a@x", nil); !errors.Is(err, ErrNoDocument) {
		t.Errorf("no documents: %v", err)
	}
	if _, err := Compose("sip:a@x", [][]byte{[]byte("junk"), []byte(`<x/>`)}); !errors.Is(err, ErrNoDocument) || !errors.Is(err, ErrMalformed) {
		t.Errorf("only bad documents: %v", err)
	}
	// Each publication is ~10 KiB; only as many as fit in MaxDocumentSize are kept, newest first.
	var docs [][]byte
	for i := range 10 {
		docs = append(docs, mustEncode(t, Publication{Entity: "sip:a@x", TupleID: "t" + strings.Repeat("x", i+1), PersonID: "p" + strings.Repeat("x", i+1),
			Open: true, Note: strings.Repeat("n", 10<<10), Timestamp: time.Unix(int64(1000-i), 0)}))
	}
	doc, err := Compose("sip:a@x", docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > MaxDocumentSize {
		t.Fatalf("composed %d bytes > %d", len(doc), MaxDocumentSize)
	}
	if !bytes.Contains(doc, []byte(`id="tx"`)) || bytes.Contains(doc, []byte(`id="txxxxxxxxxx"`)) {
		t.Errorf("want the newest publications kept and the oldest dropped")
	}
	if _, err := Parse(doc); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(mustEncode(f, testPub))
	f.Add(Closed("sip:a@x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		_ = s.Availability()
		// Whatever parses must also compose into a document that parses.
		doc, err := Compose("sip:fuzz@example.test", [][]byte{data, data})
		if err != nil {
			t.Fatalf("Parse ok but Compose failed: %v", err)
		}
		if _, err := Parse(doc); err != nil {
			t.Fatalf("Compose output does not parse: %v\n%s", err, doc)
		}
		// Re-encoding the derived state gives the same state back.
		if s.Entity == "" || !xmltree.ValidText(s.Entity) {
			return
		}
		p := Publication{Entity: s.Entity, Contact: s.Contact, Open: s.Basic == BasicOpen, Activities: s.Activities,
			Note: s.Note, DisplayName: s.DisplayName, IconURL: s.IconURL, IconSHA1: s.IconHash, Timestamp: s.Timestamp}
		enc, err := Encode(p)
		if err != nil {
			return // e.g. an activity word that is itself empty after trimming
		}
		if _, err := Parse(enc); err != nil {
			t.Fatalf("Encode output does not parse: %v\n%s", err, enc)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/blink.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(testPub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	blink, err := os.ReadFile("testdata/blink.xml")
	if err != nil {
		b.Fatal(err)
	}
	docs := [][]byte{mustEncode(b, testPub), blink}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose("sip:alice@example.test", docs); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseByteOrderMark(t *testing.T) {
	s, err := Parse(append([]byte("\xef\xbb\xbf"), Closed("sip:a@x")...))
	if err != nil || s.Basic != BasicClosed {
		t.Fatalf("BOM: %+v %v", s, err)
	}
}

// Two devices composed as the presence server sends them: each tuple with
// its own person's note and activities, paired by StableID.
func TestDevices(t *testing.T) {
	laptop, err := Encode(Publication{Entity: "sip:alice@example.test", TupleID: StableID("t", "laptop"), PersonID: StableID("p", "laptop"), Open: true, Activities: []string{"away"}, Note: "on the laptop"})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := Encode(Publication{Entity: "sip:alice@example.test", TupleID: StableID("t", "phone"), PersonID: StableID("p", "phone"), Open: true, Note: "on the phone"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Compose("sip:alice@example.test", [][]byte{phone, laptop})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Devices) != 2 {
		t.Fatalf("devices %+v\n%s", s.Devices, doc)
	}
	byID := map[string]Device{}
	for _, d := range s.Devices {
		byID[d.ID] = d
	}
	if d := byID[StableID("t", "laptop")]; d.Note != "on the laptop" || len(d.Activities) != 1 || d.Activities[0] != "away" || d.Basic != BasicOpen {
		t.Errorf("laptop %+v", d)
	}
	if d := byID[StableID("t", "phone")]; d.Note != "on the phone" || len(d.Activities) != 0 {
		t.Errorf("phone %+v", d)
	}
}
