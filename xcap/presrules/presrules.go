// Package presrules reads, evaluates and edits presence authorization rules:
// RFC 5025 pres-rules over the RFC 4745 common-policy framework, with the
// OMA condition extensions (other-identity, anonymous-request,
// external-list).
//
// Evaluation follows RFC 4745, not Kamailio: every matching rule counts and
// the highest sub-handling wins. SetWatcher edits only the rules it owns
// (ids "sipbuddy_allow", "sipbuddy_block", "sipbuddy_confirm") and writes
// every other rule and all unknown content back as it was read; Update
// applies it to the document on the XCAP server.
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
	// Undo is no handling: given to an edit, it forgets the decision the
	// user made for a watcher. Decide never returns it.
	Undo Handling = -1
)

// handlingTokens are the XML tokens of the sub-handling values, for both
// String and ParseHandling.
var handlingTokens = [...]struct {
	h     Handling
	token string
}{{Block, "block"}, {Confirm, "confirm"}, {PoliteBlock, "polite-block"}, {Allow, "allow"}}

// String returns the XML token ("block", "confirm", ...).
func (h Handling) String() string {
	if h == Undo {
		return "undo"
	}
	for _, t := range handlingTokens {
		if t.h == h {
			return t.token
		}
	}
	return fmt.Sprintf("Handling(%d)", int(h))
}

// ParseHandling reads a sub-handling token (case-insensitive).
func ParseHandling(s string) (Handling, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, t := range handlingTokens {
		if t.token == s {
			return t.h, true
		}
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

// editDOM parses a rules document to edit; an empty one (no document yet)
// is an empty ruleset.
func editDOM(doc []byte) (*xmltree.Document, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = []byte(emptyRuleset)
	}
	return parseDOM(doc)
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
