package server

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// MaxNodeSelectorSteps bounds the steps of a node selector.
const MaxNodeSelectorSteps = 64

// ErrBadNodeSelector is wrapped by every ParseNodeSelector error (400).
var ErrBadNodeSelector = errors.New("xcap: malformed node selector")

// Step is one location step of a node selector: `name`, `*`, `name[n]`,
// `name[@attr="value"]` or `name[n][@attr="value"]`.
type Step struct {
	Prefix, Local string // Local "*" matches any element
	Position      int    // 1-based; 0 when absent
	AttrPrefix    string
	AttrLocal     string // "" when there is no attribute test
	AttrValue     string // entity references resolved
}

// Terminal selects something below the last element step.
type Terminal int

// Terminal selectors.
const (
	TerminalNone      Terminal = iota
	TerminalAttribute          // "@name"
	TerminalNamespace          // "namespace::*"
)

// NodeSelector is a parsed RFC 4825 node selector.
type NodeSelector struct {
	Steps                 []Step
	Terminal              Terminal
	AttrPrefix, AttrLocal string // for TerminalAttribute
}

// ParseNodeSelector parses a percent-decoded node selector that starts with
// "/" ("/resource-lists/list[@name=\"friends\"]/@name").
func ParseNodeSelector(s string) (NodeSelector, error) {
	var ns NodeSelector
	if !strings.HasPrefix(s, "/") {
		return ns, fmt.Errorf("%w: must start with /", ErrBadNodeSelector)
	}
	parts, err := splitSteps(s[1:])
	if err != nil {
		return ns, err
	}
	if len(parts) > MaxNodeSelectorSteps {
		return ns, fmt.Errorf("%w: more than %d steps", ErrBadNodeSelector, MaxNodeSelectorSteps)
	}
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case last && i > 0 && strings.HasPrefix(p, "@"):
			prefix, local, ok := splitQName(p[1:])
			if !ok {
				return ns, fmt.Errorf("%w: bad attribute selector %q", ErrBadNodeSelector, p)
			}
			ns.Terminal, ns.AttrPrefix, ns.AttrLocal = TerminalAttribute, prefix, local
		case last && i > 0 && p == "namespace::*":
			ns.Terminal = TerminalNamespace
		default:
			st, err := parseStep(p)
			if err != nil {
				return ns, err
			}
			ns.Steps = append(ns.Steps, st)
		}
	}
	if len(ns.Steps) == 0 {
		return ns, fmt.Errorf("%w: no element step", ErrBadNodeSelector)
	}
	return ns, nil
}

// splitSteps splits at "/" outside predicates (and so outside the quoted
// strings they hold).
func splitSteps(s string) ([]string, error) {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			return nil, fmt.Errorf("%w: quote outside a predicate", ErrBadNodeSelector)
		case ']':
			return nil, fmt.Errorf("%w: unbalanced ]", ErrBadNodeSelector)
		case '[':
			end, err := predicateEnd(s[i:])
			if err != nil {
				return nil, err
			}
			i += end
		case '/':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: empty step", ErrBadNodeSelector)
		}
	}
	return parts, nil
}

func parseStep(p string) (Step, error) {
	var st Step
	name := p
	var preds []string
	if i := strings.IndexByte(p, '['); i >= 0 {
		name = p[:i]
		rest := p[i:]
		for rest != "" {
			if rest[0] != '[' {
				return st, fmt.Errorf("%w: junk after predicate in %q", ErrBadNodeSelector, p)
			}
			end, err := predicateEnd(rest)
			if err != nil {
				return st, fmt.Errorf("%w in %q", err, p)
			}
			preds = append(preds, rest[1:end])
			rest = rest[end+1:]
		}
	}
	if name == "*" {
		st.Local = "*"
	} else {
		prefix, local, ok := splitQName(name)
		if !ok {
			return st, fmt.Errorf("%w: bad element name %q", ErrBadNodeSelector, name)
		}
		st.Prefix, st.Local = prefix, local
	}
	switch len(preds) {
	case 0:
	case 1:
		if strings.HasPrefix(preds[0], "@") {
			if err := parseAttrTest(preds[0], &st); err != nil {
				return st, err
			}
		} else if err := parsePosition(preds[0], &st); err != nil {
			return st, err
		}
	case 2:
		if err := parsePosition(preds[0], &st); err != nil {
			return st, err
		}
		if err := parseAttrTest(preds[1], &st); err != nil {
			return st, err
		}
	default:
		return st, fmt.Errorf("%w: too many predicates in %q", ErrBadNodeSelector, p)
	}
	return st, nil
}

// predicateEnd returns the index of the "]" closing the predicate that
// starts at s[0] == '[', skipping quoted strings. Node selectors have no
// nested predicates, so a "[" outside quotes is an error, as is a
// predicate that never closes.
func predicateEnd(s string) (int, error) {
	quote := byte(0)
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			return -1, fmt.Errorf("%w: nested [", ErrBadNodeSelector)
		case c == ']':
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: unterminated predicate", ErrBadNodeSelector)
}

func parsePosition(p string, st *Step) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || p[0] == '+' {
		return fmt.Errorf("%w: bad position %q", ErrBadNodeSelector, p)
	}
	st.Position = n
	return nil
}

func parseAttrTest(p string, st *Step) error {
	name, value, ok := strings.Cut(p[1:], "=")
	if !ok {
		return fmt.Errorf("%w: attribute test %q has no value", ErrBadNodeSelector, p)
	}
	prefix, local, ok := splitQName(name)
	if !ok {
		return fmt.Errorf("%w: bad attribute name %q", ErrBadNodeSelector, name)
	}
	if len(value) < 2 || (value[0] != '"' && value[0] != '\'') || value[len(value)-1] != value[0] ||
		strings.IndexByte(value[1:len(value)-1], value[0]) >= 0 {
		return fmt.Errorf("%w: attribute value %q must be quoted", ErrBadNodeSelector, value)
	}
	v, err := unescapeAttValue(value[1 : len(value)-1])
	if err != nil {
		return err
	}
	st.AttrPrefix, st.AttrLocal, st.AttrValue = prefix, local, v
	return nil
}

// unescapeAttValue resolves the XML entity and character references an
// AttValue may contain (&quot; is how a quote is written inside one).
func unescapeAttValue(v string) (string, error) {
	if !strings.ContainsAny(v, "&<") {
		return v, nil
	}
	doc, err := xmltree.Parse([]byte(`<a v="`+strings.ReplaceAll(v, `"`, "&quot;")+`"/>`), xmltree.Limits{})
	if err != nil {
		return "", fmt.Errorf("%w: attribute value %q: %v", ErrBadNodeSelector, v, err)
	}
	out, _ := doc.Root.Attr("v")
	return out, nil
}

func splitQName(s string) (prefix, local string, ok bool) {
	if p, l, found := strings.Cut(s, ":"); found {
		return p, l, isNCName(p) && isNCName(l)
	}
	return "", s, isNCName(s)
}

// isNCName checks prefixes and names in selectors and xmlns() bindings.
var isNCName = xmltree.IsNCName

// selection is what a node selector picked.
type selection struct {
	elem     *xmltree.Node
	attr     *xmltree.Attr // TerminalAttribute
	terminal Terminal
}

// selectNode evaluates ns on the document root. Unprefixed element names
// match by local name (liberal: the AUID default namespace of pres-rules is
// not the namespace of its <ruleset> root); prefixed names must be bound in
// bindings and match the namespace URI exactly. Exactly one node must match.
func selectNode(root *xmltree.Node, ns NodeSelector, bindings map[string]string) (selection, error) {
	resolve := func(prefix string) (string, error) {
		uri, ok := bindings[prefix]
		if !ok {
			return "", fmt.Errorf("%w: prefix %q has no xmlns() binding", ErrBadNodeSelector, prefix)
		}
		return uri, nil
	}
	matchName := func(n *xmltree.Node, prefix, local string) (bool, error) {
		if local != "*" && n.Local != local {
			return false, nil
		}
		if prefix == "" {
			return true, nil
		}
		uri, err := resolve(prefix)
		return err == nil && n.Space == uri, err
	}
	matchAttr := func(e *xmltree.Node, st Step) (bool, error) {
		if st.AttrLocal == "" {
			return true, nil
		}
		want := ""
		if st.AttrPrefix != "" {
			uri, err := resolve(st.AttrPrefix)
			if err != nil {
				return false, err
			}
			want = uri
		}
		v, ok := e.AttrNS(want, st.AttrLocal)
		return ok && v == st.AttrValue, nil
	}

	var current []*xmltree.Node
	// The first step selects the root element (the document node's child).
	candidates := [][]*xmltree.Node{{root}}
	for i, st := range ns.Steps {
		var next []*xmltree.Node
		for _, siblings := range candidates {
			pos := 0
			for _, c := range siblings {
				if c.Kind != xmltree.Element {
					continue
				}
				ok, err := matchName(c, st.Prefix, st.Local)
				if err != nil {
					return selection{}, err
				}
				if !ok {
					continue
				}
				pos++
				if st.Position != 0 && pos != st.Position {
					continue
				}
				ok, err = matchAttr(c, st)
				if err != nil {
					return selection{}, err
				}
				if ok {
					next = append(next, c)
				}
			}
		}
		current = next
		if len(current) == 0 {
			return selection{}, errNoMatch
		}
		if i < len(ns.Steps)-1 {
			candidates = candidates[:0]
			for _, e := range current {
				candidates = append(candidates, e.Children)
			}
		}
	}
	if len(current) != 1 {
		return selection{}, fmt.Errorf("%w: %d elements match", errNoMatch, len(current))
	}
	sel := selection{elem: current[0], terminal: ns.Terminal}
	if ns.Terminal == TerminalAttribute {
		want := ""
		if ns.AttrPrefix != "" {
			uri, err := resolve(ns.AttrPrefix)
			if err != nil {
				return selection{}, err
			}
			want = uri
		}
		for i := range sel.elem.Attrs {
			a := &sel.elem.Attrs[i]
			if a.Local == ns.AttrLocal && a.Space == want && !a.IsNamespaceDecl() {
				sel.attr = a
				return sel, nil
			}
		}
		return selection{}, errNoMatch
	}
	return sel, nil
}
