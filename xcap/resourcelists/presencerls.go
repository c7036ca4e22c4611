package resourcelists

// SyncPresenceRLS makes python-sipsimple's sipsimple_presence_rls list
// (PresenceRLSList, created when missing) hold exactly the buddies of the
// document: every URI of Entries, in that order for the ones it adds. This
// is the list the account's RLS service (rls-services,
// sip:<user>+presence@<domain>) serves, so one list subscription watches
// every buddy of every group, as Blink's does. Entries of buddies that are
// no longer in any group are removed; other children of the list (nested
// lists, foreign elements) are kept. The list is created even when there
// are no buddies. It reports whether the document changed.
//
// A document with python-sipsimple's addressbook is left alone: there the
// list is Blink's, derived from each contact's presence subscription flag
// (a contact Blink does not subscribe to is not in it), and Add, Remove
// and the other edits already keep it in step (ensurePresenceRLS).
func (d *Document) SyncPresenceRLS() bool {
	if d.hasAddressbook() {
		return false
	}
	want := map[string]string{} // uriKey -> URI as the group writes it
	var order []string
	for _, e := range d.Entries() {
		uri := DecodeAnyURI(e.URI)
		key := uriKey(uri)
		if _, dup := want[key]; !dup {
			want[key] = uri
			order = append(order, key)
		}
	}
	l := d.findList(PresenceRLSList)
	changed := false
	if l == nil {
		// Created even empty: a service whose list is missing is an
		// error to Kamailio's rls (the list SUBSCRIBE fails).
		l = d.newList(PresenceRLSList)
		changed = true
	}
	have := map[string]bool{}
	for _, c := range l.Elements() {
		if !c.Is(Namespace, "entry") {
			continue
		}
		u, _ := c.Attr("uri")
		key := uriKey(u)
		if _, ok := want[key]; !ok || have[key] {
			l.Remove(c)
			changed = true
			continue
		}
		have[key] = true
	}
	for _, key := range order {
		if !have[key] {
			appendEntry(l, want[key], "")
			changed = true
		}
	}
	return changed
}
