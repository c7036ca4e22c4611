package server

import (
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// FuzzParseURI: the parser never panics, and a parsed document selector
// written back with documentURL parses to the same URI.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"/resource-lists/users/sip:alice@example.test/index",
		"/resource-lists/users/sip%3Aalice%40example.test/index",
		"/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index",
		"/oma_status-icon/users/alice/UsRfcDxIAMgGYj8zuXOH.png",
		"/xcap-caps/global/index",
		`/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index/~~/xcap-directory/folder[@auid="oma_status-icon"]`,
		"/resource-lists/users/sip:a@b/index/%7E%7E/resource-lists/list%5B1%5D",
		"/resource-lists/users/tel:+123/index",
		"/a/users/sip:x@y/b/../c",
		"/a/users//index",
		"/a/global/~~",
		"/%zz/users/x/y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := ParseURI(p, "example.test")
		if err != nil {
			return
		}
		if u.AUID == "" || u.Document == "" || (!u.Global && u.XUI == "") {
			t.Fatalf("%q parsed to an incomplete URI %+v", p, u)
		}
		for _, seg := range strings.Split(u.Document, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q: document path %q has segment %q", p, u.Document, seg)
			}
		}
		if u.HasNodeSelector || strings.Contains(u.AUID, "/") {
			return
		}
		k := store.Key{AUID: u.AUID, Global: u.Global, User: u.XUI, Path: u.Document}
		back := documentURL("", k)
		u2, err := ParseURI(back, "example.test")
		if err != nil {
			t.Fatalf("%q → %+v → %q does not parse: %v", p, u, back, err)
		}
		if u2 != u {
			t.Fatalf("%q → %+v → %q → %+v", p, u, back, u2)
		}
	})
}

const fuzzDoc = `<?xml version="1.0"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns="urn:x">
 <rl:list name="a"><rl:entry uri="sip:b@c"/><e a='1'>t</e></rl:list>
 <rl:list name="b//c"/>
</rl:resource-lists>`

// FuzzNodeSelector: parsing and evaluating a selector never panics, and an
// element it selects is served as a well-formed fragment.
func FuzzNodeSelector(f *testing.F) {
	for _, s := range []string{
		`/resource-lists/list[@name="a"]/entry[1]/@uri`,
		`/rl:resource-lists/rl:list[2][@name='b//c']`,
		`/*/*[1]/e[@a="1"]`,
		`/resource-lists/list[1]/namespace::*`,
		`/resource-lists/list[@name="a&quot;"]`,
		`/resource-lists/list[0]`,
		`/resource-lists//list`,
		`/resource-lists/list[@name="a"`,
		`/@x`,
	} {
		f.Add(s, fuzzDoc)
	}
	f.Add(`/a/b`, `<a xmlns:p="u"><b p:x="1"/></a>`)
	f.Fuzz(func(t *testing.T, sel, doc string) {
		ns, err := ParseNodeSelector(sel)
		if err != nil {
			return
		}
		if len(ns.Steps) == 0 {
			t.Fatalf("%q parsed without steps", sel)
		}
		root, err := parseDocument([]byte(doc))
		if err != nil {
			return
		}
		s, err := selectNode(root, ns, map[string]string{"rl": "urn:ietf:params:xml:ns:resource-lists", "p": "u"})
		if err != nil || s.terminal != TerminalNone {
			return
		}
		frag := elementBytes([]byte(doc), s.elem)
		if _, err := parseDocument(frag); err != nil {
			t.Fatalf("selected element %q of %q is not well-formed: %v", frag, doc, err)
		}
	})
}
