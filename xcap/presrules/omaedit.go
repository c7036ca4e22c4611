package presrules

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// omaPolicy is the addressbook presence policy that gives handling h under
// python-sipsimple's rules, and the handling to expect.
func omaPolicy(h Handling) (policy string, want Handling, err error) {
	switch h {
	case Allow:
		return resourcelists.PolicyAllow, Allow, nil
	case Block, PoliteBlock:
		// wp_prs_blockedcontacts is polite-block: the watcher sees me
		// offline rather than refused, as in Blink.
		return resourcelists.PolicyBlock, PoliteBlock, nil
	case Confirm, Undo:
		// Left to wp_prs_unlisted, which confirms unless the user chose
		// otherwise for everyone.
		return resourcelists.PolicyDefault, Confirm, nil
	}
	return "", 0, fmt.Errorf("%w: handling %d", ErrInvalid, int(h))
}

// SetWatcherOMA gives watcher handling h the way python-sipsimple does,
// in the two documents it reads: the resource-lists document listsDoc
// (nil or empty: a new one) records the decision (see
// resourcelists.Document.SetPresencePolicy), and the OMA pres-rules
// document rulesDoc (nil or empty: python-sipsimple's NewOMARuleset) gets
// the grant and block rules pointing at its lists when it lacks them;
// every other rule and all unknown content is kept. listsURL is the XCAP
// URL of the resource-lists document, self the account's address.
//
// Block is written as polite-block (OMARuleBlocked); Confirm and Undo
// leave the watcher to OMARuleUnlisted. When a rule still decides
// otherwise (another client's rule, or OMARuleAllowUnlisted for Confirm),
// both documents are returned with an *OverriddenError.
func SetWatcherOMA(rulesDoc, listsDoc []byte, listsURL, self, watcher string, h Handling) (rules, lists []byte, err error) {
	policy, want, err := omaPolicy(h)
	if err != nil {
		return nil, nil, err
	}
	uri, err := Canonical(watcher)
	if err != nil {
		return nil, nil, err
	}
	if lists, err = editLists(listsDoc, uri, policy); err != nil {
		return nil, nil, err
	}
	if rules, err = EnsureOMARules(rulesDoc, listsURL, self); err != nil {
		return nil, nil, err
	}
	return rules, lists, checkOMA(rules, lists, uri, h, want)
}

func editLists(listsDoc []byte, uri, policy string) ([]byte, error) {
	d := resourcelists.New()
	if len(bytes.TrimSpace(listsDoc)) > 0 {
		var err error
		if d, err = resourcelists.Parse(listsDoc); err != nil {
			return nil, fmt.Errorf("presrules: resource-lists: %w", err)
		}
	}
	if err := d.SetPresencePolicy(uri, policy); err != nil {
		return nil, fmt.Errorf("presrules: %w", err)
	}
	return d.Marshal()
}

// checkOMA decides the watcher with the edited documents.
func checkOMA(rules, lists []byte, uri string, h, want Handling) error {
	r, err := Parse(rules)
	if err != nil {
		return err
	}
	l, err := resourcelists.Parse(lists)
	if err != nil {
		return fmt.Errorf("presrules: %w", err)
	}
	got, matched := r.DecideWith(uri, DecideOptions{ExternalList: ExternalLists(l)})
	if !matched {
		got = Confirm
	}
	if h == Undo || got == want {
		return nil
	}
	return &OverriddenError{Watcher: uri, Want: want, Got: got}
}

// EnsureOMARules returns the OMA pres-rules document with
// OMARuleGranted and OMARuleBlocked present (added at the end, as
// python-sipsimple adds them, when missing); an empty document becomes
// NewOMARuleset. A document that has them is returned unchanged.
func EnsureOMARules(rulesDoc []byte, listsURL, self string) ([]byte, error) {
	if len(bytes.TrimSpace(rulesDoc)) == 0 {
		return NewOMARuleset(listsURL, self)
	}
	dom, err := parseDOM(rulesDoc)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	dom.Root.EachElement(func(c *xmltree.Node) {
		if c.Is(NSCommonPolicy, "rule") {
			id, _ := c.Attr("id")
			have[id] = true
		}
	})
	if have[OMARuleGranted] && have[OMARuleBlocked] {
		return rulesDoc, nil
	}
	for _, r := range []struct {
		id, list string
		h        Handling
	}{{OMARuleGranted, resourcelists.OMAGrantedContacts, Allow}, {OMARuleBlocked, resourcelists.OMABlockedContacts, PoliteBlock}} {
		if have[r.id] {
			continue
		}
		rule := xmltree.NewElement(dom.Root, NSCommonPolicy, "rule", "cp")
		rule.SetAttr("id", r.id)
		dom.Root.Append(rule)
		cond := xmltree.NewElement(rule, NSCommonPolicy, "conditions", "cp")
		rule.AppendInline(cond)
		ext := xmltree.NewElement(cond, NSOMACommonPolicy, "external-list", "ocp")
		cond.AppendInline(ext)
		entry := xmltree.NewElement(ext, NSOMACommonPolicy, "entry", "ocp")
		entry.SetAttr("anc", ListAnchor(listsURL, r.list))
		ext.AppendInline(entry)
		act := xmltree.NewElement(rule, NSCommonPolicy, "actions", "cp")
		rule.AppendInline(act)
		sh := xmltree.NewElement(act, NSPresRules, "sub-handling", "pr")
		sh.SetText(r.h.String())
		act.AppendInline(sh)
	}
	return finish(dom)
}

// UpdateOMA is SetWatcherOMA against the XCAP server: one
// xcap.Client.Update of the resource-lists document, then, only when the
// OMA pres-rules document lacks its grant and block rules, one of that
// document. self is the account's address. An *OverriddenError is
// returned after both are stored.
func UpdateOMA(ctx context.Context, c *xcap.Client, self, watcher string, h Handling) error {
	policy, want, err := omaPolicy(h)
	if err != nil {
		return err
	}
	uri, err := Canonical(watcher)
	if err != nil {
		return err
	}
	listsURL := c.DocumentURL(resourcelists.AUID, resourcelists.DocumentPath)
	lists, err := c.Update(ctx, xcap.DocumentRef{AUID: resourcelists.AUID, Path: resourcelists.DocumentPath, ContentType: resourcelists.ContentType}, func(cur []byte) ([]byte, error) {
		return editLists(cur, uri, policy)
	})
	if err != nil {
		return fmt.Errorf("resource-lists: %w", err)
	}
	ref := xcap.DocumentRef{AUID: OMAAUID, Path: DocumentPath, ContentType: ContentType}
	var rules []byte
	cur, err := c.Get(ctx, ref.AUID, ref.Path, "")
	switch {
	case err == nil:
		rules = cur.Body
	case !xcap.IsNotFound(err):
		return fmt.Errorf("pres-rules: %w", err)
	}
	ensured, err := EnsureOMARules(rules, listsURL, self)
	if err != nil {
		return err
	}
	if !bytes.Equal(ensured, rules) {
		stored, err := c.Update(ctx, ref, func(cur []byte) ([]byte, error) { return EnsureOMARules(cur, listsURL, self) })
		if err != nil {
			return fmt.Errorf("pres-rules: %w", err)
		}
		ensured = stored.Body
	}
	var overridden *OverriddenError
	if err := checkOMA(ensured, lists.Body, uri, h, want); errors.As(err, &overridden) {
		return overridden
	} else if err != nil {
		return err
	}
	return nil
}
