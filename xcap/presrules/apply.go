package presrules

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Layout says which pres-rules document the account's other clients read
// on this server (DocumentAUID): OMA's when it exists or xcap-caps
// advertise it, IETF's otherwise. A server without xcap-caps is taken as
// not advertising it.
func Layout(ctx context.Context, c *xcap.Client) (string, error) {
	_, err := c.Get(ctx, OMAAUID, DocumentPath, "")
	exists := err == nil
	if err != nil && !xcap.IsNotFound(err) {
		return "", fmt.Errorf("pres-rules: %w", err)
	}
	caps, _ := c.Caps(ctx)
	return DocumentAUID(exists, caps), nil
}

// Apply gives watcher handling h (Undo: forget my decision) in the
// pres-rules layout auid (Layout).
//
// IETF: Update. OMA (python-sipsimple's wp_prs_* rules): allow and
// polite-block go in the lists Blink uses (oma_grantedcontacts,
// oma_blockedcontacts, UpdateOMA), and Blink has no hard block, so a
// Block takes the watcher out of both lists. In every case the decision is
// also sipbuddy's own identity rule (SetWatcher) in the OMA document, and
// in the IETF document when the account has one: servers that understand
// only <cp:one> (Kamailio, which reads either document) decide the same,
// and so do older sipbuddy clients. Undo takes the watcher out of the
// lists and the own rules, so that the other rules decide again. An
// *OverriddenError is returned after everything is stored.
func Apply(ctx context.Context, c *xcap.Client, auid, self, watcher string, h Handling) error {
	if auid != OMAAUID {
		return Update(ctx, c, watcher, h)
	}
	listed := h
	if h == Block {
		listed = Undo
	}
	var overridden *OverriddenError
	if err := UpdateOMA(ctx, c, self, watcher, listed); err != nil && !errors.As(err, &overridden) {
		return err
	}
	if err := updateOwn(ctx, c, OMAAUID, watcher, h); err != nil {
		return err
	}
	if err := updateOwn(ctx, c, AUID, watcher, h); err != nil {
		return err
	}
	return checkApplied(ctx, c, watcher, h)
}

// updateOwn edits sipbuddy's own rules of the document auid for watcher,
// writing only when that changes something; a missing IETF document is
// left missing.
func updateOwn(ctx context.Context, c *xcap.Client, auid, watcher string, h Handling) error {
	ref := xcap.DocumentRef{AUID: auid, Path: DocumentPath, ContentType: ContentType}
	cur, err := c.Get(ctx, ref.AUID, ref.Path, "")
	if err != nil && !xcap.IsNotFound(err) {
		return fmt.Errorf("pres-rules: %w", err)
	}
	if err == nil {
		next, err := SetWatcher(cur.Body, watcher, h)
		var oe *OverriddenError
		if err != nil && !errors.As(err, &oe) {
			return err
		}
		if bytes.Equal(next, cur.Body) {
			return nil
		}
	} else if h == Undo || auid != OMAAUID {
		return nil // nothing to take out; an IETF document is not created here
	}
	_, err = c.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		out, err := SetWatcher(cur, watcher, h)
		var oe *OverriddenError
		if errors.As(err, &oe) {
			return out, nil // checked by the caller with both documents
		}
		return out, err
	})
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	return nil
}

// checkApplied decides watcher with the account's stored rules documents
// (OMA and IETF, as the embedded server reads them: one ruleset) and its
// lists, and reports an *OverriddenError when the result is not h (Undo:
// nothing to check).
func checkApplied(ctx context.Context, c *xcap.Client, watcher string, h Handling) error {
	if h == Undo {
		return nil
	}
	var docs [][]byte
	for _, auid := range []string{OMAAUID, AUID} {
		d, err := c.Get(ctx, auid, DocumentPath, "")
		if err == nil {
			docs = append(docs, d.Body)
		} else if !xcap.IsNotFound(err) {
			return fmt.Errorf("pres-rules: %w", err)
		}
	}
	var lists []byte
	if l, err := c.Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, ""); err == nil {
		lists = l.Body
	} else if !xcap.IsNotFound(err) {
		return fmt.Errorf("resource-lists: %w", err)
	}
	decide, err := NewDeciderAll(docs, lists)
	if err != nil {
		return err
	}
	uri, _ := Canonical(watcher)
	if got, _ := decide(uri); got != h {
		return &OverriddenError{Watcher: uri, Want: h, Got: got}
	}
	return nil
}

// Document is the rules and lists documents an account's watchers are
// decided by, as Read fetched them.
type Document struct {
	// AUID is the layout (AUID or OMAAUID).
	AUID string
	// Rules and Lists are the documents' bodies, nil when missing.
	Rules, Lists []byte
}

// Read fetches the account's rules document of layout auid and its
// resource-lists document, for Watchers.
func Read(ctx context.Context, c *xcap.Client, auid string) (Document, error) {
	d := Document{AUID: auid}
	if r, err := c.Get(ctx, auid, DocumentPath, ""); err == nil {
		d.Rules = r.Body
	} else if !xcap.IsNotFound(err) {
		return d, fmt.Errorf("pres-rules: %w", err)
	}
	if l, err := c.Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, ""); err == nil {
		d.Lists = l.Body
	} else if !xcap.IsNotFound(err) {
		return d, fmt.Errorf("resource-lists: %w", err)
	}
	return d, nil
}

// Explainer reads a rules document of either layout and the account's
// resource-lists document once and returns Explain for any watcher, OMA
// external lists resolved: the decision, the deciding rule, and whether a
// rule matched at all (false: the server's default decides).
func Explainer(rulesDoc, listsDoc []byte) (func(watcher string) (h Handling, rule string, matched bool), error) {
	if len(bytes.TrimSpace(rulesDoc)) == 0 {
		return func(string) (Handling, string, bool) { return Confirm, "", false }, nil
	}
	rules, o, err := parseWithLists(rulesDoc, listsDoc)
	if err != nil {
		return nil, err
	}
	return func(watcher string) (Handling, string, bool) { return rules.Explain(watcher, o) }, nil
}

// MaxGrantedAtOnce bounds the watchers GrantOMA writes in one edit.
const MaxGrantedAtOnce = 1000

// GrantOMA puts watchers in python-sipsimple's oma_grantedcontacts in one
// edit of the resource-lists document (those beyond MaxGrantedAtOnce are
// left out and reported). It keeps the watchers who see me now seeing me
// when the OMA rules are about to be created: until then the server's
// default decided for them, and python-sipsimple's wp_prs_unlisted asks.
func GrantOMA(ctx context.Context, c *xcap.Client, watchers []string) error {
	var uris []string
	for _, w := range watchers {
		if uri, err := Canonical(w); err == nil {
			uris = append(uris, uri)
		}
	}
	if len(uris) == 0 {
		return nil
	}
	dropped := 0
	if len(uris) > MaxGrantedAtOnce {
		dropped = len(uris) - MaxGrantedAtOnce
		uris = uris[:MaxGrantedAtOnce]
	}
	_, err := c.Update(ctx, xcap.DocumentRef{AUID: resourcelists.AUID, Path: resourcelists.DocumentPath, ContentType: resourcelists.ContentType}, func(cur []byte) ([]byte, error) {
		for _, uri := range uris {
			var err error
			if cur, err = editLists(cur, uri, resourcelists.PolicyAllow); err != nil {
				return nil, err
			}
		}
		return cur, nil
	})
	if err != nil {
		return fmt.Errorf("resource-lists: %w", err)
	}
	if dropped > 0 {
		return fmt.Errorf("%w: %d watchers over %d not granted", ErrInvalid, dropped, MaxGrantedAtOnce)
	}
	return nil
}

// OMAExists reports whether the account has an OMA pres-rules document.
func OMAExists(ctx context.Context, c *xcap.Client) (bool, error) {
	_, err := c.Get(ctx, OMAAUID, DocumentPath, "")
	if xcap.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pres-rules: %w", err)
	}
	return true, nil
}

// NewDeciderAll is NewDecider over several rules documents read as one
// ruleset (the IETF and the OMA document of one account): every rule of
// every document counts, so other-identity means "named by no rule of
// any of them".
func NewDeciderAll(rulesDocs [][]byte, listsDoc []byte) (func(watcher string) (h Handling, matched bool), error) {
	all := &Rules{}
	for _, doc := range rulesDocs {
		r, err := Parse(doc)
		if err != nil {
			return nil, err
		}
		all.Rules = append(all.Rules, r.Rules...)
	}
	o, err := listsOptions(listsDoc)
	if err != nil {
		return nil, err
	}
	return func(watcher string) (Handling, bool) { return all.DecideWith(watcher, o) }, nil
}
