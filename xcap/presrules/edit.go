package presrules

import (
	"fmt"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Rule ids SetWatcher owns, one per decision.
const (
	RuleAllow       = "sipbuddy_allow"
	RuleBlock       = "sipbuddy_block"
	RulePoliteBlock = "sipbuddy_polite_block"
	RuleConfirm     = "sipbuddy_confirm"
)

var ownRules = []string{RuleAllow, RuleBlock, RulePoliteBlock, RuleConfirm}

// OverriddenError is returned (with the edited document) by SetWatcher when
// a rule it does not own still gives the watcher a higher sub-handling
// than asked for, e.g. another client's "allow everyone" rule, which
// sipbuddy will not rewrite.
type OverriddenError struct {
	Watcher   string
	Want, Got Handling
}

func (e *OverriddenError) Error() string {
	return fmt.Sprintf("presrules: %s asked for %s but the rules give %s (a rule sipbuddy does not own decides)", e.Watcher, e.Want, e.Got)
}

const emptyRuleset = `<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
</cp:ruleset>
`

// SetWatcher returns a copy of the rules document doc (nil or empty: a new
// document) in which watcher has handling h: it is listed as
// <cp:one id="..."/> in exactly one of the rules sipbuddy owns and removed
// from the others (an own rule left with no identity is deleted). Every
// other rule, and any content this package does not understand, is kept as
// written.
//
// Undo takes the watcher out of every own rule, so that the other rules
// decide again.
//
// Block is a hard block (rule "sipbuddy_block"): the server ends the
// watcher's subscription and tells it so. PoliteBlock (rule
// "sipbuddy_polite_block") keeps it active with a neutral document. Under
// RFC 4745 the highest sub-handling of all matching rules wins, so a block
// (0) loses to a catch-all rule of another client that gives more (empty
// conditions, or <many>); OMA's other-identity, which python-sipsimple
// writes for unlisted watchers, does not match a watcher named here, so it
// does not. The own rules are placed first in the ruleset, so servers that
// take the first matching rule (Kamailio) decide the same way.
//
// When a rule sipbuddy does not own still gives the watcher more than
// asked for, the document is returned together with an *OverriddenError.
func SetWatcher(doc []byte, watcher string, h Handling) ([]byte, error) {
	target := ""
	want := h
	switch h {
	case Undo:
		// Out of every own rule; the other rules decide again.
	case Allow:
		target = RuleAllow
	case Block:
		target = RuleBlock
	case PoliteBlock:
		target = RulePoliteBlock
	case Confirm:
		target = RuleConfirm
	default:
		return nil, fmt.Errorf("%w: handling %d", ErrInvalid, int(h))
	}
	uri, err := Canonical(watcher)
	if err != nil {
		return nil, err
	}
	dom, err := editDOM(doc)
	if err != nil {
		return nil, err
	}
	root := dom.Root
	key := parseWatcher(uri).key

	var targetRule *xmltree.Node
	for _, rule := range root.Elements() {
		if !rule.Is(NSCommonPolicy, "rule") {
			continue
		}
		id, _ := rule.Attr("id")
		if id == target && targetRule == nil {
			targetRule = rule
			continue
		}
		if !isOwn(id) {
			continue
		}
		// Take the watcher out of our other rules.
		ident := identityOf(rule)
		if ident == nil {
			continue
		}
		removed := false
		for _, one := range ident.Elements() {
			if one.Is(NSCommonPolicy, "one") {
				if v, _ := one.Attr("id"); parseWatcher(v).key == key {
					removed = ident.Remove(one) || removed
				}
			}
		}
		if removed && len(ident.Elements()) == 0 {
			root.Remove(rule)
		}
	}

	if target == "" {
		return finish(dom)
	}
	if targetRule == nil {
		targetRule = newOwnRule(root, target, want)
	}
	setSubHandling(targetRule, want)
	ident := identityOf(targetRule)
	if ident == nil {
		cond := targetRule.Child(NSCommonPolicy, "conditions")
		if cond == nil {
			cond = xmltree.NewElement(targetRule, NSCommonPolicy, "conditions", "cp")
			targetRule.InsertBefore(cond, targetRule.FirstElement())
		}
		ident = xmltree.NewElement(cond, NSCommonPolicy, "identity", "cp")
		cond.InsertBefore(ident, cond.FirstElement())
	}
	listed := false
	for _, one := range ident.Elements() {
		if one.Is(NSCommonPolicy, "one") {
			if v, _ := one.Attr("id"); parseWatcher(v).key == key {
				listed = true
			}
		}
	}
	if !listed {
		one := xmltree.NewElement(ident, NSCommonPolicy, "one", "cp")
		one.SetAttr("id", uri)
		// <one> elements come before <many> in the schema.
		ident.InsertBefore(one, ident.Child(NSCommonPolicy, "many"))
	}

	out, err := finish(dom)
	if err != nil {
		return nil, err
	}
	rules, err := Parse(out)
	if err != nil {
		return nil, fmt.Errorf("presrules: edited document does not parse: %w", err)
	}
	if got, _ := rules.Decide(uri); got != want {
		return out, &OverriddenError{Watcher: uri, Want: want, Got: got}
	}
	return out, nil
}

// finish writes an edited document, within MaxDocumentSize.
func finish(dom *xmltree.Document) ([]byte, error) {
	out := dom.Bytes()
	if len(out) > MaxDocumentSize {
		return nil, fmt.Errorf("presrules: %w", xmltree.TooLarge(xmltree.WhatSize, int64(len(out)), MaxDocumentSize))
	}
	return out, nil
}

func isOwn(id string) bool {
	for _, o := range ownRules {
		if id == o {
			return true
		}
	}
	return false
}

func identityOf(rule *xmltree.Node) *xmltree.Node {
	if cond := rule.Child(NSCommonPolicy, "conditions"); cond != nil {
		return cond.Child(NSCommonPolicy, "identity")
	}
	return nil
}

// newOwnRule creates rule id before the first rule of the ruleset, with
// conditions, actions and (for allow) transformations granting the whole
// document: RFC 5025 transformations are positive grants, and a rule
// without them shows nothing.
func newOwnRule(root *xmltree.Node, id string, h Handling) *xmltree.Node {
	rule := xmltree.NewElement(root, NSCommonPolicy, "rule", "cp")
	rule.SetAttr("id", id)
	root.InsertBefore(rule, root.Child(NSCommonPolicy, "rule"))
	rule.AddElement(NSCommonPolicy, "conditions", "cp").AddElement(NSCommonPolicy, "identity", "cp")
	rule.AddElement(NSCommonPolicy, "actions", "cp")
	if h == Allow {
		tr := rule.AddElement(NSCommonPolicy, "transformations", "cp")
		for _, g := range [][2]string{{"provide-services", "all-services"}, {"provide-persons", "all-persons"}, {"provide-devices", "all-devices"}} {
			p := xmltree.NewElement(tr, NSPresRules, g[0], "pr")
			tr.Append(p)
			p.AppendInline(xmltree.NewElement(p, NSPresRules, g[1], "pr"))
		}
		tr.AddElement(NSPresRules, "provide-all-attributes", "pr")
	}
	return rule
}

// setSubHandling makes the rule's actions say h.
func setSubHandling(rule *xmltree.Node, h Handling) {
	act := rule.Child(NSCommonPolicy, "actions")
	if act == nil {
		act = xmltree.NewElement(rule, NSCommonPolicy, "actions", "cp")
		rule.InsertBefore(act, rule.Child(NSCommonPolicy, "transformations"))
	}
	sh := act.Child(NSPresRules, "sub-handling")
	if sh == nil {
		sh = xmltree.NewElement(act, NSPresRules, "sub-handling", "pr")
		act.InsertBefore(sh, act.FirstElement())
	}
	sh.SetText(h.String())
}
