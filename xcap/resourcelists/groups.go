package resourcelists

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Lists python-sipsimple (Blink) keeps in the document for its own
// bookkeeping. They are not groups: the oma_* and dialog_* lists say who
// may see me, the *_rls lists are what its RLS subscriptions serve, and
// sipsimple_addressbook holds its contacts and groups.
const (
	OMABuddyList       = "oma_buddylist"
	OMAGrantedContacts = "oma_grantedcontacts"
	OMABlockedContacts = "oma_blockedcontacts"
	OMAAllContacts     = "oma_allcontacts"
	DialogGranted      = "dialog_grantedcontacts"
	DialogBlocked      = "dialog_blockedcontacts"
	PresenceRLSList    = "sipsimple_presence_rls"
	DialogRLSList      = "sipsimple_dialog_rls"
	AddressbookList    = "sipsimple_addressbook"
)

// ReservedLists are the names of the top-level lists that are not groups.
var ReservedLists = []string{
	OMABuddyList, OMAGrantedContacts, OMABlockedContacts, OMAAllContacts,
	DialogGranted, DialogBlocked, PresenceRLSList, DialogRLSList, AddressbookList,
}

// IsReserved reports whether a top-level list of that name is one
// python-sipsimple keeps for itself.
func IsReserved(name string) bool { return slices.Contains(ReservedLists, name) }

// Group is one group of buddies: a top-level list of the document, and,
// when the document has python-sipsimple's addressbook, the addressbook
// group of the same name.
type Group struct {
	// Name identifies the group in the edit methods: the list's name
	// attribute (its display name when it has none), or, for a group
	// only the addressbook has, the addressbook group's name.
	Name string
	// DisplayName is what the group is called on screen: the list's
	// <display-name>, else its name.
	DisplayName string
	// AddressbookID is the id of the addressbook group shown as this
	// group, "" when there is none.
	AddressbookID string
	// Entries are the group's buddies, nested lists included.
	Entries []Entry
	// list is the top-level list, nil for an addressbook-only group.
	list *xmltree.Node
}

// listLabel is what a list is called: its display name, else its name.
func listLabel(l *xmltree.Node) string {
	if dn := l.Child(Namespace, "display-name"); dn != nil {
		if t := dn.TextContent(); t != "" {
			return t
		}
	}
	name, _ := l.Attr("name")
	return name
}

// buddyLists returns the top-level lists that are groups, and, with
// withOMA, oma_buddylist (whose entries are buddies of OMA clients).
func (d *Document) buddyLists(withOMA bool) []*xmltree.Node {
	var out []*xmltree.Node
	for _, c := range d.dom.Root.Children {
		if !c.Is(Namespace, "list") {
			continue
		}
		name, _ := c.Attr("name")
		if IsReserved(name) && !(withOMA && name == OMABuddyList) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// group returns the group called name (by Name), or false.
func (d *Document) group(name string) (Group, bool) {
	for _, g := range d.Groups() {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// checkGroupName rejects names that cannot name a group.
func checkGroupName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: a group needs a name", ErrInvalid)
	}
	if IsReserved(name) {
		return fmt.Errorf("%w: %q is a list Blink keeps for itself", ErrInvalid, name)
	}
	return checkText(name)
}

// AddGroup adds an empty group: a top-level list named name and, when the
// document has python-sipsimple's addressbook, an addressbook group of
// that name. A group of that name already there is ErrExists.
func (d *Document) AddGroup(name string) error {
	name = strings.TrimSpace(name)
	if err := checkGroupName(name); err != nil {
		return err
	}
	if _, ok := d.group(name); ok {
		return fmt.Errorf("%w: group %q", ErrExists, name)
	}
	d.newList(name)
	if d.hasAddressbook() {
		d.ensureABGroup(name)
	}
	return nil
}

// RenameGroup gives the group called name the display name displayName
// (its Name, which edits use, stays, except for a group only the
// addressbook has, which is known by its addressbook name). The
// addressbook group of the same name is renamed too.
func (d *Document) RenameGroup(name, displayName string) error {
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		return fmt.Errorf("%w: a group needs a name", ErrInvalid)
	}
	if err := checkText(displayName); err != nil {
		return err
	}
	g, ok := d.group(name)
	if !ok {
		return fmt.Errorf("%w: group %q", ErrNotFound, name)
	}
	if g.list != nil {
		setDisplayName(g.list, displayName)
	}
	if g.AddressbookID != "" {
		if n := d.abElementByID("group", g.AddressbookID); n != nil {
			setABText(n, "name", displayName)
		}
	}
	return nil
}

// DeleteGroup deletes the group called name. Its buddies move to the
// default group (BuddiesList), unless drop is set: then every buddy of the
// group that no other group holds is removed as Remove does. The default
// group itself can only be deleted with drop.
func (d *Document) DeleteGroup(name string, drop bool) error {
	g, ok := d.group(name)
	if !ok {
		return fmt.Errorf("%w: group %q", ErrNotFound, name)
	}
	if g.Name == BuddiesList && !drop {
		return fmt.Errorf("%w: the default group %q has nowhere to move its buddies; delete it with them", ErrInvalid, name)
	}
	held := map[string]bool{} // buddies another group holds too
	for _, other := range d.Groups() {
		if other.Name == g.Name {
			continue
		}
		for _, e := range other.Entries {
			held[uriKey(e.URI)] = true
		}
	}
	if g.list != nil {
		d.dom.Root.Remove(g.list)
	}
	if g.AddressbookID != "" {
		if n := d.abElementByID("group", g.AddressbookID); n != nil {
			n.Parent.Remove(n)
		}
	}
	if drop {
		for _, e := range g.Entries {
			if !held[uriKey(e.URI)] {
				d.Remove(e.URI)
			}
		}
		return nil
	}
	for _, e := range g.Entries {
		if err := d.place(e, BuddiesList, g.list); err != nil {
			return err
		}
	}
	return nil
}

// AddToGroup adds a buddy to the group called group: to its list as Add
// does, or, for a group only python-sipsimple's addressbook has, as a
// contact of that addressbook group (a buddy the document has already is
// moved there, as MoveEntry moves it). The default group (BuddiesList)
// is made when the document has none; another group that does not exist
// is ErrNotFound.
func (d *Document) AddToGroup(group, uri, displayName string) error {
	g, ok := d.group(group)
	if !ok || g.list != nil {
		name := group
		if ok {
			name, _ = g.list.Attr("name")
		} else if group != BuddiesList {
			return fmt.Errorf("%w: group %q", ErrNotFound, group)
		}
		return d.Add(name, uri, displayName)
	}
	uri, displayName = strings.TrimSpace(uri), strings.TrimSpace(displayName)
	if err := checkURI(uri); err != nil {
		return err
	}
	if err := checkText(displayName); err != nil {
		return err
	}
	for _, e := range g.Entries {
		if uriKey(e.URI) == uriKey(uri) {
			return fmt.Errorf("%w: %s in group %q", ErrExists, uri, group)
		}
	}
	return d.place(Entry{URI: uri, DisplayName: displayName}, group, nil)
}

// MoveEntry moves the buddy with that URI into the group called group:
// out of every other group (its entry element, with whatever other
// clients wrote in it, is moved, not rewritten), and, in the addressbook,
// out of every other addressbook group and into the group's.
func (d *Document) MoveEntry(uri, group string) error {
	found, ok := d.findBuddy(uri)
	if !ok {
		return fmt.Errorf("%w: buddy %s", ErrNotFound, uri)
	}
	if _, ok := d.group(group); !ok && group != BuddiesList {
		return fmt.Errorf("%w: group %q", ErrNotFound, group)
	}
	return d.place(found, group, nil)
}

// findBuddy returns the buddy with that URI as the first group holding it
// has it.
func (d *Document) findBuddy(uri string) (Entry, bool) {
	key := uriKey(uri)
	for _, g := range d.Groups() {
		for _, e := range g.Entries {
			if uriKey(e.URI) == key {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// CopyEntry puts the buddy with that URI in the group called group too,
// leaving it in its other groups: a new entry in the group's list (with
// the buddy's display name; the default group gets a list when it has
// none), and, with python-sipsimple's addressbook, its contact joins the
// group's addressbook group. A buddy the group has is ErrExists.
func (d *Document) CopyEntry(uri, group string) error {
	found, ok := d.findBuddy(uri)
	if !ok {
		return fmt.Errorf("%w: buddy %s", ErrNotFound, uri)
	}
	target, ok := d.group(group)
	if !ok {
		if group != BuddiesList {
			return fmt.Errorf("%w: group %q", ErrNotFound, group)
		}
		target = Group{Name: group, DisplayName: group}
	}
	key := uriKey(found.URI)
	for _, e := range target.Entries {
		if uriKey(e.URI) == key {
			return fmt.Errorf("%w: %s in group %q", ErrExists, found.URI, group)
		}
	}
	if target.list == nil && target.AddressbookID == "" {
		target.list = d.newList(group)
	}
	if target.list != nil {
		appendEntry(target.list, found.URI, found.DisplayName)
	}
	if d.hasAddressbook() {
		c := d.ensureContact(found.URI, found.DisplayName)
		id, _ := c.Attr("id")
		d.joinABGroup(target.DisplayName, target.AddressbookID, id)
	}
	return nil
}

// place puts buddy e in the group called group and nowhere else: the first
// entry element found (in the group lists and in detached, a list just
// taken out of the document) moves, the others are deleted.
func (d *Document) place(e Entry, group string, detached *xmltree.Node) error {
	key := uriKey(e.URI)
	target, ok := d.group(group)
	if !ok {
		target = Group{Name: group, DisplayName: group}
	}
	if target.list == nil && target.AddressbookID == "" {
		// The default group shown without a list of its own gets one.
		target.list = d.newList(group)
	}
	var moving *xmltree.Node
	take := func(l *xmltree.Node) {
		for _, c := range l.Elements() {
			switch {
			case c.Is(Namespace, "list"):
				if c != target.list {
					takeFrom(c, key, &moving)
				}
			case c.Is(Namespace, "entry"):
				if u, _ := c.Attr("uri"); uriKey(u) == key && l != target.list {
					l.Remove(c)
					if moving == nil {
						moving = c
					}
				}
			}
		}
	}
	if detached != nil {
		take(detached)
	}
	for _, l := range d.buddyLists(true) {
		take(l)
	}
	if target.list != nil && findEntry(target.list, key) == nil {
		if moving != nil {
			insertEntry(target.list, moving)
		} else {
			appendEntry(target.list, e.URI, e.DisplayName)
		}
	}
	if d.hasAddressbook() {
		label := target.DisplayName
		if c := d.ensureContact(e.URI, e.DisplayName); c != nil {
			id, _ := c.Attr("id")
			d.leaveABGroups(id, target.AddressbookID)
			d.joinABGroup(label, target.AddressbookID, id)
		}
	}
	return nil
}

// takeFrom is place's search of nested lists.
func takeFrom(l *xmltree.Node, key string, moving **xmltree.Node) {
	for _, c := range l.Elements() {
		switch {
		case c.Is(Namespace, "list"):
			takeFrom(c, key, moving)
		case c.Is(Namespace, "entry"):
			if u, _ := c.Attr("uri"); uriKey(u) == key {
				l.Remove(c)
				if *moving == nil {
					*moving = c
				}
			}
		}
	}
}

// RenameEntry sets the display name of the buddy with that URI in every
// group list (an empty name removes it) and the name of the addressbook
// contact with that URI.
func (d *Document) RenameEntry(uri, displayName string) error {
	displayName = strings.TrimSpace(displayName)
	if err := checkText(displayName); err != nil {
		return err
	}
	key := uriKey(uri)
	found := false
	var walk func(l *xmltree.Node)
	walk = func(l *xmltree.Node) {
		for _, c := range l.Elements() {
			switch {
			case c.Is(Namespace, "list"):
				walk(c)
			case c.Is(Namespace, "entry"):
				if u, _ := c.Attr("uri"); uriKey(u) == key {
					found = true
					setDisplayName(c, displayName)
				}
			}
		}
	}
	for _, l := range d.buddyLists(true) {
		walk(l)
	}
	for _, c := range d.contactsWith(key) {
		found = true
		if displayName != "" {
			setABText(c, "name", displayName)
		}
	}
	if !found {
		return fmt.Errorf("%w: buddy %s", ErrNotFound, uri)
	}
	return nil
}

// setDisplayName makes <display-name> (the first child, as the schema
// wants it) of a list or entry say name; "" removes it.
func setDisplayName(n *xmltree.Node, name string) {
	dn := n.Child(Namespace, "display-name")
	if name == "" {
		if dn != nil {
			n.Remove(dn)
		}
		return
	}
	if dn != nil {
		dn.SetText(name)
		return
	}
	dn = xmltree.NewElement(n, Namespace, "display-name", "rl")
	dn.SetText(name)
	if first := n.FirstElement(); first != nil {
		n.InsertBefore(dn, first)
	} else if n.Is(Namespace, "entry") {
		n.AppendInline(dn)
	} else {
		n.Append(dn)
	}
}

// SyncAddressbook gives every buddy of the group lists that python-sipsimple's
// addressbook does not know a contact there, in the addressbook group of
// its group (as Add would have), so that buddies added before Blink first
// wrote its addressbook, or by a client that does not know it, show in
// Blink. It returns how many contacts it added; a document without an
// addressbook is left alone.
func (d *Document) SyncAddressbook() int {
	if !d.hasAddressbook() {
		return 0
	}
	added := 0
	for _, g := range d.Groups() {
		if g.list == nil {
			continue
		}
		for _, e := range g.Entries {
			if e.ContactID != "" {
				continue
			}
			c := d.ensureContact(e.URI, e.DisplayName)
			id, _ := c.Attr("id")
			d.joinABGroup(g.DisplayName, g.AddressbookID, id)
			added++
		}
	}
	return added
}
