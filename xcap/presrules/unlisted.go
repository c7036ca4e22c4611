package presrules

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// RuleAskEveryone is sipbuddy's own rule, in the IETF layout, that asks
// the user about every watcher no other rule names (OMA other-identity →
// confirm). Without it the server's default decides those watchers (the
// embedded server's: watchers of its domain may see me, others wait).
const RuleAskEveryone = "sipbuddy_ask_everyone"

// Unlisted is what happens to a watcher no rule or list names.
type Unlisted int

// Unlisted values.
const (
	// UnlistedDefault: the server's default decides (IETF layout, no
	// RuleAskEveryone).
	UnlistedDefault Unlisted = iota
	// UnlistedAsk: the watcher waits until I decide (RuleAskEveryone, or
	// python-sipsimple's wp_prs_unlisted with confirm).
	UnlistedAsk
	// UnlistedAllow: python-sipsimple's wp_prs_allow_unlisted.
	UnlistedAllow
	// UnlistedRefuse: wp_prs_unlisted with block or polite-block (written
	// by another client; sipbuddy shows it and can switch to asking).
	UnlistedRefuse
)

// UnlistedOf reads what the rules document does with unlisted watchers.
func UnlistedOf(doc []byte) (Unlisted, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return UnlistedDefault, nil
	}
	r, err := Parse(doc)
	if err != nil {
		return UnlistedDefault, err
	}
	for _, rule := range r.Rules {
		switch rule.ID {
		case RuleAskEveryone:
			return UnlistedAsk, nil
		case OMARuleAllowUnlisted:
			return UnlistedAllow, nil
		case OMARuleUnlisted:
			if rule.SubHandling == Confirm {
				return UnlistedAsk, nil
			}
			return UnlistedRefuse, nil
		}
	}
	return UnlistedDefault, nil
}

// SetUnlisted returns doc with unlisted watchers asked about (ask) or not.
// OMA layout (a document with python-sipsimple's wp_prs_unlisted or
// wp_prs_allow_unlisted rule, or oma true): the one rule python-sipsimple
// keeps for them, wp_prs_unlisted → confirm or wp_prs_allow_unlisted →
// allow (Blink's two modes). IETF layout: RuleAskEveryone added or
// removed, so that the server's default decides again. Every other rule
// is kept as written.
func SetUnlisted(doc []byte, oma, ask bool) ([]byte, error) {
	dom, err := editDOM(doc)
	if err != nil {
		return nil, err
	}
	root := dom.Root
	var unlisted, own *xmltree.Node
	var owns []*xmltree.Node
	for _, rule := range root.Elements() {
		if !rule.Is(NSCommonPolicy, "rule") {
			continue
		}
		// The first of each, as UnlistedOf reads them.
		switch id, _ := rule.Attr("id"); {
		case (id == OMARuleUnlisted || id == OMARuleAllowUnlisted) && unlisted == nil:
			unlisted = rule
		case id == RuleAskEveryone:
			if own == nil {
				own = rule
			}
			owns = append(owns, rule)
		}
	}
	if unlisted != nil || oma {
		for _, o := range owns {
			root.Remove(o)
		}
		if unlisted == nil {
			unlisted = xmltree.NewElement(root, NSCommonPolicy, "rule", "cp")
			root.Append(unlisted)
			cond := unlisted.AddElement(NSCommonPolicy, "conditions", "cp")
			cond.AddElement(NSOMACommonPolicy, "other-identity", "ocp")
		}
		if ask {
			unlisted.SetAttr("id", OMARuleUnlisted)
			setSubHandling(unlisted, Confirm)
		} else {
			unlisted.SetAttr("id", OMARuleAllowUnlisted)
			setSubHandling(unlisted, Allow)
		}
		return finish(dom)
	}
	switch {
	case ask && own == nil:
		own = xmltree.NewElement(root, NSCommonPolicy, "rule", "cp")
		own.SetAttr("id", RuleAskEveryone)
		root.Append(own)
		cond := own.AddElement(NSCommonPolicy, "conditions", "cp")
		cond.AddElement(NSOMACommonPolicy, "other-identity", "ocp")
		setSubHandling(own, Confirm)
	case !ask:
		for _, o := range owns {
			root.Remove(o)
		}
	}
	return finish(dom)
}

// UpdateUnlisted is SetUnlisted on the XCAP server, in layout auid (the
// OMA document is first given python-sipsimple's rules when it has none).
func UpdateUnlisted(ctx context.Context, c *xcap.Client, auid, self string, ask bool) error {
	oma := auid == OMAAUID
	listsURL := c.DocumentURL("resource-lists", "index")
	_, err := c.Update(ctx, xcap.DocumentRef{AUID: auid, Path: DocumentPath, ContentType: ContentType}, func(cur []byte) ([]byte, error) {
		if oma {
			var err error
			if cur, err = EnsureOMARules(cur, listsURL, self); err != nil {
				return nil, err
			}
		}
		return SetUnlisted(cur, oma, ask)
	})
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	return nil
}
