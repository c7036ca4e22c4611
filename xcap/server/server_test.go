package server

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

func quoted(t *testing.T, etag string) string {
	t.Helper()
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q is not a quoted strong etag", etag)
	}
	return etag[1 : len(etag)-1]
}

func TestDocumentLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.alice, "GET", aliceRL, nil)
	e.want(r, 404, "GET before PUT")

	r = e.do(e.alice, "PUT", aliceRL, resourceLists("bob"), "Content-Type", ctRL)
	e.want(r, 201, "create")
	etag1 := quoted(t, r.etag())

	r = e.do(e.alice, "GET", aliceRL, nil)
	e.want(r, 200, "GET")
	if ct := r.header.Get("Content-Type"); ct != ctRL {
		t.Fatalf("Content-Type %q", ct)
	}
	if quoted(t, r.etag()) != etag1 || !bytes.Equal(r.body, resourceLists("bob")) {
		t.Fatalf("GET returned etag %s body %q", r.etag(), r.body)
	}

	r = e.do(e.alice, "PUT", aliceRL, resourceLists("bob", "carol"), "Content-Type", ctRL+"; charset=UTF-8")
	e.want(r, 200, "replace (Content-Type with parameter)")
	etag2 := quoted(t, r.etag())
	if etag2 == etag1 {
		t.Fatal("replace kept the ETag")
	}

	r = e.do(e.alice, "DELETE", aliceRL, nil)
	e.want(r, 200, "DELETE")
	e.want(e.do(e.alice, "GET", aliceRL, nil), 404, "GET after DELETE")
	e.want(e.do(e.alice, "DELETE", aliceRL, nil), 404, "DELETE of a missing document")

	e.mu.Lock()
	defer e.mu.Unlock()
	want := store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}
	if len(e.changes) != 3 || e.changes[0] != want || e.changes[2] != want {
		t.Fatalf("OnChange calls: %+v", e.changes)
	}
}

func TestConditionalRequests(t *testing.T) {
	e := newEnv(t)
	doc := resourceLists("bob")
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-Match", "*"), 412, "If-Match * on a missing doc")
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-Match", `"abc"`), 412, "If-Match on a missing doc")
	r := e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-None-Match", "*")
	e.want(r, 201, "create-only PUT")
	etag := quoted(t, r.etag())
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-None-Match", "*"), 412, "create-only PUT on an existing doc")
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-Match", `"nope"`), 412, "If-Match mismatch")

	// GET validation: quoted, bare (Blink) and * all give 304 with the ETag.
	for _, inm := range []string{`"` + etag + `"`, etag, "*", `"x", "` + etag + `"`, `W/"` + etag + `"`} {
		r := e.do(e.alice, "GET", aliceRL, nil, "If-None-Match", inm)
		e.want(r, 304, "GET If-None-Match "+inm)
		if quoted(t, r.etag()) != etag || len(r.body) != 0 {
			t.Fatalf("304 with etag %q body %q", r.etag(), r.body)
		}
	}
	e.want(e.do(e.alice, "GET", aliceRL, nil, "If-None-Match", `"other"`), 200, "GET If-None-Match other etag")
	e.want(e.do(e.alice, "GET", aliceRL, nil, "If-Match", `"other"`), 412, "GET If-Match other etag")
	e.want(e.do(e.alice, "GET", aliceRL, nil, "If-Match", etag), 200, "GET If-Match bare etag")

	r = e.do(e.alice, "PUT", aliceRL, resourceLists("carol"), "Content-Type", ctRL, "If-Match", etag)
	e.want(r, 200, "PUT If-Match bare etag")
	etag2 := quoted(t, r.etag())
	r = e.do(e.alice, "PUT", aliceRL, resourceLists("dave"), "Content-Type", ctRL, "If-Match", `"`+etag2+`"`)
	e.want(r, 200, "PUT If-Match quoted etag")
	etag3 := quoted(t, r.etag())
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL, "If-Match", "*"), 200, "PUT If-Match *")

	e.want(e.do(e.alice, "DELETE", aliceRL, nil, "If-Match", `"`+etag3+`"`), 412, "DELETE with a stale etag")
	cur := quoted(t, e.do(e.alice, "GET", aliceRL, nil).etag())
	e.want(e.do(e.alice, "DELETE", aliceRL, nil, "If-None-Match", cur), 412, "DELETE If-None-Match current")
	e.want(e.do(e.alice, "DELETE", aliceRL, nil, "If-Match", `"`+cur+`"`), 200, "DELETE If-Match current")
	e.want(e.do(e.alice, "DELETE", aliceRL, nil, "If-Match", "*"), 412, "DELETE If-Match * of a missing doc")

	// Failed conditional writes are not changes.
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.changes) != 5 {
		t.Fatalf("OnChange called %d times, want 5 (create, 3 replaces, delete)", len(e.changes))
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	doc := resourceLists("x")
	e.want(e.do(e.alice, "PUT", aliceRL, doc, "Content-Type", ctRL), 201, "alice creates her list")
	e.want(e.do(e.bob, "PUT", bobRL, doc, "Content-Type", ctRL), 201, "bob creates his list")

	for _, c := range []struct {
		who    string
		client *http.Client
		path   string
		code   map[string]int
	}{
		{"alice", e.alice, aliceRL, map[string]int{"GET": 200, "PUT": 200, "DELETE": 200}},
		{"alice", e.alice, bobRL, map[string]int{"GET": 403, "PUT": 403, "DELETE": 403}},
		{"bob", e.bob, aliceRL, map[string]int{"GET": 403, "PUT": 403, "DELETE": 403}},
		{"anonymous", e.anon, aliceRL, map[string]int{"GET": 401, "PUT": 401, "DELETE": 401}},
	} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			var body []byte
			if m == "PUT" {
				body = doc
			}
			r := e.do(c.client, m, c.path, body, "Content-Type", ctRL)
			e.want(r, c.code[m], c.who+" "+m+" "+c.path)
			if r.code == 401 {
				ch, err := digest.ParseChallenge(r.header.Get("WWW-Authenticate"))
				if err != nil || ch.Realm != testDomain || len(ch.QOP) != 1 || ch.QOP[0] != "auth" || ch.Stale {
					t.Fatalf("challenge %q: %+v %v", r.header.Get("WWW-Authenticate"), ch, err)
				}
			}
		}
	}
	// Bob's document is untouched by alice's attempts.
	if r := e.do(e.bob, "GET", bobRL, nil); r.code != 200 || !bytes.Equal(r.body, doc) {
		t.Fatalf("bob's list after alice's attempts: %d %q", r.code, r.body)
	}

	wrong := &http.Client{Transport: &digest.Transport{Username: "alice", Password: "wrong"}}
	e.want(e.do(wrong, "GET", aliceRL, nil), 401, "wrong password")
	unknown := &http.Client{Transport: &digest.Transport{Username: "mallory", Password: "x"}}
	e.want(e.do(unknown, "GET", aliceRL, nil), 401, "unknown user")
	full := &http.Client{Transport: &digest.Transport{Username: "alice@example.test", Password: "secret"}}
	e.want(e.do(full, "PUT", aliceRL, doc, "Content-Type", ctRL), 201, "username alice@example.test (alice deleted her list above)")
}

// answer computes an Authorization header for one request from a 401.
func answer(t *testing.T, e *env, method, path, user, password string, nc int) string {
	t.Helper()
	r := e.do(e.anon, method, path, nil)
	e.want(r, 401, "challenge")
	ch, err := digest.ParseChallenge(r.header.Get("WWW-Authenticate"))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(ch, digest.Options{Method: method, URI: "/xcap-root" + path, Username: user, Password: password, Count: nc, Cnonce: "0a4f113b"})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestReplayedNonceCountIsRejected(t *testing.T) {
	e := newEnv(t)
	auth := answer(t, e, "GET", aliceRL, "alice", "secret", 1)
	e.want(e.do(e.anon, "GET", aliceRL, nil, "Authorization", auth), 404, "first use of the credentials")
	r := e.do(e.anon, "GET", aliceRL, nil, "Authorization", auth)
	e.want(r, 401, "replayed credentials")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without a fresh challenge")
	}
	// Credentials for GET do not authorize a DELETE.
	auth = answer(t, e, "GET", aliceRL, "alice", "secret", 1)
	e.want(e.do(e.anon, "DELETE", aliceRL, nil, "Authorization", auth), 401, "credentials computed for another method")
}

func TestExpiredNonceIsStale(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.NonceTTL = time.Millisecond })
	auth := answer(t, e, "GET", aliceRL, "alice", "secret", 1)
	time.Sleep(20 * time.Millisecond) // let the nonce expire (not a timing assertion)
	r := e.do(e.anon, "GET", aliceRL, nil, "Authorization", auth)
	e.want(r, 401, "expired nonce")
	ch, err := digest.ParseChallenge(r.header.Get("WWW-Authenticate"))
	if err != nil || !ch.Stale {
		t.Fatalf("challenge after an expired nonce: %q (%v), want stale=true", r.header.Get("WWW-Authenticate"), err)
	}
	wrong := answer(t, e, "GET", aliceRL, "alice", "nope", 1)
	time.Sleep(20 * time.Millisecond)
	r = e.do(e.anon, "GET", aliceRL, nil, "Authorization", wrong)
	ch, _ = digest.ParseChallenge(r.header.Get("WWW-Authenticate"))
	if r.code != 401 || ch == nil || ch.Stale {
		t.Fatalf("wrong password with an expired nonce: %d %q, want 401 without stale", r.code, r.header.Get("WWW-Authenticate"))
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.alice, "POST", aliceRL, resourceLists(), "Content-Type", ctRL)
	e.want(r, 405, "POST")
	if a := r.header.Get("Allow"); a != "GET, HEAD, PUT, DELETE" {
		t.Fatalf("Allow %q", a)
	}
	for _, p := range []string{"/xcap-caps/global/index", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index"} {
		for _, m := range []string{"PUT", "DELETE"} {
			r := e.do(e.alice, m, p, []byte("<x/>"), "Content-Type", "application/xcap-caps+xml")
			e.want(r, 405, m+" "+p)
			if a := r.header.Get("Allow"); a != "GET, HEAD" {
				t.Fatalf("%s %s: Allow %q", m, p, a)
			}
		}
	}
	e.want(e.do(e.alice, "GET", "/no-such-auid/users/sip:alice@example.test/index", nil), 404, "unknown AUID")
	e.want(e.do(e.alice, "GET", "/resource-lists/elsewhere/sip:alice@example.test/index", nil), 400, "neither users nor global")
	e.want(e.do(e.alice, "GET", "/resource-lists/users/sip:alice@example.test/a/../index", nil), 400, "dot-dot segment")
	e.want(e.do(e.alice, "GET", "/resource-lists/global/index", nil), 404, "global resource-lists")
	e.want(e.do(e.anon, "GET", "/xcap-caps/global/other", nil), 404, "caps document other than index")

	r = e.do(e.alice, "PUT", aliceRL, resourceLists(), "Content-Type", "application/xml")
	e.want(r, 415, "wrong Content-Type")
	e.want(e.do(e.alice, "PUT", aliceRL, resourceLists()), 415, "no Content-Type")
	e.want(e.do(e.alice, "PUT", aliceIcon, iconDoc("image/png", pngImage(t, 8, 8)), "Content-Type", ctRL), 415, "resource-lists type on pres-content")

	big := append(append([]byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><!--`),
		bytes.Repeat([]byte("x"), MaxDocumentSize)...), []byte(`--></resource-lists>`)...)
	e.want(e.do(e.alice, "PUT", aliceRL, big, "Content-Type", ctRL), 413, "document over MaxDocumentSize")
	e.want(e.do(e.alice, "GET", aliceRL, nil), 404, "nothing stored by the 413")

	// 409 bodies.
	for _, c := range []struct {
		name, body, tag string
	}{
		{"not XML", "\x89PNG not xml", "not-well-formed"},
		{"unclosed", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">`, "not-well-formed"},
		{"two roots", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/><x/>`, "not-well-formed"},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, "not-well-formed"},
		{"duplicate attribute", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a" name="b"/></resource-lists>`, "not-well-formed"},
		{"same attribute by two prefixes", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:p="urn:x" xmlns:q="urn:x"><list p:n="a" q:n="b"/></resource-lists>`, "not-well-formed"},
		{"too many nodes", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">` + strings.Repeat("<!---->x", MaxXMLNodes/2) + `</resource-lists>`, "not-well-formed"},
		// issue 11: 150,000 duplicate attributes (900 KB) were stored as well-formed.
		{"150,000 duplicate attributes", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list` + strings.Repeat(` a="1"`, 150_000) + `/></resource-lists>`, "not-well-formed"},
		{"latin-1 bytes", "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\xe9</resource-lists>", "not-utf-8"},
		{"declared latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, "not-utf-8"},
		{"wrong root", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>`, "schema-validation-error"},
		{"wrong namespace", `<resource-lists xmlns="urn:example"/>`, "schema-validation-error"},
	} {
		tag, phrase := xcapErr(t, e.do(e.alice, "PUT", aliceRL, []byte(c.body), "Content-Type", ctRL))
		if tag != c.tag || phrase == "" {
			t.Errorf("%s: <%s phrase=%q>, want <%s> with a phrase", c.name, tag, phrase, c.tag)
		}
	}
	e.want(e.do(e.alice, "GET", aliceRL, nil), 404, "nothing stored by the 409s")

	// Each AUID checks its own root.
	for _, c := range []struct{ path, ct, body string }{
		{"/pres-rules/users/sip:alice@example.test/index", "application/auth-policy+xml", `<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>`},
		{"/org.openmobilealliance.pres-rules/users/sip:alice@example.test/pres-rules", "application/auth-policy+xml", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>`},
		{"/rls-services/users/sip:alice@example.test/index", "application/rls-services+xml", `<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"/>`},
		{"/pidf-manipulation/users/sip:alice@example.test/index", "application/pidf+xml", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"/>`},
	} {
		e.want(e.do(e.alice, "PUT", c.path, []byte(c.body), "Content-Type", c.ct), 201, "PUT "+c.path)
		r := e.do(e.alice, "GET", c.path, nil)
		if r.code != 200 || r.header.Get("Content-Type") != c.ct || string(r.body) != c.body {
			t.Fatalf("GET %s: %d %q %q", c.path, r.code, r.header.Get("Content-Type"), r.body)
		}
		tag, _ := xcapErr(t, e.do(e.alice, "PUT", c.path, resourceLists(), "Content-Type", c.ct))
		if tag != "schema-validation-error" {
			t.Fatalf("resource-lists root on %s: %s", c.path, tag)
		}
	}
}

func TestXUIRawAndPercentEncodedAreTheSameDocument(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.alice, "PUT", aliceRL, resourceLists("a"), "Content-Type", ctRL)
	e.want(r, 201, "PUT raw XUI")
	for _, p := range []string{
		"/resource-lists/users/sip%3Aalice%40example.test/index",
		"/resource-lists/users/sip%3aalice%40EXAMPLE.test/index",
		"/resource-lists/users/alice@example.test/index",
		"/resource-lists/users/alice/index",
		"/resource-lists/users/sip:alice@example.test/%69ndex",
	} {
		g := e.do(e.alice, "GET", p, nil)
		if g.code != 200 || g.etag() != r.etag() {
			t.Fatalf("GET %s: %d etag %s, want 200 %s", p, g.code, g.etag(), r.etag())
		}
	}
	r = e.do(e.alice, "PUT", "/resource-lists/users/sip%3Aalice%40example.test/index", resourceLists("b"), "Content-Type", ctRL)
	e.want(r, 200, "PUT with the encoded XUI replaces the same document")
}

func TestCaps(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.anon, "GET", "/xcap-caps/global/index", nil)
	e.want(r, 200, "anonymous caps")
	if ct := r.header.Get("Content-Type"); ct != "application/xcap-caps+xml" {
		t.Fatalf("caps Content-Type %q", ct)
	}
	var caps struct {
		XMLName    xml.Name `xml:"urn:ietf:params:xml:ns:xcap-caps xcap-caps"`
		AUIDs      []string `xml:"auids>auid"`
		Namespaces []string `xml:"namespaces>namespace"`
	}
	if err := xml.Unmarshal(r.body, &caps); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(caps.AUIDs, " ")
	for _, a := range AUIDs() {
		if !strings.Contains(" "+got+" ", " "+a+" ") {
			t.Errorf("caps lacks AUID %s: %s", a, got)
		}
	}
	for _, a := range []string{"oma_status-icon", "org.openmobilealliance.pres-content", "resource-lists", "rls-services", "org.openmobilealliance.pres-rules"} {
		if !strings.Contains(" "+got+" ", " "+a+" ") {
			t.Errorf("caps lacks %s", a)
		}
	}
	ns := strings.Join(caps.Namespaces, " ")
	for _, n := range []string{"urn:ietf:params:xml:ns:resource-lists", "urn:ietf:params:xml:ns:pres-rules", "urn:oma:xml:prs:pres-content"} {
		if !strings.Contains(ns, n) {
			t.Errorf("caps lacks namespace %s", n)
		}
	}
	e.want(e.do(e.anon, "GET", "/xcap-caps/global/index", nil, "If-None-Match", r.etag()), 304, "caps revalidation")
	el := e.do(e.anon, "GET", `/xcap-caps/global/index/~~/xcap-caps/auids/auid[1]`, nil)
	if el.code != 200 || string(el.body) != `<auid xmlns="urn:ietf:params:xml:ns:xcap-caps">xcap-caps</auid>` {
		t.Fatalf("caps element GET: %d %q", el.code, el.body)
	}
}

func TestNodesSharingANonceSecret(t *testing.T) {
	secret := func(o *Options) { o.NonceSecret = []byte("shared by both nodes") }
	a, b, c := newEnv(t, secret), newEnv(t, secret), newEnv(t)
	auth := answer(t, a, "GET", aliceRL, "alice", "secret", 1)
	b.want(b.do(b.anon, "GET", aliceRL, nil, "Authorization", auth), 404, "node b, a's nonce, same secret (authorized, no document)")
	r := c.do(c.anon, "GET", aliceRL, nil, "Authorization", auth)
	c.want(r, 401, "node c, a's nonce, its own secret")
	if ch, err := digest.ParseChallenge(r.header.Get("WWW-Authenticate")); err != nil || !ch.Stale {
		t.Fatalf("challenge for a foreign nonce: %q (%v), want stale=true so the client retries silently", r.header.Get("WWW-Authenticate"), err)
	}
}
