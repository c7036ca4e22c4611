package resourcelists

import (
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// groupSet builds Groups' answer with an index per group, so that reading
// a document costs one URI comparison key per entry, not one per pair.
type groupSet struct {
	groups []Group
	index  []map[string]int // per group: URI key -> position in Entries
}

func (s *groupSet) add(g Group) int {
	s.groups = append(s.groups, g)
	s.index = append(s.index, map[string]int{})
	return len(s.groups) - 1
}

// entry adds e to group i unless a buddy with that key is there, and
// returns the buddy as held by the group.
func (s *groupSet) entry(i int, key string, e Entry) *Entry {
	g := &s.groups[i]
	if at, ok := s.index[i][key]; ok {
		have := &g.Entries[at]
		if have.DisplayName == "" {
			have.DisplayName = e.DisplayName
		}
		if have.ContactID == "" {
			have.ContactID = e.ContactID
		}
		return have
	}
	e.Group = g.Name
	s.index[i][key] = len(g.Entries)
	g.Entries = append(g.Entries, e)
	return &g.Entries[len(g.Entries)-1]
}

func (s *groupSet) find(name string) int {
	for i := range s.groups {
		if s.groups[i].Name == name {
			return i
		}
	}
	return -1
}

// Groups returns the groups of the document in document order: first the
// top-level lists that are not ReservedLists, then the addressbook groups
// no list stands for. An addressbook group is the group of the list whose
// display name (or name) it has. Addressbook contacts in no group, and the
// entries of oma_buddylist, are shown in the default group (BuddiesList),
// which is listed when it has entries even if the document has no such
// list.
func (d *Document) Groups() []Group {
	s := &groupSet{}
	byLabel := map[string]int{}
	for _, l := range d.buddyLists(false) {
		name, _ := l.Attr("name")
		label := listLabel(l)
		if name == "" {
			name = label
		}
		i := s.add(Group{Name: name, DisplayName: label, list: l})
		s.collect(i, l)
		for _, k := range []string{label, name} {
			if _, dup := byLabel[k]; !dup {
				byLabel[k] = i
			}
		}
	}
	defaultGroup := func() int {
		if i := s.find(BuddiesList); i >= 0 {
			return i
		}
		return s.add(Group{Name: BuddiesList, DisplayName: BuddiesList})
	}
	if l := d.findList(OMABuddyList); l != nil && l.FirstElement() != nil {
		tmp := &groupSet{}
		tmp.collect(tmp.add(Group{}), l)
		if len(tmp.groups[0].Entries) > 0 {
			i := defaultGroup()
			for _, e := range tmp.groups[0].Entries {
				s.entry(i, uriKey(e.URI), Entry{URI: e.URI, DisplayName: e.DisplayName, List: e.List})
			}
		}
	}
	ab := d.readAddressbook()
	if ab == nil {
		return s.groups
	}
	byID := map[string]*Contact{}
	byKey := map[string]*Contact{}
	buddyKey := map[string]string{} // contact id -> key of its buddy URI
	for i := range ab.Contacts {
		c := &ab.Contacts[i]
		byID[c.ID] = c
		for _, u := range c.URIs {
			if k := uriKey(u.URI); byKey[k] == nil {
				byKey[k] = c
			}
		}
		if uri := c.BuddyURI(); uri != "" {
			buddyKey[c.ID] = uriKey(uri)
		}
	}
	showContact := func(i int, c *Contact) {
		key, ok := buddyKey[c.ID]
		if !ok {
			return
		}
		s.entry(i, key, Entry{URI: c.BuddyURI(), DisplayName: c.Name, ContactID: c.ID})
	}
	grouped := map[string]bool{}
	for _, ag := range ab.Groups {
		i, ok := byLabel[ag.Name]
		if !ok || s.groups[i].AddressbookID != "" {
			i = s.add(Group{Name: ag.Name, DisplayName: ag.Name})
		}
		s.groups[i].AddressbookID = ag.ID
		for _, id := range ag.Contacts {
			if c := byID[id]; c != nil { // python-sipsimple drops dangling members too
				grouped[id] = true
				showContact(i, c)
			}
		}
	}
	inSomeGroup := map[string]bool{}
	for i := range s.index {
		for k := range s.index[i] {
			inSomeGroup[k] = true
		}
	}
	for i := range ab.Contacts {
		c := &ab.Contacts[i]
		if key, ok := buddyKey[c.ID]; ok && !grouped[c.ID] && !inSomeGroup[key] {
			showContact(defaultGroup(), c)
		}
	}
	// A list entry of a buddy Blink knows carries its contact id.
	for gi := range s.groups {
		for key, ei := range s.index[gi] {
			e := &s.groups[gi].Entries[ei]
			if c := byKey[key]; c != nil && e.ContactID == "" {
				e.ContactID = c.ID
				if e.DisplayName == "" {
					e.DisplayName = c.Name
				}
			}
		}
	}
	return s.groups
}

// collect adds the entries of l and its nested lists to group i, once per
// URI (a later duplicate fills in a missing display name).
func (s *groupSet) collect(i int, l *xmltree.Node) {
	name, _ := l.Attr("name")
	for _, c := range l.Children {
		switch {
		case c.Is(Namespace, "list"):
			s.collect(i, c)
		case c.Is(Namespace, "entry"):
			uri, _ := c.Attr("uri")
			uri = DecodeAnyURI(uri)
			if uri == "" {
				continue
			}
			display := ""
			if dn := c.Child(Namespace, "display-name"); dn != nil {
				display = dn.TextContent()
			}
			s.entry(i, uriKey(uri), Entry{URI: uri, DisplayName: display, List: name})
		}
	}
}
