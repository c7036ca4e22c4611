package presrules

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// The documents Blink (python-sipsimple) stores for sip:alice@example.test:
// testdata/blink-pres-rules.xml is what its NormalizeOperation
// (sipsimple/account/xcap/__init__.py) writes to
// org.openmobilealliance.pres-rules/index, the five wp_prs_* rules with the
// grant and block rules' external lists pointing at the account's
// resource-lists document; every URI attribute is percent-encoded, as
// python-sipsimple's AnyURI type writes it. The resource-lists document is the one
// xcap/resourcelists reads (Bob allowed, Mallory blocked by a policy
// element, Carol and Dave left to the default).
const blinkListsURL = "https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blinkRules(t *testing.T) []byte { return readFile(t, "testdata/blink-pres-rules.xml") }
func blinkLists(t *testing.T) []byte {
	return readFile(t, "../resourcelists/testdata/blink-index.xml")
}

type verdict struct {
	h    Handling
	rule string
}

func explainAll(t *testing.T, rules, lists []byte, want map[string]verdict) {
	t.Helper()
	r, err := Parse(rules)
	if err != nil {
		t.Fatal(err)
	}
	l, err := resourcelists.Parse(lists)
	if err != nil {
		t.Fatal(err)
	}
	for w, v := range want {
		h, rule, matched := r.Explain(w, DecideOptions{ExternalList: ExternalLists(l)})
		if !matched {
			h = Confirm
		}
		if h != v.h || rule != v.rule {
			t.Errorf("%s: %s by %q, want %s by %q", w, h, rule, v.h, v.rule)
		}
	}
}

// TestOMADecidesLikeBlink: python-sipsimple puts a contact whose presence
// policy is allow in oma_grantedcontacts and a blocked one (or a policy
// element) in oma_blockedcontacts; RFC 4745 combining then gives the
// highest sub-handling of the matching rules, and other-identity matches
// only watchers no identity or external list names.
func TestOMADecidesLikeBlink(t *testing.T) {
	rules, lists := blinkRules(t), blinkLists(t)
	explainAll(t, rules, lists, map[string]verdict{
		"sip:bob@example.test":               {Allow, OMARuleGranted},
		"sip:Bob@Example.test;transport=tcp": {Allow, OMARuleGranted},
		"sip:mallory@example.test":           {PoliteBlock, OMARuleBlocked},
		"sip:carol@example.test":             {Confirm, OMARuleUnlisted},
		"sip:stranger@other.test":            {Confirm, OMARuleUnlisted},
		"sip:alice@example.test":             {Allow, OMARuleAllowOwn},
		"sip:anonymous@anonymous.invalid":    {Block, OMARuleBlockAnonymous},
	})
	// Blink's "allow everyone else" (SetDefaultPresencePolicyOperation)
	// replaces wp_prs_unlisted with wp_prs_allow_unlisted.
	everyone := bytes.Replace(rules, []byte(`id="wp_prs_unlisted"><cp:conditions><ocp:other-identity/></cp:conditions><cp:actions><pr:sub-handling>confirm`),
		[]byte(`id="wp_prs_allow_unlisted"><cp:conditions><ocp:other-identity/></cp:conditions><cp:actions><pr:sub-handling>allow`), 1)
	explainAll(t, everyone, lists, map[string]verdict{
		"sip:stranger@other.test":  {Allow, OMARuleAllowUnlisted},
		"sip:mallory@example.test": {PoliteBlock, OMARuleBlocked},
	})
	// Without the resource-lists document no external list resolves.
	r, _ := Parse(rules)
	if h, rule, _ := r.Explain("sip:bob@example.test", DecideOptions{ExternalList: ExternalLists(nil)}); h != Confirm || rule != OMARuleUnlisted {
		t.Errorf("bob without lists: %s by %s", h, rule)
	}
}

func TestWatchersListsEveryone(t *testing.T) {
	ws, err := Watchers(blinkRules(t), blinkLists(t), "sip:stranger@other.test", "sip:BOB@example.test", "sip:anonymous@anonymous.invalid")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.Watcher+" "+w.Handling.String()+" "+w.Rule+map[bool]string{true: " listed", false: ""}[w.Listed])
	}
	want := []string{
		"sip:bob@example.test allow wp_prs_grantedcontacts listed",
		"sip:mallory@example.test polite-block wp_prs_blockedcontacts listed",
		"sip:alice@example.test allow wp_prs_allow_own listed",
		"sip:stranger@other.test confirm wp_prs_unlisted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("watchers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// IETF rules, no lists: the own rules' watchers, and nobody matched.
	doc, err := SetWatcher(nil, "sip:eve@example.test", Block)
	if err != nil {
		t.Fatal(err)
	}
	ws, err = Watchers(doc, nil, "sip:zed@example.test")
	if err != nil || len(ws) != 2 || ws[0].Handling != Block || ws[0].Rule != RuleBlock || ws[1].Rule != "" || ws[1].Handling != Confirm {
		t.Errorf("IETF watchers %+v, %v", ws, err)
	}
}

// TestSetWatcherOMAKeepsBlinkInStep blocks, allows and undoes watchers in
// Blink's documents and checks the decision, the addressbook Blink derives
// its lists from, and that the rules document is left as Blink wrote it.
func TestSetWatcherOMAKeepsBlinkInStep(t *testing.T) {
	rules, lists := blinkRules(t), blinkLists(t)
	step := func(w string, h Handling, want verdict, policy string) {
		t.Helper()
		var err error
		newRules, newLists, err := SetWatcherOMA(rules, lists, blinkListsURL, "sip:alice@example.test", w, h)
		if err != nil {
			t.Fatalf("%s %s: %v", w, h, err)
		}
		if !bytes.Equal(newRules, rules) {
			t.Errorf("rules changed:\n%s", newRules)
		}
		rules, lists = newRules, newLists
		explainAll(t, rules, lists, map[string]verdict{w: want})
		d, err := resourcelists.Parse(lists)
		if err != nil {
			t.Fatal(err)
		}
		ab, _ := d.Addressbook()
		got := ""
		for _, c := range ab.Contacts {
			for _, u := range c.URIs {
				if u.URI == w {
					got = "contact:" + c.Presence.Policy
				}
			}
		}
		for _, p := range ab.Policies {
			if p.URI == w {
				got = "policy:" + p.Presence.Policy
			}
		}
		if got != policy {
			t.Errorf("%s: addressbook says %q, want %q", w, got, policy)
		}
	}
	step("sip:bob@example.test", Block, verdict{PoliteBlock, OMARuleBlocked}, "contact:block")
	step("sip:bob@example.test", Undo, verdict{Confirm, OMARuleUnlisted}, "contact:default")
	step("sip:bob@example.test", Allow, verdict{Allow, OMARuleGranted}, "contact:allow")
	step("sip:stranger@other.test", Allow, verdict{Allow, OMARuleGranted}, "policy:allow")
	step("sip:stranger@other.test", Block, verdict{PoliteBlock, OMARuleBlocked}, "policy:block")
	step("sip:stranger@other.test", Undo, verdict{Confirm, OMARuleUnlisted}, "")
	step("sip:mallory@example.test", Allow, verdict{Allow, OMARuleGranted}, "policy:allow")
	// Blink's own data is all still there.
	if !bytes.Contains(lists, []byte(`<blink:attributes><blink:attribute name="preferred_media">video</blink:attribute></blink:attributes>`)) ||
		bytes.Count(lists, []byte("<blink:attributes")) != bytes.Count(blinkLists(t), []byte("<blink:attributes")) {
		t.Errorf("Blink's attributes lost:\n%s", lists)
	}
}

func TestSetWatcherOMANewAccount(t *testing.T) {
	rules, lists, err := SetWatcherOMA(nil, nil, blinkListsURL, "sip:alice@example.test", "sip:bob@example.test", Block)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rules, blinkRules(t)[:0]) && !bytes.Contains(rules, []byte(`<cp:rule id="wp_prs_unlisted"><cp:conditions><ocp:other-identity/></cp:conditions><cp:actions><pr:sub-handling>confirm</pr:sub-handling></cp:actions></cp:rule>`)) {
		t.Errorf("new rules:\n%s", rules)
	}
	explainAll(t, rules, lists, map[string]verdict{
		"sip:bob@example.test":            {PoliteBlock, OMARuleBlocked},
		"sip:alice@example.test":          {Allow, OMARuleAllowOwn},
		"sip:other@example.test":          {Confirm, OMARuleUnlisted},
		"sip:anonymous@anonymous.invalid": {Block, OMARuleBlockAnonymous},
	})
	// Another OMA client's rules without the grant and block rules get
	// them, and keep their own.
	foreign := []byte(`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="theirs"><conditions/><actions/></rule></ruleset>`)
	rules, _, err = SetWatcherOMA(foreign, lists, blinkListsURL, "sip:alice@example.test", "sip:bob@example.test", Allow)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Parse(rules)
	var ids []string
	for _, x := range r.Rules {
		ids = append(ids, x.ID)
	}
	if strings.Join(ids, " ") != "theirs wp_prs_grantedcontacts wp_prs_blockedcontacts" {
		t.Errorf("rules %v:\n%s", ids, rules)
	}
	// Confirm under "allow everyone else" cannot hold: reported.
	everyone := bytes.Replace(blinkRules(t), []byte(`wp_prs_unlisted"><cp:conditions><ocp:other-identity/></cp:conditions><cp:actions><pr:sub-handling>confirm`),
		[]byte(`wp_prs_allow_unlisted"><cp:conditions><ocp:other-identity/></cp:conditions><cp:actions><pr:sub-handling>allow`), 1)
	var over *OverriddenError
	if _, _, err := SetWatcherOMA(everyone, blinkLists(t), blinkListsURL, "sip:alice@example.test", "sip:dave@example.test", Confirm); !errors.As(err, &over) || over.Got != Allow {
		t.Errorf("confirm under allow-unlisted: %v", err)
	}
}

func TestAnchorList(t *testing.T) {
	for anchor, want := range map[string]string{
		ListAnchor(blinkListsURL, "oma_grantedcontacts"): "oma_grantedcontacts",
		"http://127.0.0.1/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D": "oma_blockedcontacts",
		blinkListsURL + "/~~/rl:resource-lists/rl:list[@name='x']":                                                                                 "x",
		blinkListsURL + "/~~/resource-lists/list[1]":                                                                                               "",
		blinkListsURL + "/~~/resource-lists/list[@name=\"a\"]/entry":                                                                               "",
		blinkListsURL: "",
	} {
		got, ok := AnchorList(anchor)
		if got != want || ok != (want != "") {
			t.Errorf("AnchorList(%q) = %q, %v; want %q", anchor, got, ok, want)
		}
	}
}

func TestDocumentAUID(t *testing.T) {
	if DocumentAUID(false, nil) != AUID || DocumentAUID(true, nil) != OMAAUID || DocumentAUID(false, &xcap.Caps{AUIDs: []string{OMAAUID}}) != OMAAUID {
		t.Error("DocumentAUID")
	}
}

func TestUndoIETF(t *testing.T) {
	doc, err := SetWatcher(nil, "sip:bob@example.test", Allow)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = SetWatcher(doc, "sip:bob@example.test", Undo)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Parse(doc)
	if _, matched := r.Decide("sip:bob@example.test"); matched {
		t.Errorf("a rule still matches bob:\n%s", doc)
	}
}

// TestUpdateOMAThroughXCAPServer stores Blink's documents on the embedded
// XCAP server, blocks a watcher with UpdateOMA and reads back what another
// client would.
func TestUpdateOMAThroughXCAPServer(t *testing.T) {
	c := aliceClient(t)
	ctx := context.Background()
	listsURL := c.DocumentURL(resourcelists.AUID, resourcelists.DocumentPath)
	lists := bytes.ReplaceAll(blinkLists(t), []byte(resourcelists.EncodeAnyURI(blinkListsURL)), []byte(resourcelists.EncodeAnyURI(listsURL)))
	if bytes.Equal(lists, blinkLists(t)) {
		t.Fatal("the anchors do not name the document")
	}
	if _, err := c.Put(ctx, resourcelists.AUID, resourcelists.DocumentPath, lists, resourcelists.ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := UpdateOMA(ctx, c, "sip:alice@example.test", "sip:carol@example.test", Block); err != nil {
		t.Fatal(err)
	}
	rules, err := c.Get(ctx, OMAAUID, DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	explainAll(t, rules.Body, stored.Body, map[string]verdict{
		"sip:carol@example.test": {PoliteBlock, OMARuleBlocked},
		"sip:bob@example.test":   {Allow, OMARuleGranted},
	})
	// A second decision leaves the rules document alone.
	if err := UpdateOMA(ctx, c, "sip:alice@example.test", "sip:carol@example.test", Undo); err != nil {
		t.Fatal(err)
	}
	again, _ := c.Get(ctx, OMAAUID, DocumentPath, "")
	if again.ETag != rules.ETag {
		t.Error("rules rewritten although complete")
	}
}

func TestNewDecider(t *testing.T) {
	decide, err := NewDecider(blinkRules(t), blinkLists(t))
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := decide("sip:mallory@example.test"); h != PoliteBlock || !ok {
		t.Errorf("mallory: %s %v", h, ok)
	}
	if _, err := NewDecider(blinkRules(t), []byte("<nope/>")); err == nil {
		t.Error("a document that is not resource-lists accepted")
	}
}
