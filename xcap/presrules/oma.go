package presrules

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// The rules python-sipsimple (Blink) keeps in the OMA pres-rules document
// (org.openmobilealliance.pres-rules/index), by id. It deletes every other
// rule when it normalizes the document, so sipbuddy writes its decisions
// into the resource-lists these rules point at, never new rules.
const (
	// OMARuleGranted allows the watchers of oma_grantedcontacts.
	OMARuleGranted = "wp_prs_grantedcontacts"
	// OMARuleBlocked polite-blocks the watchers of oma_blockedcontacts.
	OMARuleBlocked = "wp_prs_blockedcontacts"
	// OMARuleUnlisted decides for everyone else (confirm, block or
	// polite-block); OMARuleAllowUnlisted replaces it to allow everyone.
	OMARuleUnlisted      = "wp_prs_unlisted"
	OMARuleAllowUnlisted = "wp_prs_allow_unlisted"
	// OMARuleBlockAnonymous blocks anonymous watchers.
	OMARuleBlockAnonymous = "wp_prs_block_anonymous"
	// OMARuleAllowOwn allows the account itself (its other devices).
	OMARuleAllowOwn = "wp_prs_allow_own"
)

// DocumentAUID returns the AUID of the pres-rules document the account's
// other clients read: OMA's when that document exists or the server's
// xcap-caps advertise it (python-sipsimple requires it and writes only
// it), IETF's otherwise.
func DocumentAUID(omaDocumentExists bool, caps *xcap.Caps) string {
	if omaDocumentExists || caps.Has(OMAAUID) {
		return OMAAUID
	}
	return AUID
}

// ListAnchor is the external-list anchor python-sipsimple writes for the
// top-level list called list of the resource-lists document at listsURL:
// the document URL, the node selector separator and the list's XPath,
// percent-encoded as its AnyURI type writes every URI attribute.
func ListAnchor(listsURL, list string) string {
	return resourcelists.EncodeAnyURI(listsURL + "/~~/resource-lists/list[@name=\"" + list + "\"]")
}

// AnchorList returns the name of the top-level list an external-list
// anchor selects ("oma_grantedcontacts"), in python-sipsimple's form or
// with the selector percent-encoded, any prefix on the step, and either
// quote; false when the anchor selects something else.
func AnchorList(anchor string) (string, bool) {
	_, sel, ok := strings.Cut(resourcelists.DecodeAnyURI(anchor), "/~~/")
	if !ok {
		return "", false
	}
	steps := strings.Split(strings.TrimSuffix(sel, "/"), "/")
	if len(steps) != 2 || localStep(steps[0]) != "resource-lists" {
		return "", false
	}
	step := steps[1]
	open := strings.IndexByte(step, '[')
	if open < 0 || !strings.HasSuffix(step, "]") || localStep(step[:open]) != "list" {
		return "", false
	}
	pred := step[open+1 : len(step)-1]
	v, ok := strings.CutPrefix(pred, "@name=")
	if !ok || len(v) < 2 || (v[0] != '"' && v[0] != '\'') || v[len(v)-1] != v[0] {
		return "", false
	}
	return v[1 : len(v)-1], true
}

func localStep(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ExternalLists resolves external-list anchors against the account's
// resource-lists document (nil: no document, no list resolves). Anchors
// are resolved by the list they select; they point at the account's own
// document, which is the only one python-sipsimple refers to.
func ExternalLists(lists *resourcelists.Document) func(anchor string) ([]string, bool) {
	return func(anchor string) ([]string, bool) {
		if lists == nil {
			return nil, false
		}
		name, ok := AnchorList(anchor)
		if !ok {
			return nil, false
		}
		return lists.ListURIs(name)
	}
}

// listsOptions parses the account's resource-lists document (nil or empty
// when it has none) into the options that resolve the rules' OMA external
// lists.
func listsOptions(listsDoc []byte) (DecideOptions, error) {
	var lists *resourcelists.Document
	if len(bytes.TrimSpace(listsDoc)) > 0 {
		var err error
		if lists, err = resourcelists.Parse(listsDoc); err != nil {
			return DecideOptions{}, fmt.Errorf("presrules: %w", err)
		}
	}
	return DecideOptions{ExternalList: ExternalLists(lists)}, nil
}

// Explain is DecideWith that also names the rule that decides: the first
// rule, in document order, of those giving the winning sub-handling ("" when
// no rule matches).
func (r *Rules) Explain(watcher string, o DecideOptions) (h Handling, rule string, matched bool) {
	h, matched = r.DecideWith(watcher, o)
	if !matched {
		return h, "", false
	}
	for i := range r.Rules {
		if !r.ruleMatches(i, watcher, o) {
			continue
		}
		granted := Block
		if r.Rules[i].HasSubHandling {
			granted = r.Rules[i].SubHandling
		}
		if granted == h {
			return h, r.Rules[i].ID, true
		}
	}
	return h, "", true
}

// WatcherRule is how one watcher is decided.
type WatcherRule struct {
	// Watcher is the watcher's address as the rules or lists name it
	// (decoded when python-sipsimple percent-encoded it).
	Watcher string
	// Handling is the decision; Confirm when no rule matches (the
	// subscription waits for the user).
	Handling Handling
	// Rule is the id of the deciding rule, "" when none matches.
	Rule string
	// Listed is true when a rule or a list the rules point at names the
	// watcher itself (not only a rule for everyone).
	Listed bool
}

// Watchers lists every watcher the rules document (either layout) names,
// in an identity condition or in a resource-lists list an external-list
// condition points at, followed by the extra watchers (from watcherinfo)
// not named, each once, with the decision and the rule that makes it.
// lists may be nil when the account has no resource-lists document.
func Watchers(rulesDoc, listsDoc []byte, extra ...string) ([]WatcherRule, error) {
	var rules *Rules
	if len(bytes.TrimSpace(rulesDoc)) > 0 {
		var err error
		if rules, err = Parse(rulesDoc); err != nil {
			return nil, err
		}
	}
	o, err := listsOptions(listsDoc)
	if err != nil {
		return nil, err
	}
	var out []WatcherRule
	seen := map[string]bool{}
	add := func(w string, listed bool) {
		id := parseWatcher(w)
		if id.anonymous || id.domain == "" || !strings.Contains(id.key, "@") || seen[id.key] {
			return
		}
		seen[id.key] = true
		h, rule, matched := rules.Explain(w, o)
		if !matched {
			h = Confirm
		}
		out = append(out, WatcherRule{Watcher: resourcelists.DecodeAnyURI(w), Handling: h, Rule: rule, Listed: listed})
	}
	if rules != nil {
		for _, r := range rules.Rules {
			if r.Identity != nil {
				for _, one := range r.Identity.One {
					add(one, true)
				}
			}
			for _, a := range r.ExternalLists {
				uris, _ := o.ExternalList(a)
				for _, u := range uris {
					add(u, true)
				}
			}
		}
	}
	for _, w := range extra {
		add(w, false)
	}
	return out, nil
}

// NewOMARuleset returns the pres-rules document python-sipsimple writes
// for an account that has none: its five rules, the grant and block rules
// pointing at oma_grantedcontacts and oma_blockedcontacts of the
// resource-lists document at listsURL, unlisted watchers confirmed,
// anonymous ones blocked, the account (self, "sip:user@domain") allowed.
func NewOMARuleset(listsURL, self string) ([]byte, error) {
	selfURI, err := Canonical(self)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?>\n")
	b.WriteString(`<cp:ruleset xmlns:cp="` + NSCommonPolicy + `" xmlns:pr="` + NSPresRules + `" xmlns:ocp="` + NSOMACommonPolicy + `">`)
	rule := func(id, cond, h string) {
		b.WriteString(`<cp:rule id="` + id + `"><cp:conditions>` + cond + `</cp:conditions><cp:actions><pr:sub-handling>` + h + `</pr:sub-handling></cp:actions></cp:rule>`)
	}
	ext := func(list string) string {
		return `<ocp:external-list><ocp:entry anc="` + string(xmltree.AppendAttrValue(nil, ListAnchor(listsURL, list))) + `"/></ocp:external-list>`
	}
	rule(OMARuleGranted, ext(resourcelists.OMAGrantedContacts), "allow")
	rule(OMARuleBlocked, ext(resourcelists.OMABlockedContacts), "polite-block")
	rule(OMARuleUnlisted, `<ocp:other-identity/>`, "confirm")
	rule(OMARuleBlockAnonymous, `<ocp:anonymous-request/>`, "block")
	rule(OMARuleAllowOwn, `<cp:identity><cp:one id="`+string(xmltree.AppendAttrValue(nil, resourcelists.EncodeAnyURI(selfURI)))+`"/></cp:identity>`, "allow")
	b.WriteString("</cp:ruleset>\n")
	return []byte(b.String()), nil
}

// NewDecider reads a rules document of either layout and the account's
// resource-lists document (nil or empty when it has none) once, and
// returns the decision for a watcher with OMA external lists resolved:
// what a presence server applies to each SUBSCRIBE. matched is false when
// no rule matches (the server's own default then applies).
func NewDecider(rulesDoc, listsDoc []byte) (func(watcher string) (h Handling, matched bool), error) {
	rules, o, err := parseWithLists(rulesDoc, listsDoc)
	if err != nil {
		return nil, err
	}
	return func(watcher string) (Handling, bool) { return rules.DecideWith(watcher, o) }, nil
}

// parseWithLists parses a rules document and the account's resource-lists
// document (nil or empty when it has none), whose lists resolve the rules'
// OMA external lists.
func parseWithLists(rulesDoc, listsDoc []byte) (*Rules, DecideOptions, error) {
	rules, err := Parse(rulesDoc)
	if err != nil {
		return nil, DecideOptions{}, err
	}
	o, err := listsOptions(listsDoc)
	if err != nil {
		return nil, DecideOptions{}, err
	}
	return rules, o, nil
}
