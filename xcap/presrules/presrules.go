// Package presrules reads, evaluates and edits presence authorization rules:
// RFC 5025 pres-rules over the RFC 4745 common-policy framework, with the
// OMA condition extensions (other-identity, anonymous-request,
// external-list).
//
// Evaluation follows RFC 4745, not Kamailio: every matching rule counts and
// the highest sub-handling wins. SetWatcher edits only the rules it owns
// (ids "sipbuddy_allow", "sipbuddy_block", "sipbuddy_confirm") and writes
// every other rule and all unknown content back as it was read.
package presrules

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Namespaces and XCAP names.
const (
	NSCommonPolicy    = "urn:ietf:params:xml:ns:common-policy"
	NSPresRules       = "urn:ietf:params:xml:ns:pres-rules"
	NSOMACommonPolicy = "urn:oma:xml:xdm:common-policy"
	AUID              = "pres-rules"
	OMAAUID           = "org.openmobilealliance.pres-rules"
	ContentType       = "application/auth-policy+xml"
	DocumentPath      = "index"
)

// Limits.
const (
	// MaxDocumentSize is the largest rules document accepted, in bytes.
	MaxDocumentSize = 1 << 20
	// MaxDepth bounds element nesting.
	MaxDepth = 64
	// MaxNodes bounds the number of nodes in a document.
	MaxNodes = 100000
)

// Handling is the sub-handling action (RFC 5025 §3.2.1). Values are
// ordered: when several rules match, the highest wins.
type Handling int

// Handling values, with RFC 5025's numeric order.
const (
	Block       Handling = 0  // reject the subscription
	Confirm     Handling = 10 // pending until the presentity decides
	PoliteBlock Handling = 20 // accept, but send neutral (fake) state
	Allow       Handling = 30 // accept and send presence
)

// String returns the XML token ("block", "confirm", ...).
func (h Handling) String() string {
	switch h {
	case Block:
		return "block"
	case Confirm:
		return "confirm"
	case PoliteBlock:
		return "polite-block"
	case Allow:
		return "allow"
	}
	return fmt.Sprintf("Handling(%d)", int(h))
}

// ParseHandling reads a sub-handling token (case-insensitive).
func ParseHandling(s string) (Handling, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "block":
		return Block, true
	case "confirm":
		return Confirm, true
	case "polite-block":
		return PoliteBlock, true
	case "allow":
		return Allow, true
	}
	return Block, false
}

// limits are the XML limits of a rules document.
var limits = xmltree.Limits{MaxBytes: MaxDocumentSize, MaxDepth: MaxDepth, MaxNodes: MaxNodes}

// Errors. A document over a limit is an *xmltree.LimitError.
var (
	ErrNotRules = errors.New("presrules: not a common-policy ruleset")
	ErrInvalid  = errors.New("presrules: invalid argument")
)

// Rules is a parsed ruleset.
type Rules struct {
	Rules []Rule
}

// Rule is one <cp:rule>, reduced to what evaluation needs.
type Rule struct {
	ID string
	// Identity is the <cp:identity> condition; nil when absent.
	Identity *Identity
	// ExternalLists are OMA <ocp:external-list> anchors (resource-lists
	// list URIs); the condition holds when the watcher is in any of them.
	ExternalLists []string
	// HasExternalList is true when the rule has an external-list
	// condition (even an empty one).
	HasExternalList bool
	// OtherIdentity: OMA <ocp:other-identity/>, anyone matched by no
	// identity or external-list condition of any rule.
	OtherIdentity bool
	// AnonymousRequest: OMA <ocp:anonymous-request/>.
	AnonymousRequest bool
	// Spheres are <cp:sphere value> conditions (all must hold).
	Spheres []string
	// Validity holds the <cp:validity> intervals; nil when absent.
	Validity []Interval
	// Unsupported is set when the conditions contain an element this
	// package does not understand; such a rule never matches (RFC 4745
	// §7: a condition that cannot be evaluated is false).
	Unsupported bool
	// SubHandling is the rule's action; HasSubHandling is false when the
	// rule has none (it then grants Block, the lowest value).
	SubHandling    Handling
	HasSubHandling bool
}

// Identity is a <cp:identity> condition: it holds when any child matches.
type Identity struct {
	One  []string
	Many []Many
}

// Many is a <cp:many> element: every authenticated identity (of Domain,
// when set) except the listed ones.
type Many struct {
	Domain        string
	ExceptIDs     []string
	ExceptDomains []string
}

// Interval is one <cp:from>/<cp:until> pair.
type Interval struct{ From, Until time.Time }

// Parse reads a ruleset.
func Parse(data []byte) (*Rules, error) {
	dom, err := parseDOM(data)
	if err != nil {
		return nil, err
	}
	r := &Rules{}
	for _, el := range dom.Root.Elements() {
		if el.Is(NSCommonPolicy, "rule") {
			r.Rules = append(r.Rules, parseRule(el))
		}
	}
	return r, nil
}

func parseDOM(data []byte) (*xmltree.Document, error) {
	dom, err := xmltree.Parse(data, limits)
	if err != nil {
		return nil, fmt.Errorf("presrules: %w", err)
	}
	if !dom.Root.Is(NSCommonPolicy, "ruleset") {
		return nil, fmt.Errorf("%w: root element is {%s}%s", ErrNotRules, dom.Root.Space, dom.Root.Local)
	}
	return dom, nil
}

func parseRule(el *xmltree.Node) Rule {
	var r Rule
	r.ID, _ = el.Attr("id")
	if cond := el.Child(NSCommonPolicy, "conditions"); cond != nil {
		for _, c := range cond.Elements() {
			switch {
			case c.Is(NSCommonPolicy, "identity"):
				id := parseIdentity(c)
				if r.Identity == nil {
					r.Identity = &id
				} else {
					// Two identity elements: both must hold; merging them
					// would widen the rule, so only keep it if equal.
					r.Unsupported = true
				}
			case c.Is(NSCommonPolicy, "sphere"):
				v, _ := c.Attr("value")
				r.Spheres = append(r.Spheres, v)
			case c.Is(NSCommonPolicy, "validity"):
				r.Validity = append(r.Validity, parseValidity(c)...)
				if r.Validity == nil {
					r.Validity = []Interval{} // present but empty: never valid
				}
			case c.Is(NSOMACommonPolicy, "external-list"):
				r.HasExternalList = true
				for _, e := range c.Elements() {
					if e.Is(NSOMACommonPolicy, "entry") {
						if anc, ok := e.Attr("anc"); ok {
							r.ExternalLists = append(r.ExternalLists, strings.TrimSpace(anc))
						}
					}
				}
			case c.Is(NSOMACommonPolicy, "other-identity"):
				r.OtherIdentity = true
			case c.Is(NSOMACommonPolicy, "anonymous-request"):
				r.AnonymousRequest = true
			default:
				r.Unsupported = true
			}
		}
	}
	if act := el.Child(NSCommonPolicy, "actions"); act != nil {
		if sh := act.Child(NSPresRules, "sub-handling"); sh != nil {
			// An unknown token grants nothing more than block.
			r.SubHandling, _ = ParseHandling(sh.TextContent())
			r.HasSubHandling = true
		}
	}
	return r
}

func parseIdentity(el *xmltree.Node) Identity {
	var id Identity
	for _, c := range el.Elements() {
		switch {
		case c.Is(NSCommonPolicy, "one"):
			if v, ok := c.Attr("id"); ok {
				id.One = append(id.One, v)
			}
		case c.Is(NSCommonPolicy, "many"):
			var m Many
			m.Domain, _ = c.Attr("domain")
			for _, e := range c.Elements() {
				if !e.Is(NSCommonPolicy, "except") {
					continue
				}
				if v, ok := e.Attr("id"); ok {
					m.ExceptIDs = append(m.ExceptIDs, v)
				}
				if v, ok := e.Attr("domain"); ok {
					m.ExceptDomains = append(m.ExceptDomains, v)
				}
			}
			id.Many = append(id.Many, m)
		}
	}
	return id
}

func parseValidity(el *xmltree.Node) []Interval {
	var out []Interval
	var from time.Time
	haveFrom := false
	for _, c := range el.Elements() {
		switch {
		case c.Is(NSCommonPolicy, "from"):
			from, haveFrom = parseTime(c.TextContent()), true
		case c.Is(NSCommonPolicy, "until"):
			if haveFrom {
				out = append(out, Interval{From: from, Until: parseTime(c.TextContent())})
				haveFrom = false
			}
		}
	}
	return out
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// parseTime reads xs:dateTime; an unreadable value is the zero time, which
// makes its interval empty (never valid) rather than open-ended.
func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t
		}
	}
	return time.Time{}
}

// DecideOptions are the inputs of an evaluation besides the watcher.
type DecideOptions struct {
	// Now is the evaluation time for validity conditions; zero: time.Now().
	Now time.Time
	// Sphere is the presentity's current sphere ("" when unknown: sphere
	// conditions then do not hold).
	Sphere string
	// ExternalList resolves an OMA external-list anchor to the URIs of
	// its entries; nil or ok=false: the condition does not hold.
	ExternalList func(anchor string) (uris []string, ok bool)
}

// Decide evaluates the rules for watcher (a SIP URI; "" or an anonymous
// URI for anonymous requests) at the current time. It returns the highest
// sub-handling of all matching rules (a matching rule without
// sub-handling grants Block), and matched=false when no rule matches, so
// the caller applies its own default.
func (r *Rules) Decide(watcher string) (h Handling, matched bool) {
	return r.DecideWith(watcher, DecideOptions{})
}

// DecideWith is Decide with explicit options.
func (r *Rules) DecideWith(watcher string, o DecideOptions) (h Handling, matched bool) {
	if r == nil {
		return Block, false
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	w := parseWatcher(watcher)
	identified := false // matched by some identity or external-list condition
	for i := range r.Rules {
		if r.Rules[i].identityMatches(w, o) {
			identified = true
			break
		}
	}
	for i := range r.Rules {
		rule := &r.Rules[i]
		if !rule.matches(w, o, identified) {
			continue
		}
		granted := Block
		if rule.HasSubHandling {
			granted = rule.SubHandling
		}
		if !matched || granted > h {
			h = granted
		}
		matched = true
	}
	return h, matched
}

// identityMatches reports whether the rule's identity or external-list
// condition names the watcher (other conditions aside); it is what
// other-identity is the complement of.
func (rule *Rule) identityMatches(w watcherID, o DecideOptions) bool {
	if w.anonymous {
		return false
	}
	if rule.Identity != nil && rule.Identity.matches(w) {
		return true
	}
	return rule.HasExternalList && externalMatches(rule.ExternalLists, w, o)
}

func (rule *Rule) matches(w watcherID, o DecideOptions, identified bool) bool {
	if rule.Unsupported {
		return false
	}
	if rule.Identity != nil && (w.anonymous || !rule.Identity.matches(w)) {
		return false
	}
	if rule.HasExternalList && (w.anonymous || !externalMatches(rule.ExternalLists, w, o)) {
		return false
	}
	if rule.OtherIdentity && (w.anonymous || identified) {
		return false
	}
	if rule.AnonymousRequest && !w.anonymous {
		return false
	}
	for _, s := range rule.Spheres {
		if o.Sphere == "" || !containsToken(s, o.Sphere) {
			return false
		}
	}
	if rule.Validity != nil {
		valid := false
		for _, iv := range rule.Validity {
			if !iv.From.IsZero() && !iv.Until.IsZero() && !o.Now.Before(iv.From) && o.Now.Before(iv.Until) {
				valid = true
				break
			}
		}
		if !valid {
			return false
		}
	}
	return true
}

func containsToken(list, tok string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

func externalMatches(anchors []string, w watcherID, o DecideOptions) bool {
	if o.ExternalList == nil {
		return false
	}
	for _, a := range anchors {
		uris, ok := o.ExternalList(a)
		if !ok {
			continue
		}
		for _, u := range uris {
			if parseWatcher(u).key == w.key {
				return true
			}
		}
	}
	return false
}

func (id *Identity) matches(w watcherID) bool {
	for _, one := range id.One {
		if parseWatcher(one).key == w.key {
			return true
		}
	}
	for _, m := range id.Many {
		if m.Domain != "" && !strings.EqualFold(strings.TrimSpace(m.Domain), w.domain) {
			continue
		}
		excluded := false
		for _, e := range m.ExceptIDs {
			if parseWatcher(e).key == w.key {
				excluded = true
			}
		}
		for _, d := range m.ExceptDomains {
			if strings.EqualFold(strings.TrimSpace(d), w.domain) {
				excluded = true
			}
		}
		if !excluded {
			return true
		}
	}
	return false
}

// watcherID is a watcher URI in comparison form.
type watcherID struct {
	key       string // "sip:user@host" with scheme and host lower-cased
	domain    string // host, lower-case
	anonymous bool
}

// parseWatcher normalises a watcher or rule URI: angle brackets, URI
// parameters and headers are dropped, "sips:" compares as "sip:", a bare
// "user@host" is read as a SIP URI; the host is case-insensitive, the user
// part is not. RFC 3323 anonymous URIs and "" are anonymous.
func parseWatcher(s string) watcherID {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	if s == "" {
		return watcherID{anonymous: true}
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "@") {
		scheme, rest = "sip", s
	}
	scheme = strings.ToLower(scheme)
	if scheme == "sips" {
		scheme = "sip"
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	user, host, hasUser := strings.Cut(rest, "@")
	if !hasUser {
		user, host = "", rest
	}
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h // a port does not change who the watcher is
	}
	key := scheme + ":" + host
	if hasUser {
		key = scheme + ":" + user + "@" + host
	}
	anon := host == "anonymous.invalid" // RFC 3323
	return watcherID{key: key, domain: host, anonymous: anon}
}

// Canonical returns the form SetWatcher writes for a watcher URI
// ("sip:bob@example.test"), or an error when it is not one.
func Canonical(watcher string) (string, error) {
	w := parseWatcher(watcher)
	if w.anonymous || w.domain == "" || !strings.Contains(w.key, "@") {
		return "", fmt.Errorf("%w: %q is not a watcher URI (sip:user@domain)", ErrInvalid, watcher)
	}
	if !xmltree.ValidText(w.key) {
		return "", fmt.Errorf("%w: %q contains characters XML cannot carry", ErrInvalid, watcher)
	}
	return w.key, nil
}

// Rule ids SetWatcher owns, one per decision.
const (
	RuleAllow   = "sipbuddy_allow"
	RuleBlock   = "sipbuddy_block"
	RuleConfirm = "sipbuddy_confirm"
)

var ownRules = []string{RuleAllow, RuleBlock, RuleConfirm}

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
// Block is written as polite-block, in rule "sipbuddy_block". Under RFC
// 4745 the highest sub-handling of all matching rules wins, so a hard
// "block" (0) loses to any catch-all rule, even a "confirm" (10) for
// everyone else, as sipsimple writes for unlisted watchers: the blocked
// watcher would be asked about again. polite-block (20) beats confirm and
// still shows the watcher nothing real. The own rules are placed first in
// the ruleset, so servers that take the first matching rule (Kamailio)
// decide the same way.
//
// When a rule sipbuddy does not own still gives the watcher more than
// asked for, the document is returned together with an *OverriddenError.
func SetWatcher(doc []byte, watcher string, h Handling) ([]byte, error) {
	target := ""
	want := h
	switch h {
	case Allow:
		target = RuleAllow
	case Block, PoliteBlock:
		target, want = RuleBlock, PoliteBlock
	case Confirm:
		target = RuleConfirm
	default:
		return nil, fmt.Errorf("%w: handling %d", ErrInvalid, int(h))
	}
	uri, err := Canonical(watcher)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = []byte(emptyRuleset)
	}
	dom, err := parseDOM(doc)
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

	if targetRule == nil {
		targetRule = newOwnRule(root, target, want)
	}
	setSubHandling(targetRule, want)
	ident := identityOf(targetRule)
	if ident == nil {
		cond := targetRule.Child(NSCommonPolicy, "conditions")
		if cond == nil {
			cond = xmltree.NewElement(targetRule, NSCommonPolicy, "conditions", "cp")
			if first := firstElement(targetRule); first != nil {
				targetRule.InsertBefore(cond, first)
			} else {
				targetRule.Append(cond)
			}
		}
		ident = xmltree.NewElement(cond, NSCommonPolicy, "identity", "cp")
		if first := firstElement(cond); first != nil {
			cond.InsertBefore(ident, first)
		} else {
			cond.Append(ident)
		}
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
		var firstMany *xmltree.Node
		for _, c := range ident.Elements() {
			if c.Is(NSCommonPolicy, "many") {
				firstMany = c
				break
			}
		}
		if firstMany != nil {
			ident.InsertBefore(one, firstMany)
		} else {
			ident.Append(one)
		}
	}

	out := dom.Bytes()
	if len(out) > MaxDocumentSize {
		return nil, fmt.Errorf("presrules: %w", xmltree.TooLarge(xmltree.WhatSize, len(out), MaxDocumentSize))
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

func firstElement(n *xmltree.Node) *xmltree.Node {
	for _, c := range n.Children {
		if c.Kind == xmltree.Element {
			return c
		}
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
	var firstRule *xmltree.Node
	for _, c := range root.Elements() {
		if c.Is(NSCommonPolicy, "rule") {
			firstRule = c
			break
		}
	}
	if firstRule != nil {
		root.InsertBefore(rule, firstRule)
	} else {
		root.Append(rule)
	}
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
		if tr := rule.Child(NSCommonPolicy, "transformations"); tr != nil {
			rule.InsertBefore(act, tr)
		} else {
			rule.Append(act)
		}
	}
	sh := act.Child(NSPresRules, "sub-handling")
	if sh == nil {
		sh = xmltree.NewElement(act, NSPresRules, "sub-handling", "pr")
		if first := firstElement(act); first != nil {
			act.InsertBefore(sh, first)
		} else {
			act.Append(sh)
		}
	}
	sh.SetText(h.String())
}
