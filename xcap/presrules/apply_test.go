package presrules

import (
	"context"
	"errors"
	"testing"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Apply in the OMA layout on the embedded XCAP server: each decision is
// read back by what a server decides with both stored documents (sipbuddy's
// own identity rules come first, so they are named), and the Blink lists
// say what Blink shows.
func TestApplyOMALayout(t *testing.T) {
	c := aliceClient(t)
	ctx := context.Background()
	auid, err := Layout(ctx, c)
	if err != nil || auid != OMAAUID {
		t.Fatalf("layout %q, %v; the embedded server advertises the OMA AUID", auid, err)
	}
	const self, carol = "sip:alice@example.test", "sip:carol@example.test"
	decided := func() (Handling, string, bool) {
		t.Helper()
		d, err := Read(ctx, c, auid)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := Watchers(d.Rules, d.Lists, carol)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.Watcher == carol {
				lists, _ := resourcelists.Parse(d.Lists)
				granted, _ := lists.ListURIs(resourcelists.OMAGrantedContacts)
				inGranted := len(granted) > 0
				return w.Handling, w.Rule, inGranted
			}
		}
		return Confirm, "", false
	}
	for _, step := range []struct {
		h       Handling
		want    Handling
		rule    string
		granted bool
	}{
		{Allow, Allow, RuleAllow, true},
		{Block, Block, RuleBlock, false},
		{PoliteBlock, PoliteBlock, RulePoliteBlock, false},
		{Block, Block, RuleBlock, false},
		{Undo, Confirm, OMARuleUnlisted, false},
	} {
		if err := Apply(ctx, c, auid, self, carol, step.h); err != nil {
			t.Fatalf("%v: %v", step.h, err)
		}
		h, rule, granted := decided()
		if h != step.want || rule != step.rule || granted != step.granted {
			t.Errorf("after %v: %v by %q (in granted list: %v), want %v by %q (%v)", step.h, h, rule, granted, step.want, step.rule, step.granted)
		}
	}
}

// In the IETF layout Apply is Update; a rule of another client that gives
// more is reported.
func TestApplyIETFLayout(t *testing.T) {
	c := aliceClient(t)
	ctx := context.Background()
	const self, carol = "sip:alice@example.test", "sip:carol@example.test"
	for _, h := range []Handling{Block, Allow, PoliteBlock, Undo} {
		if err := Apply(ctx, c, AUID, self, carol, h); err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		d, err := Read(ctx, c, AUID)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := Parse(d.Rules)
		got, matched := r.Decide(carol)
		if h == Undo {
			if matched {
				t.Errorf("after undo carol is still decided (%v):\n%s", got, d.Rules)
			}
			continue
		}
		if got != h {
			t.Errorf("after %v: %v\n%s", h, got, d.Rules)
		}
	}
	var oe *OverriddenError
	allowAll := []byte(`<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cp:rule id="everyone"><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule></cp:ruleset>`)
	if _, err := c.Put(ctx, AUID, DocumentPath, allowAll, ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, c, AUID, self, carol, Block); !errors.As(err, &oe) || oe.Got != Allow {
		t.Errorf("block under allow-everyone: %v", err)
	}
}
