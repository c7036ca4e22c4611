package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// MaxGroupNameBytes bounds the name of a group.
const MaxGroupNameBytes = 128

// DefaultGroup is the Name of the group AddBuddy adds to, and where the
// buddies of a deleted group go.
const DefaultGroup = resourcelists.BuddiesList

// ErrInvalidGroup is the answer to a group request whose name cannot name
// a group (empty, too long, one of the lists Blink keeps for itself).
var ErrInvalidGroup = errors.New("invalid group name")

// Group is one group of the buddy list: a top-level list of the
// resource-lists document, or an addressbook group Blink wrote.
type Group struct {
	// Name identifies the group in requests (MoveBuddy, RenameGroup, ...).
	Name string
	// DisplayName is what the group is called on screen.
	DisplayName string
}

// buddiesEvent is the buddy list of doc as the front end sees it: every
// buddy once, with every group that holds it, and the groups in document
// order. A nil doc is an empty list.
func buddiesEvent(doc *resourcelists.Document) BuddiesEvent {
	if doc == nil {
		doc = resourcelists.New()
	}
	entries := doc.Entries()
	groups := doc.Groups()
	ev := BuddiesEvent{Buddies: make([]Buddy, 0, len(entries)), Groups: make([]Group, 0, len(groups))}
	index := make(map[string]int, len(entries))
	for _, e := range entries {
		index[buddyKey(e.URI)] = len(ev.Buddies)
		ev.Buddies = append(ev.Buddies, Buddy{URI: e.URI, DisplayName: e.DisplayName, List: e.List})
	}
	for _, g := range groups {
		ev.Groups = append(ev.Groups, Group{Name: g.Name, DisplayName: g.DisplayName})
		for _, e := range g.Entries {
			if i, ok := index[buddyKey(e.URI)]; ok {
				b := &ev.Buddies[i]
				if n := len(b.Groups); n == 0 || b.Groups[n-1] != g.Name {
					b.Groups = append(b.Groups, g.Name)
				}
			}
		}
	}
	return ev
}

// buddyKey is how buddies are matched between a document's groups and its
// entries: the AOR key of a SIP address, the trimmed text of anything else.
func buddyKey(uri string) string {
	uri = resourcelists.DecodeAnyURI(uri)
	if k, err := sipuri.AORKey(uri); err == nil {
		return k
	}
	return uri
}

// checkGroupName checks a group name the user typed.
func checkGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fmt.Errorf("%w: a group needs a name", ErrInvalidGroup)
	case len(name) > MaxGroupNameBytes:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidGroup, MaxGroupNameBytes)
	case resourcelists.IsReserved(name):
		return "", fmt.Errorf("%w: %q is a list Blink keeps for itself", ErrInvalidGroup, name)
	}
	return name, nil
}

// addToGroup adds uri to the group called group ("" is DefaultGroup),
// as resourcelists.Document.AddToGroup does; Blink's lists are no groups.
func addToGroup(d *resourcelists.Document, group, uri, displayName string) error {
	if group == "" {
		group = DefaultGroup
	}
	if resourcelists.IsReserved(group) {
		return fmt.Errorf("%w: %q is a list Blink keeps for itself", ErrInvalidGroup, group)
	}
	return d.AddToGroup(group, uri, displayName)
}

// editList applies fn to my buddy list document with the one ETag
// read-modify-write (resourcelists.Update), reports the new list, and
// ends the subscriptions to buddies the edit took out of the list.
func (a *Account) editList(ctx context.Context, fn func(d *resourcelists.Document) error) error {
	var gone []string
	doc, err := resourcelists.Update(ctx, a.xc, func(d *resourcelists.Document) error {
		before := d.Entries()
		if err := fn(d); err != nil {
			return err
		}
		a.keepPresenceRLS(d)
		// fn may run again after a 412: only the last run counts.
		gone = gone[:0]
		after := map[string]bool{}
		for _, e := range d.Entries() {
			after[buddyKey(e.URI)] = true
		}
		for _, e := range before {
			if !after[buddyKey(e.URI)] {
				gone = append(gone, e.URI)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.setBuddies(doc) // unsubscribes from the buddies gone, unless the RLS list served them
	for _, uri := range gone {
		a.icons.forget(uri)
	}
	return nil
}

// AddGroup adds an empty group called name to my buddy list (and to
// Blink's addressbook when the document has one).
func (a *Account) AddGroup(name string) RequestID {
	return a.run(AddGroupRequest, func(ctx context.Context, _ RequestID) (string, error) {
		name, err := checkGroupName(name)
		if err != nil {
			return "", err
		}
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.AddGroup(name) }); err != nil {
			return "", err
		}
		return "group " + name + " added", nil
	})
}

// RenameGroup gives the group called name (its Group.Name) the display
// name displayName.
func (a *Account) RenameGroup(name, displayName string) RequestID {
	return a.run(RenameGroupRequest, func(ctx context.Context, _ RequestID) (string, error) {
		to, err := checkGroupName(displayName)
		if err != nil {
			return "", err
		}
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.RenameGroup(name, to) }); err != nil {
			return "", err
		}
		return "group " + name + " renamed to " + to, nil
	})
}

// DeleteGroup deletes the group called name. Its buddies move to the
// default group, or, withBuddies, leave the buddy list (those no other
// group holds), and their subscriptions end.
func (a *Account) DeleteGroup(name string, withBuddies bool) RequestID {
	return a.run(DeleteGroupRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.DeleteGroup(name, withBuddies) }); err != nil {
			return "", err
		}
		return "group " + name + " deleted", nil
	})
}

// MoveBuddy moves the buddy uri into the group called group (out of every
// other group). The entry moves with whatever other clients wrote in it.
func (a *Account) MoveBuddy(uri, group string) RequestID {
	return a.run(MoveBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.MoveEntry(uri, group) }); err != nil {
			return "", err
		}
		return uri + " moved to " + group, nil
	})
}

// CopyBuddy puts the buddy uri in the group called group too, leaving it
// in its other groups.
func (a *Account) CopyBuddy(uri, group string) RequestID {
	return a.run(CopyBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.CopyEntry(uri, group) }); err != nil {
			return "", err
		}
		return uri + " also in " + group, nil
	})
}

// RenameBuddy sets the display name of the buddy uri in every group that
// holds it (and in Blink's addressbook); "" removes it.
func (a *Account) RenameBuddy(uri, displayName string) RequestID {
	return a.run(RenameBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		displayName = strings.TrimSpace(displayName)
		if len(displayName) > MaxDisplayNameBytes {
			return "", fmt.Errorf("display name longer than %d bytes", MaxDisplayNameBytes)
		}
		if err := a.editList(ctx, func(d *resourcelists.Document) error { return d.RenameEntry(uri, displayName) }); err != nil {
			return "", err
		}
		if displayName == "" {
			return uri + " has no name of its own now", nil
		}
		return uri + " renamed to " + displayName, nil
	})
}
