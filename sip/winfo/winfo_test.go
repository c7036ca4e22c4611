package winfo

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// kamailioWinfo is the body Kamailio 5.6 sends (peers/README.md).
const kamailioWinfo = `<?xml version="1.0"?>
<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="1" state="full">
  <watcher-list resource="sip:alice@example.test" package="presence">
    <watcher id="1-5971@127.0.0.1" event="subscribe" status="active">sip:bob@example.test</watcher>
  </watcher-list>
</watcherinfo>
`

const prefixedWinfo = `<?xml version="1.0" encoding="UTF-8"?>
<w:watcherinfo xmlns:w="urn:ietf:params:xml:ns:watcherinfo" xmlns:x="urn:example:ext" version="7" state="partial">
  <w:watcher-list resource="sip:alice@example.test" package="presence">
    <w:watcher id="w1" status="waiting" event="subscribe" display-name="Bob &amp; Co" expiration="3600" duration-subscribed="12" x:foo="bar">
      sip:bob@example.test
    </w:watcher>
    <x:unknown><w:watcher id="hidden" status="active" event="approved">sip:nobody@example.test</w:watcher></x:unknown>
    <w:watcher id="w2" status="Terminated" event="REJECTED">sip:mallory@example.test</w:watcher>
  </w:watcher-list>
  <w:watcher-list resource="sip:alice@example.test" package="dialog">
    <w:watcher id="w3" status="pending" event="subscribe">sip:carol@example.test</w:watcher>
  </w:watcher-list>
</w:watcherinfo>`

func TestParseKamailio(t *testing.T) {
	i, err := Parse([]byte(kamailioWinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := &Info{Resource: "sip:alice@example.test", Package: "presence", Version: 1, Full: true, Watchers: []Watcher{
		{ID: "1-5971@127.0.0.1", URI: "sip:bob@example.test", Status: "active", Event: "subscribe", Resource: "sip:alice@example.test", Package: "presence"},
	}}
	if !reflect.DeepEqual(i, want) {
		t.Errorf("got %+v\nwant %+v", i, want)
	}
	if i.Watchers[0].Pending() {
		t.Errorf("active watcher reported pending")
	}
}

func TestParsePrefixedPartial(t *testing.T) {
	i, err := Parse([]byte(prefixedWinfo))
	if err != nil {
		t.Fatal(err)
	}
	if i.Full || i.Version != 7 || len(i.Watchers) != 3 {
		t.Fatalf("got %+v", i)
	}
	w := i.Watchers[0]
	if w.ID != "w1" || w.URI != "sip:bob@example.test" || w.DisplayName != "Bob & Co" || w.Expiration != 3600 || w.DurationSubscribed != 12 || !w.Pending() {
		t.Errorf("watcher 0 = %+v", w)
	}
	if w := i.Watchers[1]; w.Status != StatusTerminated || w.Event != "rejected" || w.Pending() {
		t.Errorf("watcher 1 = %+v", w)
	}
	if w := i.Watchers[2]; w.Package != "dialog" || !w.Pending() {
		t.Errorf("watcher 2 = %+v", w)
	}
}

func TestParseErrors(t *testing.T) {
	big := `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full"><watcher-list resource="r" package="presence">` +
		strings.Repeat(`<watcher id="a" status="active" event="subscribe">sip:a@b</watcher>`, MaxWatchers+1) + `</watcher-list></watcherinfo>`
	tests := map[string]struct {
		doc  string
		want error
	}{
		"empty":          {"", ErrEmpty},
		"not xml":        {"hello", ErrMalformed},
		"pidf":           {`<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, ErrMalformed},
		"no version":     {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" state="full"/>`, ErrMalformed},
		"bad version":    {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="-1" state="full"/>`, ErrMalformed},
		"huge version":   {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="99999999999999999999" state="full"/>`, ErrMalformed},
		"bad state":      {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="1" state="some"/>`, ErrMalformed},
		"bad expiration": {strings.Replace(kamailioWinfo, `status="active"`, `status="active" expiration="1h"`, 1), ErrMalformed},
		"no uri":         {strings.Replace(kamailioWinfo, `sip:bob@example.test</watcher>`, `</watcher>`, 1), ErrMalformed},
		"truncated":      {kamailioWinfo[:len(kamailioWinfo)-20], ErrMalformed},
		"dup attribute":  {strings.Replace(kamailioWinfo, `status="active"`, `status="active" status="pending"`, 1), ErrMalformed},
	}
	for name, tt := range tests {
		if _, err := Parse([]byte(tt.doc)); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", name, err, tt.want)
		}
	}
	foreign := `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full">` + strings.Repeat(`<x/>`, maxElements) + `</watcherinfo>`
	for name, tt := range map[string]struct{ doc, what string }{
		"too many":      {big, WhatWatchers},
		"too big":       {strings.Repeat(" ", MaxDocumentSize+1), xmltree.WhatSize},
		"too deep":      {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="1" state="full">` + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + `</watcherinfo>`, xmltree.WhatDepth},
		"many elements": {foreign, xmltree.WhatElements},
		"many nodes":    {`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full">` + strings.Repeat("<!---->x", maxNodes/2) + `</watcherinfo>`, xmltree.WhatNodes},
	} {
		var le *xmltree.LimitError
		if _, err := Parse([]byte(tt.doc)); !errors.As(err, &le) || le.What != tt.what {
			t.Errorf("%s: error %v, want the %s limit", name, err, tt.what)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	in := Info{Resource: "sip:alice@example.test", Version: 3, Full: true, Watchers: []Watcher{
		{ID: "c1@host", URI: "sip:bob@example.test", Status: StatusPending, Event: "subscribe", DisplayName: `Bob "the <builder>"`, Expiration: 600},
		{ID: "c2", URI: "sip:carol@example.test", Status: StatusActive, Event: "approved", DurationSubscribed: 30},
		{ID: "c3", URI: "sip:dave@example.test", Status: StatusPending, Event: "subscribe", Package: "dialog"},
	}}
	doc := Encode(in)
	if !bytes.Contains(doc, []byte(`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="3" state="full">`)) {
		t.Errorf("root:\n%s", doc)
	}
	out, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(Encode): %v\n%s", err, doc)
	}
	want := in
	want.Package = "presence"
	want.Watchers = append([]Watcher(nil), in.Watchers...)
	for k := range want.Watchers {
		want.Watchers[k].Resource = in.Resource
		if want.Watchers[k].Package == "" {
			want.Watchers[k].Package = "presence"
		}
	}
	if !reflect.DeepEqual(*out, want) {
		t.Errorf("round trip\n got %+v\nwant %+v\n%s", *out, want, doc)
	}
	if n := bytes.Count(doc, []byte("<watcher-list")); n != 2 {
		t.Errorf("%d watcher lists, want 2 (presence, dialog)", n)
	}
	empty, err := Parse(Encode(Info{Resource: "sip:a@x", Version: 0, Full: true}))
	if err != nil || len(empty.Watchers) != 0 || empty.Resource != "sip:a@x" {
		t.Errorf("empty list: %+v, %v", empty, err)
	}
}

func TestMerge(t *testing.T) {
	full := &Info{Version: 1, Full: true, Watchers: []Watcher{{ID: "a", URI: "sip:a@x", Status: "pending"}}}
	cur, err := Merge(nil, full)
	if err != nil || cur != full {
		t.Fatalf("full into nil: %v", err)
	}
	p2 := &Info{Version: 2, Watchers: []Watcher{{ID: "a", URI: "sip:a@x", Status: "active"}, {ID: "b", URI: "sip:b@x", Status: "waiting"}}}
	cur, err = Merge(cur, p2)
	if err != nil || cur.Version != 2 || len(cur.Watchers) != 2 || cur.Watchers[0].Status != "active" || !cur.Watchers[1].Pending() {
		t.Fatalf("partial merge: %+v %v", cur, err)
	}
	if full.Watchers[0].Status != "pending" {
		t.Errorf("Merge modified its input")
	}
	if again, err := Merge(cur, p2); err != nil || again != cur {
		t.Errorf("repeated partial not ignored: %v", err)
	}
	if _, err := Merge(cur, &Info{Version: 5}); !errors.Is(err, ErrVersionGap) {
		t.Errorf("gap: %v", err)
	}
	if _, err := Merge(nil, &Info{Version: 5}); !errors.Is(err, ErrVersionGap) {
		t.Errorf("partial without state: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(kamailioWinfo))
	f.Add([]byte(prefixedWinfo))
	f.Fuzz(func(t *testing.T, data []byte) {
		i, err := Parse(data)
		if err != nil {
			return
		}
		doc := Encode(*i)
		j, err := Parse(doc)
		if err != nil {
			t.Fatalf("Encode output does not parse: %v\n%s", err, doc)
		}
		if len(j.Watchers) != len(i.Watchers) || j.Version != i.Version || j.Full != i.Full {
			t.Fatalf("round trip changed the document: %+v -> %+v", i, j)
		}
	})
}

func TestParseByteOrderMark(t *testing.T) {
	if _, err := Parse([]byte("\xef\xbb\xbf" + kamailioWinfo)); err != nil {
		t.Fatal(err)
	}
}
