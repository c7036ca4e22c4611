package presrules

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

// composedDoc is protocols.md §5.1's example: allow Bob and Carol,
// politely block Mallory, everyone else pending.
const composedDoc = `<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
  <cp:rule id="allow-buddies">
    <cp:conditions><cp:identity>
      <cp:one id="sip:bob@example.com"/><cp:one id="sip:carol@example.com"/>
    </cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="block-mallory">
    <cp:conditions><cp:identity><cp:one id="sip:mallory@example.com"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>polite-block</pr:sub-handling></cp:actions>
  </cp:rule>
  <cp:rule id="everyone-else">
    <cp:conditions/>
    <cp:actions><pr:sub-handling>confirm</pr:sub-handling></cp:actions>
  </cp:rule>
</cp:ruleset>
`

// omaDoc is shaped like what sipsimple writes (OMA conditions, default
// namespace for pres-rules).
const omaDoc = `<?xml version='1.0' encoding='UTF-8'?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy">
  <cr:rule id="wp_prs_allow_own">
    <cr:conditions><cr:identity><cr:one id="sip:alice@example.test"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_grantedcontacts">
    <cr:conditions><ocp:external-list><ocp:entry anc="http://x/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"/></ocp:external-list></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_blockedcontacts">
    <cr:conditions><ocp:external-list><ocp:entry anc="http://x/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D"/></ocp:external-list></cr:conditions>
    <cr:actions><sub-handling>polite-block</sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_unlisted">
    <cr:conditions><ocp:other-identity/></cr:conditions>
    <cr:actions><sub-handling>confirm</sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_block_anonymous">
    <cr:conditions><ocp:anonymous-request/></cr:conditions>
    <cr:actions><sub-handling>block</sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>
`

func mustParse(t *testing.T, doc string) *Rules {
	t.Helper()
	r, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type decision struct {
	h       Handling
	matched bool
}

func check(t *testing.T, r *Rules, o DecideOptions, want map[string]decision) {
	t.Helper()
	for w, d := range want {
		h, m := r.DecideWith(w, o)
		if h != d.h || m != d.matched {
			t.Errorf("Decide(%q) = %v, %v; want %v, %v", w, h, m, d.h, d.matched)
		}
	}
}

func TestDecideComposed(t *testing.T) {
	r := mustParse(t, composedDoc)
	check(t, r, DecideOptions{}, map[string]decision{
		"sip:bob@example.com":                {Allow, true},
		"<sips:bob@EXAMPLE.com;transport=x>": {Allow, true},
		"bob@example.com":                    {Allow, true},
		"sip:Bob@example.com":                {Allow, true}, // one AOR however the user is cased (internal/sipuri)
		"SIP:BOB@Example.COM:5061":           {Allow, true},
		"sip:mallory@example.com":            {PoliteBlock, true},
		"sip:eve@example.org":                {Confirm, true},
		"":                                   {Confirm, true}, // empty conditions match everyone
	})
}

func TestDecideNoMatchAndMissingSubHandling(t *testing.T) {
	r := mustParse(t, `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy">
	<rule id="a"><conditions><identity><one id="sip:bob@x"/></identity></conditions><actions/></rule>
	<rule id="b"><conditions><identity><many domain="corp.test"><except id="sip:boss@corp.test"/><except domain="other.test"/></many></identity></conditions>
	  <actions><sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">allow</sub-handling></actions></rule>
	<rule id="c"><conditions><identity><many/></identity><x:weird xmlns:x="urn:x"/></conditions>
	  <actions><sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">allow</sub-handling></actions></rule>
	<rule id="d"><conditions><sphere value="work home"/></conditions>
	  <actions><sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">confirm</sub-handling></actions></rule>
	</ruleset>`)
	check(t, r, DecideOptions{}, map[string]decision{
		"sip:bob@x":             {Block, true}, // matched, no sub-handling: block
		"sip:ann@corp.test":     {Allow, true},
		"sip:ann@CORP.test":     {Allow, true},
		"sip:boss@corp.test":    {Block, false},
		"sip:stranger@else.org": {Block, false}, // rule c has an unknown condition: never matches
	})
	check(t, r, DecideOptions{Sphere: "home"}, map[string]decision{"sip:stranger@else.org": {Confirm, true}})
	check(t, r, DecideOptions{Sphere: "travel"}, map[string]decision{"sip:stranger@else.org": {Block, false}})
}

func TestDecideOMA(t *testing.T) {
	r := mustParse(t, omaDoc)
	lists := func(anchor string) ([]string, bool) {
		switch {
		case strings.Contains(anchor, "oma_grantedcontacts"):
			return []string{"sip:bob@example.test"}, true
		case strings.Contains(anchor, "oma_blockedcontacts"):
			return []string{"sip:mallory@example.test"}, true
		}
		return nil, false
	}
	check(t, r, DecideOptions{ExternalList: lists}, map[string]decision{
		"sip:alice@example.test":          {Allow, true},
		"sip:bob@example.test":            {Allow, true},
		"sip:mallory@example.test":        {PoliteBlock, true}, // not "other": other-identity does not add confirm
		"sip:eve@example.test":            {Confirm, true},
		"":                                {Block, true},
		"sip:anonymous@anonymous.invalid": {Block, true},
		"\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1": {Block, true},
	})
	// Without a resolver the lists cannot match: bob is "other".
	check(t, r, DecideOptions{}, map[string]decision{"sip:bob@example.test": {Confirm, true}})
}

func TestDecideValidity(t *testing.T) {
	r := mustParse(t, `<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
	<cp:rule id="v"><cp:conditions><cp:identity><cp:one id="sip:bob@x"/></cp:identity>
	<cp:validity><cp:from>2025-01-01T00:00:00Z</cp:from><cp:until>2025-01-02T00:00:00Z</cp:until>
	<cp:from>2025-02-01T00:00:00+01:00</cp:from><cp:until>2025-02-02T00:00:00+01:00</cp:until></cp:validity></cp:conditions>
	<cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule></cp:ruleset>`)
	at := func(s string) DecideOptions {
		ts, _ := time.Parse(time.RFC3339, s)
		return DecideOptions{Now: ts}
	}
	check(t, r, at("2025-01-01T12:00:00Z"), map[string]decision{"sip:bob@x": {Allow, true}})
	check(t, r, at("2025-01-02T00:00:00Z"), map[string]decision{"sip:bob@x": {Block, false}})
	check(t, r, at("2025-01-31T23:30:00Z"), map[string]decision{"sip:bob@x": {Allow, true}})
	check(t, r, at("2025-03-01T00:00:00Z"), map[string]decision{"sip:bob@x": {Block, false}})
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not xml":  "rules",
		"wrong ns": `<ruleset xmlns="urn:example"/>`,
		"pidf":     `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Parse(make([]byte, MaxDocumentSize+1)); !isLimit(err) {
		t.Errorf("too large: %v", err)
	}
}

func decide(t *testing.T, doc []byte, w string) Handling {
	t.Helper()
	r, err := Parse(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	h, m := r.Decide(w)
	if !m {
		return -1
	}
	return h
}

func TestSetWatcherNewDocument(t *testing.T) {
	doc, err := SetWatcher(nil, "sip:carol@example.test", Allow)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
  <cp:rule id="sipbuddy_allow">
    <cp:conditions>
      <cp:identity>
        <cp:one id="sip:carol@example.test"/>
      </cp:identity>
    </cp:conditions>
    <cp:actions>
      <pr:sub-handling>allow</pr:sub-handling>
    </cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-persons><pr:all-persons/></pr:provide-persons>
      <pr:provide-devices><pr:all-devices/></pr:provide-devices>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
</cp:ruleset>
`
	if string(doc) != want {
		t.Errorf("got\n%s\nwant\n%s", doc, want)
	}
	if h := decide(t, doc, "sip:carol@example.test"); h != Allow {
		t.Errorf("carol: %v", h)
	}
	if h := decide(t, doc, "sip:dave@example.test"); h != -1 {
		t.Errorf("dave should match nothing, got %v", h)
	}
}

func TestSetWatcherMovesBetweenOwnRules(t *testing.T) {
	doc, err := SetWatcher(nil, "sip:bob@example.test", Allow)
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = SetWatcher(doc, "sip:carol@example.test", Allow); err != nil {
		t.Fatal(err)
	}
	// Blocking bob moves him to sipbuddy_block ...
	if doc, err = SetWatcher(doc, "<sip:bob@EXAMPLE.test>", Block); err != nil {
		t.Fatal(err)
	}
	if h := decide(t, doc, "sip:bob@example.test"); h != Block {
		t.Errorf("bob: %v\n%s", h, doc)
	}
	if h := decide(t, doc, "sip:carol@example.test"); h != Allow {
		t.Errorf("carol: %v", h)
	}
	// ... and polite-blocking carol empties sipbuddy_allow, which is removed.
	if doc, err = SetWatcher(doc, "sip:carol@example.test", PoliteBlock); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte(RuleAllow)) {
		t.Errorf("empty allow rule kept:\n%s", doc)
	}
	if n := bytes.Count(doc, []byte("<cp:one ")); n != 2 {
		t.Errorf("%d <one> elements, want 2:\n%s", n, doc)
	}
	// Idempotent.
	again, err := SetWatcher(doc, "sip:carol@example.test", PoliteBlock)
	if err != nil || !bytes.Equal(again, doc) {
		t.Errorf("second identical SetWatcher changed the document (%v)", err)
	}
	// Confirm: back to asking.
	if doc, err = SetWatcher(doc, "sip:bob@example.test", Confirm); err != nil {
		t.Fatal(err)
	}
	if h := decide(t, doc, "sip:bob@example.test"); h != Confirm {
		t.Errorf("bob: %v", h)
	}
}

func TestSetWatcherKeepsOtherRules(t *testing.T) {
	doc, err := SetWatcher([]byte(omaDoc), "sip:mallory@example.test", Block)
	if err != nil {
		t.Fatal(err)
	}
	// Every original rule is still there byte for byte.
	for _, id := range []string{"wp_prs_allow_own", "wp_prs_grantedcontacts", "wp_prs_blockedcontacts", "wp_prs_unlisted", "wp_prs_block_anonymous"} {
		start := strings.Index(omaDoc, `<cr:rule id="`+id+`">`)
		end := start + strings.Index(omaDoc[start:], "</cr:rule>")
		if !bytes.Contains(doc, []byte(omaDoc[start:end])) {
			t.Errorf("rule %s changed:\n%s", id, doc)
		}
	}
	// Our rule uses the document's prefixes (cr for common-policy, the
	// default namespace for pres-rules) and comes first.
	if !bytes.Contains(doc, []byte(`<cr:rule id="sipbuddy_block">`)) || !bytes.Contains(doc, []byte(`<sub-handling>block</sub-handling>`)) {
		t.Errorf("own rule:\n%s", doc)
	}
	if bytes.Index(doc, []byte("sipbuddy_block")) > bytes.Index(doc, []byte("wp_prs_allow_own")) {
		t.Errorf("own rule is not first:\n%s", doc)
	}
	// The other-identity confirm does not match a watcher named by a rule:
	// the block decides.
	if h := decide(t, doc, "sip:mallory@example.test"); h != Block {
		t.Errorf("mallory: %v", h)
	}
}

func TestSetWatcherOverridden(t *testing.T) {
	allowAll := `<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
<cp:rule id="everyone"><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule>
</cp:ruleset>`
	doc, err := SetWatcher([]byte(allowAll), "sip:eve@example.test", Block)
	var oe *OverriddenError
	if !errors.As(err, &oe) || oe.Got != Allow || oe.Want != Block {
		t.Fatalf("err %v, want *OverriddenError allow>block", err)
	}
	if !bytes.Contains(doc, []byte("sipbuddy_block")) || !bytes.Contains(doc, []byte(`<cp:rule id="everyone">`)) {
		t.Errorf("document:\n%s", doc)
	}
}

func TestSetWatcherErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		doc string
		w   string
		h   Handling
	}{
		"no user":   {"", "sip:example.test", Allow},
		"anonymous": {"", "sip:anonymous@anonymous.invalid", Allow},
		"empty":     {"", "", Allow},
		"bad h":     {"", "sip:a@x", Handling(5)},
		"not rules": {`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, "sip:a@x", Allow},
		"broken":    {`<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy">`, "sip:a@x", Allow},
	} {
		if _, err := SetWatcher([]byte(tc.doc), tc.w, tc.h); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// aliceClient runs the embedded XCAP server on loopback and returns a
// client for alice.
func aliceClient(t *testing.T) *xcap.Client {
	t.Helper()
	root, _ := xcaptest.Start(t, map[string]string{"alice": "secret"})
	c, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSetWatcherThroughXCAPServer stores the document on the real embedded
// XCAP server, reads it back and evaluates it.
func TestSetWatcherThroughXCAPServer(t *testing.T) {
	c := aliceClient(t)
	ctx := context.Background()
	doc, err := SetWatcher(nil, "sip:carol@example.test", Allow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, AUID, DocumentPath, doc, ContentType, xcap.Condition{IfNoneMatch: "*"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, AUID, DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if h := decide(t, got.Body, "sip:carol@example.test"); h != Allow {
		t.Errorf("stored rules give carol %v", h)
	}
}

// Update edits the stored rules in place: another client's rules stay,
// the watcher gets the asked-for handling, an overriding foreign rule is
// reported after the document is stored.
func TestUpdateThroughXCAPServer(t *testing.T) {
	c := aliceClient(t)
	ctx := context.Background()
	if err := Update(ctx, c, "sip:bob@example.test", Allow); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := c.Get(ctx, AUID, DocumentPath, "")
	if err != nil || decide(t, got.Body, "sip:bob@example.test") != Allow {
		t.Fatalf("bob not allowed after create: %v", err)
	}
	if _, err := c.Put(ctx, AUID, DocumentPath, []byte(omaDoc), ContentType, xcap.Condition{IfMatch: got.ETag}); err != nil {
		t.Fatal(err)
	}
	if err := Update(ctx, c, "SIP:Mallory@Example.Test", Block); err != nil {
		t.Fatalf("block: %v", err)
	}
	got, _ = c.Get(ctx, AUID, DocumentPath, "")
	if !bytes.Contains(got.Body, []byte(`wp_prs_grantedcontacts`)) || decide(t, got.Body, "sip:Mallory@example.test") != Block {
		t.Errorf("after block:\n%s", got.Body)
	}
	allowAll := `<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
<cp:rule id="everyone"><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule>
</cp:ruleset>`
	if _, err := c.Put(ctx, AUID, DocumentPath, []byte(allowAll), ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	var oe *OverriddenError
	if err := Update(ctx, c, "sip:eve@example.test", Block); !errors.As(err, &oe) || oe.Got != Allow {
		t.Errorf("overridden: %v", err)
	}
	if got, _ := c.Get(ctx, AUID, DocumentPath, ""); !bytes.Contains(got.Body, []byte("sipbuddy_block")) {
		t.Errorf("overridden rule not stored:\n%s", got.Body)
	}
	if err := Update(ctx, c, "not a uri", Allow); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad watcher: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(composedDoc))
	f.Add([]byte(omaDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		for _, w := range []string{"sip:bob@example.com", "", "sip:eve@example.test"} {
			if h, m := r.Decide(w); m && (h < Block || h > Allow) {
				t.Fatalf("Decide(%q) = %d", w, h)
			}
		}
		// Whatever parses can be edited, and the edit takes effect unless
		// another rule overrides it.
		doc, err := SetWatcher(data, "sip:fuzz@example.test", Allow)
		var oe *OverriddenError
		if err != nil && !errors.As(err, &oe) {
			if isLimit(err) {
				return
			}
			t.Fatalf("SetWatcher: %v", err)
		}
		r2, err := Parse(doc)
		if err != nil {
			t.Fatalf("edited document does not parse: %v", err)
		}
		if h, m := r2.Decide("sip:fuzz@example.test"); !m || h < Allow && oe == nil {
			t.Fatalf("after SetWatcher allow: %v %v", h, m)
		}
		if len(r2.Rules) < len(r.Rules) {
			t.Fatalf("rules lost: %d -> %d", len(r.Rules), len(r2.Rules))
		}
	})
}

func isLimit(err error) bool {
	var le *xmltree.LimitError
	return errors.As(err, &le)
}
