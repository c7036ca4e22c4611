package resourcelists

import (
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// ListURIs returns the entry URIs of the top-level list called name
// (nested lists included, external lists not followed), and false when
// the document has no such list. OMA pres-rules' external-list conditions
// name such lists (oma_grantedcontacts, oma_blockedcontacts).
func (d *Document) ListURIs(name string) ([]string, bool) {
	l := d.findList(name)
	if l == nil {
		return nil, false
	}
	var out []string
	var walk func(n *xmltree.Node)
	walk = func(n *xmltree.Node) {
		n.EachElement(func(c *xmltree.Node) {
			switch {
			case c.Is(Namespace, "list"):
				walk(c)
			case c.Is(Namespace, "entry"):
				if u, _ := c.Attr("uri"); DecodeAnyURI(u) != "" {
					out = append(out, DecodeAnyURI(u))
				}
			}
		})
	}
	walk(l)
	return out, true
}

// SetPresencePolicy records whether watcher uri may see my presence
// (PolicyAllow), may not (PolicyBlock), or is left to the rule for
// unlisted watchers (PolicyDefault), where OMA pres-rules and
// python-sipsimple read it:
//   - with python-sipsimple's addressbook, on the contacts with that URI
//     (their presence policy), or else on a policy element for the URI
//     (created, updated, or deleted for PolicyDefault), because Blink
//     derives oma_grantedcontacts and oma_blockedcontacts from them and
//     rewrites those lists on its next normalization;
//   - in oma_grantedcontacts and oma_blockedcontacts (created when
//     missing), with the membership python-sipsimple would derive for the
//     URI. Entries of other URIs are left as they are.
func (d *Document) SetPresencePolicy(uri, policy string) error {
	uri = strings.TrimSpace(uri)
	if err := checkURI(uri); err != nil {
		return err
	}
	switch policy {
	case PolicyAllow, PolicyBlock, PolicyDefault:
	default:
		return fmt.Errorf("%w: presence policy %q (want allow, block or default)", ErrInvalid, policy)
	}
	key := uriKey(uri)
	allowed, blocked := policy == PolicyAllow, policy == PolicyBlock
	if d.hasAddressbook() {
		contacts := d.contactsWith(key)
		for _, c := range contacts {
			setHandlingPolicy(c, policy)
		}
		if len(contacts) == 0 {
			d.setPolicyElement(uri, key, policy)
		}
		allowed, blocked = d.derivedPolicy(key)
	}
	d.setMembership(OMAGrantedContacts, uri, key, allowed)
	d.setMembership(OMABlockedContacts, uri, key, blocked)
	return nil
}

// derivedPolicy is python-sipsimple's derivation of the two lists
// (sipsimple/account/xcap NormalizeOperation) for one URI: a contact's
// block wins over its allow, and policy elements count only for URIs no
// contact has.
func (d *Document) derivedPolicy(key string) (allowed, blocked bool) {
	ab := d.readAddressbook()
	var contactAllow, contactBlock, isContact, policyAllow, policyBlock bool
	for _, c := range ab.Contacts {
		for _, u := range c.URIs {
			if uriKey(u.URI) != key {
				continue
			}
			isContact = true
			contactAllow = contactAllow || c.Presence.Policy == PolicyAllow
			contactBlock = contactBlock || c.Presence.Policy == PolicyBlock
		}
	}
	for _, p := range ab.Policies {
		if uriKey(p.URI) == key {
			policyAllow = policyAllow || p.Presence.Policy == PolicyAllow
			policyBlock = policyBlock || p.Presence.Policy == PolicyBlock
		}
	}
	allowed = contactAllow && !contactBlock || !isContact && policyAllow && !policyBlock
	blocked = contactBlock || !isContact && policyBlock
	return allowed, blocked
}

// setHandlingPolicy sets <presence><policy> of a contact or policy element.
func setHandlingPolicy(n *xmltree.Node, policy string) {
	p := n.Child(NSAddressbook, "presence")
	if p == nil {
		p = xmltree.NewElement(n, NSAddressbook, "presence", "addressbook")
		n.AppendInline(p)
		sub := xmltree.NewElement(p, NSAddressbook, "subscribe", "addressbook")
		sub.SetText("false")
		p.AppendInline(sub)
	}
	setABText(p, "policy", policy)
}

// setPolicyElement makes the addressbook's policy element for uri say
// policy; PolicyDefault deletes it (python-sipsimple's default handling
// is what no element says).
func (d *Document) setPolicyElement(uri, key, policy string) {
	l := d.addressbookList()
	var have []*xmltree.Node
	for _, n := range l.Children {
		if n.Is(NSAddressbook, "policy-element") {
			if u, _ := n.Attr("uri"); uriKey(u) == key {
				have = append(have, n)
			}
		}
	}
	if policy == PolicyDefault {
		for _, n := range have {
			// Keep an element that still says something about dialog.
			if dl := n.Child(NSAddressbook, "dialog"); dl != nil && (abText(dl, "policy") != PolicyDefault || abText(dl, "subscribe") == "true") {
				setHandlingPolicy(n, policy)
				continue
			}
			l.Remove(n)
		}
		return
	}
	if len(have) > 0 {
		for _, n := range have {
			setHandlingPolicy(n, policy)
		}
		return
	}
	p := xmltree.NewElement(l, NSAddressbook, "policy-element", "addressbook")
	p.SetAttr("id", d.newID())
	p.SetAttr("uri", uri)
	l.Append(p)
	add := func(parent *xmltree.Node, local, text string) *xmltree.Node {
		n := xmltree.NewElement(parent, NSAddressbook, local, "addressbook")
		parent.AppendInline(n)
		if text != "" {
			n.SetText(text)
		}
		return n
	}
	add(p, "name", "")
	for _, h := range []struct{ local, policy string }{{"dialog", PolicyDefault}, {"presence", policy}} {
		e := add(p, h.local, "")
		add(e, "policy", h.policy)
		add(e, "subscribe", "false")
	}
}

// setMembership lists uri in the top-level list called list, or takes it
// out.
func (d *Document) setMembership(list, uri, key string, member bool) {
	l := d.findList(list)
	if !member {
		if l != nil {
			removeEntries(l, key)
		}
		return
	}
	if l == nil {
		l = d.newList(list)
	}
	if findEntry(l, key) == nil {
		appendEntry(l, uri, "")
	}
}
