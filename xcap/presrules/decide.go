package presrules

import (
	"fmt"
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

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
	identified := r.identified(w, o)
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

// identified reports whether some rule's identity or external-list
// condition names the watcher: what other-identity is the complement of.
func (r *Rules) identified(w watcherID, o DecideOptions) bool {
	for i := range r.Rules {
		if r.Rules[i].identityMatches(w, o) {
			return true
		}
	}
	return false
}

// ruleMatches reports whether rule i alone matches the watcher.
func (r *Rules) ruleMatches(i int, watcher string, o DecideOptions) bool {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	w := parseWatcher(watcher)
	return r.Rules[i].matches(w, o, r.identified(w, o))
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

// parseWatcher normalises a watcher or rule URI with internal/sipuri, so
// that the server's authorization, the watcher list and the rules written
// all agree on who a watcher is: angle brackets, parameters, headers and
// the port are dropped, "sips:" compares as "sip:", a bare "user@host" is
// read as a SIP URI, and host and user compare case-blind (sipuri's AOR
// rule). A rule naming only a domain ("sip:example.test") keys as
// "sip:host". RFC 3323 anonymous URIs and "" are anonymous; what is not a
// SIP address keys as written, so it matches nobody but itself.
func parseWatcher(s string) watcherID {
	s = strings.TrimSpace(s)
	if s == "" {
		return watcherID{anonymous: true}
	}
	u, err := sipuri.ParseAddress(s)
	if err != nil && strings.Contains(s, "%") {
		// python-sipsimple writes URI attributes percent-encoded.
		u, err = sipuri.ParseAddress(resourcelists.DecodeAnyURI(s))
	}
	if err != nil {
		return watcherID{key: s}
	}
	aor := u.AOR()
	key := aor.String()
	anon := aor.Host == "anonymous.invalid" // RFC 3323
	return watcherID{key: key, domain: aor.Host, anonymous: anon}
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
