package resourcelists

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// NSAddressbook is the namespace of python-sipsimple's addressbook
// (sipsimple/payloads/addressbook.py), the contacts and groups Blink keeps
// in the sipsimple_addressbook list.
const NSAddressbook = "urn:ag-projects:xml:ns:addressbook"

// Presence and dialog policies of an addressbook contact or policy
// element: python-sipsimple turns "allow" and "block" into the entries of
// oma_grantedcontacts and oma_blockedcontacts; "default" leaves the
// decision to the pres-rules' rule for unlisted watchers.
const (
	PolicyAllow   = "allow"
	PolicyBlock   = "block"
	PolicyDefault = "default"
)

// Addressbook is python-sipsimple's addressbook as read from the
// sipsimple_addressbook list.
type Addressbook struct {
	Contacts []Contact
	Groups   []AddressbookGroup
	Policies []Policy
}

// Contact is an <addressbook:contact>.
type Contact struct {
	ID   string
	Name string
	URIs []ContactURI
	// DefaultURI is the id of the preferred URI, "" when none is set.
	DefaultURI string
	Presence   EventHandling
	Dialog     EventHandling
}

// ContactURI is one <addressbook:uri> of a contact.
type ContactURI struct {
	ID, URI, Type string
}

// EventHandling is a contact's <presence> or <dialog> element: the policy
// for the contact watching me, and whether I subscribe to the contact.
type EventHandling struct {
	Policy    string
	Subscribe bool
}

// AddressbookGroup is an <addressbook:group>: a name and contact ids.
type AddressbookGroup struct {
	ID, Name string
	Contacts []string
}

// Policy is an <addressbook:policy-element>: how python-sipsimple
// authorizes a URI that is not a contact.
type Policy struct {
	ID, URI, Name string
	Presence      EventHandling
	Dialog        EventHandling
}

// BuddyURI is the contact's URI sipbuddy shows and subscribes to: the
// default URI, else the first SIP URI, else the first URI.
func (c *Contact) BuddyURI() string {
	for _, u := range c.URIs {
		if u.ID == c.DefaultURI && c.DefaultURI != "" {
			return u.URI
		}
	}
	for _, u := range c.URIs {
		if l := strings.ToLower(u.URI); strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") {
			return u.URI
		}
	}
	if len(c.URIs) > 0 {
		return c.URIs[0].URI
	}
	return ""
}

func (ab *Addressbook) contactWith(key string) *Contact {
	for i := range ab.Contacts {
		for _, u := range ab.Contacts[i].URIs {
			if uriKey(u.URI) == key {
				return &ab.Contacts[i]
			}
		}
	}
	return nil
}

// Addressbook returns python-sipsimple's addressbook, and false when the
// document has none.
func (d *Document) Addressbook() (*Addressbook, bool) {
	ab := d.readAddressbook()
	return ab, ab != nil
}

func (d *Document) addressbookList() *xmltree.Node { return d.findList(AddressbookList) }

func (d *Document) hasAddressbook() bool { return d.addressbookList() != nil }

func (d *Document) readAddressbook() *Addressbook {
	l := d.addressbookList()
	if l == nil {
		return nil
	}
	ab := &Addressbook{}
	l.EachElement(func(n *xmltree.Node) {
		if n.Space != NSAddressbook {
			return
		}
		id, _ := n.Attr("id")
		switch n.Local {
		case "contact":
			c := Contact{ID: id, Name: abText(n, "name"), Presence: handling(n, "presence"), Dialog: handling(n, "dialog")}
			if uris := n.Child(NSAddressbook, "uris"); uris != nil {
				c.DefaultURI, _ = uris.Attr("default")
				uris.EachElement(func(u *xmltree.Node) {
					if u.Is(NSAddressbook, "uri") {
						cu := ContactURI{}
						cu.ID, _ = u.Attr("id")
						cu.URI, _ = u.Attr("uri")
						cu.URI = DecodeAnyURI(cu.URI)
						cu.Type, _ = u.Attr("type")
						if cu.URI != "" {
							c.URIs = append(c.URIs, cu)
						}
					}
				})
			}
			ab.Contacts = append(ab.Contacts, c)
		case "group":
			g := AddressbookGroup{ID: id, Name: abText(n, "name")}
			if cs := n.Child(NSAddressbook, "contacts"); cs != nil {
				cs.EachElement(func(m *xmltree.Node) {
					if m.Is(NSAddressbook, "contact_id") {
						g.Contacts = append(g.Contacts, m.TextContent())
					}
				})
			}
			ab.Groups = append(ab.Groups, g)
		case "policy-element":
			p := Policy{ID: id, Name: abText(n, "name"), Presence: handling(n, "presence"), Dialog: handling(n, "dialog")}
			p.URI, _ = n.Attr("uri")
			p.URI = DecodeAnyURI(p.URI)
			ab.Policies = append(ab.Policies, p)
		}
	})
	return ab
}

func abText(n *xmltree.Node, local string) string {
	if c := n.Child(NSAddressbook, local); c != nil {
		return c.TextContent()
	}
	return ""
}

// handling reads <presence> or <dialog>; python-sipsimple's defaults
// (policy "default", subscribe false) fill in what is missing.
func handling(n *xmltree.Node, local string) EventHandling {
	h := EventHandling{Policy: PolicyDefault}
	c := n.Child(NSAddressbook, local)
	if c == nil {
		return h
	}
	if p := abText(c, "policy"); p != "" {
		h.Policy = p
	}
	// xs:boolean: "true" or "1".
	s := abText(c, "subscribe")
	h.Subscribe = s == "true" || s == "1"
	return h
}

// abElementByID returns the addressbook element local with that id.
func (d *Document) abElementByID(local, id string) *xmltree.Node {
	l := d.addressbookList()
	if l == nil {
		return nil
	}
	for _, n := range l.Children {
		if n.Is(NSAddressbook, local) {
			if v, _ := n.Attr("id"); v == id {
				return n
			}
		}
	}
	return nil
}

// setABText makes the addressbook child local of n say text, creating it
// first among n's children when missing.
func setABText(n *xmltree.Node, local, text string) {
	c := n.Child(NSAddressbook, local)
	if c == nil {
		c = xmltree.NewElement(n, NSAddressbook, local, "addressbook")
		n.InsertBefore(c, n.FirstElement())
	}
	c.SetText(text)
}

// contactsWith returns the contact elements with a URI of that key.
func (d *Document) contactsWith(key string) []*xmltree.Node {
	l := d.addressbookList()
	if l == nil {
		return nil
	}
	var out []*xmltree.Node
	for _, n := range l.Children {
		if !n.Is(NSAddressbook, "contact") {
			continue
		}
		if uris := n.Child(NSAddressbook, "uris"); uris != nil {
			for _, u := range uris.Children {
				if v, _ := u.Attr("uri"); u.Is(NSAddressbook, "uri") && uriKey(v) == key {
					out = append(out, n)
					break
				}
			}
		}
	}
	return out
}

// mirrorAdd makes the addressbook say what Add did: a contact for the
// URI, in the group labelled label, subscribed to.
func (d *Document) mirrorAdd(label, uri, name string) {
	c := d.ensureContact(uri, name)
	id, _ := c.Attr("id")
	d.joinABGroup(label, "", id)
}

// ensureContact returns the contact with that URI, or a new one as
// python-sipsimple writes it when Blink adds a buddy (presence policy
// default, subscribed; dialog policy default, not subscribed), and puts
// the URI in sipsimple_presence_rls, the list Blink's RLS subscription
// serves, for a contact whose presence is subscribed to.
func (d *Document) ensureContact(uri, name string) *xmltree.Node {
	key := uriKey(uri)
	if have := d.contactsWith(key); len(have) > 0 {
		c := have[0]
		if p := c.Child(NSAddressbook, "presence"); p == nil || abText(p, "subscribe") == "true" || abText(p, "subscribe") == "1" {
			d.ensurePresenceRLS(uri)
		}
		return c
	}
	l := d.addressbookList()
	if name == "" {
		name = uri
	}
	c := xmltree.NewElement(l, NSAddressbook, "contact", "addressbook")
	c.SetAttr("id", d.newID())
	add := func(parent *xmltree.Node, local string) *xmltree.Node {
		n := xmltree.NewElement(parent, NSAddressbook, local, "addressbook")
		parent.AppendInline(n)
		return n
	}
	// Attach first so that prefixes resolve against the document.
	l.Append(c)
	add(c, "name").SetText(name)
	uris := add(c, "uris")
	uriID := d.newID()
	uris.SetAttr("default", uriID)
	u := add(uris, "uri")
	u.SetAttr("id", uriID)
	u.SetAttr("uri", uri)
	for _, h := range []struct {
		local     string
		subscribe string
	}{{"dialog", "false"}, {"presence", "true"}} {
		e := add(c, h.local)
		add(e, "policy").SetText(PolicyDefault)
		add(e, "subscribe").SetText(h.subscribe)
	}
	d.ensurePresenceRLS(uri)
	return c
}

// ensurePresenceRLS lists uri in sipsimple_presence_rls (created when
// missing).
func (d *Document) ensurePresenceRLS(uri string) {
	l := d.findList(PresenceRLSList)
	if l == nil {
		l = d.newList(PresenceRLSList)
	}
	if findEntry(l, uriKey(uri)) == nil {
		appendEntry(l, uri, "")
	}
}

// ensureABGroup returns the addressbook group called name, created
// (empty) when missing.
func (d *Document) ensureABGroup(name string) *xmltree.Node {
	l := d.addressbookList()
	for _, n := range l.Children {
		if n.Is(NSAddressbook, "group") && abText(n, "name") == name {
			return n
		}
	}
	g := xmltree.NewElement(l, NSAddressbook, "group", "addressbook")
	g.SetAttr("id", d.newID())
	l.Append(g)
	nm := xmltree.NewElement(g, NSAddressbook, "name", "addressbook")
	nm.SetText(name)
	g.AppendInline(nm)
	g.AppendInline(xmltree.NewElement(g, NSAddressbook, "contacts", "addressbook"))
	return g
}

// joinABGroup adds contact id to the addressbook group with id groupID
// (when set and present), else to the one called label.
func (d *Document) joinABGroup(label, groupID, id string) {
	var g *xmltree.Node
	if groupID != "" {
		g = d.abElementByID("group", groupID)
	}
	if g == nil {
		g = d.ensureABGroup(label)
	}
	cs := g.Child(NSAddressbook, "contacts")
	if cs == nil {
		cs = xmltree.NewElement(g, NSAddressbook, "contacts", "addressbook")
		g.AppendInline(cs)
	}
	for _, m := range cs.Children {
		if m.Is(NSAddressbook, "contact_id") && m.TextContent() == id {
			return
		}
	}
	m := xmltree.NewElement(cs, NSAddressbook, "contact_id", "addressbook")
	m.SetText(id)
	cs.AppendInline(m)
}

// leaveABGroups takes contact id out of every addressbook group but the
// one with id keep.
func (d *Document) leaveABGroups(id, keep string) {
	l := d.addressbookList()
	for _, g := range l.Children {
		if !g.Is(NSAddressbook, "group") {
			continue
		}
		if gid, _ := g.Attr("id"); gid == keep && keep != "" {
			continue
		}
		if cs := g.Child(NSAddressbook, "contacts"); cs != nil {
			for _, m := range cs.Elements() {
				if m.Is(NSAddressbook, "contact_id") && m.TextContent() == id {
					cs.Remove(m)
				}
			}
		}
	}
}

// removeContactURI takes the URI out of every contact; a contact left
// without URIs is deleted and taken out of its groups. A contact's allow
// or block for the URI becomes a policy element: python-sipsimple derives
// its grant and block lists from contacts and policy elements, so without
// one the watcher's authorization would go with the buddy.
func (d *Document) removeContactURI(key string) bool {
	removed := false
	for _, c := range d.contactsWith(key) {
		if policy := handling(c, "presence").Policy; policy == PolicyAllow || policy == PolicyBlock {
			for _, u := range c.Child(NSAddressbook, "uris").Elements() {
				if v, _ := u.Attr("uri"); u.Is(NSAddressbook, "uri") && uriKey(v) == key {
					d.setPolicyElement(DecodeAnyURI(v), key, policy)
					break
				}
			}
		}
		uris := c.Child(NSAddressbook, "uris")
		def, _ := uris.Attr("default")
		left := 0
		for _, u := range uris.Elements() {
			if !u.Is(NSAddressbook, "uri") {
				continue
			}
			if v, _ := u.Attr("uri"); uriKey(v) == key {
				if id, _ := u.Attr("id"); id == def {
					removeAttr(uris, "default")
				}
				uris.Remove(u)
				removed = true
				continue
			}
			left++
		}
		if left == 0 {
			id, _ := c.Attr("id")
			d.leaveABGroups(id, "")
			c.Parent.Remove(c)
		}
	}
	return removed
}

func removeAttr(n *xmltree.Node, local string) {
	for i, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			n.Attrs = append(n.Attrs[:i], n.Attrs[i+1:]...)
			return
		}
	}
}

// newID returns an xs:ID no element of the addressbook has, in
// python-sipsimple's form ("id" + microseconds + six random digits).
func (d *Document) newID() string {
	used := map[string]bool{}
	if l := d.addressbookList(); l != nil {
		var walk func(n *xmltree.Node)
		walk = func(n *xmltree.Node) {
			if v, ok := n.Attr("id"); ok {
				used[v] = true
			}
			n.EachElement(walk)
		}
		walk(l)
	}
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := "id" + strconv.FormatInt(time.Now().UnixMicro(), 10) + leftPad(binary.BigEndian.Uint64(b[:])%1000000)
		if !used[id] {
			return id
		}
	}
}

func leftPad(n uint64) string {
	s := strconv.FormatUint(n, 10)
	return strings.Repeat("0", 6-len(s)) + s
}
