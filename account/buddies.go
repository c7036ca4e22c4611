package account

import (
	"context"
	"fmt"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/backoff"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Limits and retries of the buddy list.
const (
	// MaxDisplayNameBytes bounds a buddy's display name.
	MaxDisplayNameBytes = 256
	// DefaultListRetryMin and DefaultListRetryMax bound the back-off when
	// the buddy list cannot be loaded.
	DefaultListRetryMin = time.Second
	DefaultListRetryMax = time.Minute
)

// AddBuddy adds uri to the list "buddies" of my buddy list document (an
// ETag-conditional update) and subscribes to its presence.
func (a *Account) AddBuddy(uri, displayName string) RequestID {
	return a.AddBuddyTo(uri, displayName, DefaultGroup)
}

// AddBuddyTo is AddBuddy into the group called group (see addToGroup).
func (a *Account) AddBuddyTo(uri, displayName, group string) RequestID {
	return a.run(AddBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		u, err := NormalizeURI(uri)
		if err != nil {
			return "", err
		}
		if len(displayName) > MaxDisplayNameBytes {
			return "", fmt.Errorf("display name longer than %d bytes", MaxDisplayNameBytes)
		}
		doc, err := resourcelists.Update(ctx, a.xc, func(d *resourcelists.Document) error {
			if err := addToGroup(d, group, u, displayName); err != nil {
				return err
			}
			a.keepPresenceRLS(d)
			return nil
		})
		if err != nil {
			return "", err
		}
		a.setBuddies(doc) // subscribes, unless the RLS list serves it
		name := displayName
		if name == "" {
			name = u
		}
		return name + " added", nil
	})
}

// RemoveBuddy removes uri from my buddy list document (from whichever list
// holds it) and ends the subscription to it.
func (a *Account) RemoveBuddy(uri string) RequestID {
	return a.run(RemoveBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		doc, err := resourcelists.Update(ctx, a.xc, func(d *resourcelists.Document) error {
			if !d.Remove(uri) {
				return fmt.Errorf("%s: %w", uri, ErrNotInList)
			}
			a.keepPresenceRLS(d)
			return nil
		})
		if err != nil {
			return "", err
		}
		a.setBuddies(doc) // unsubscribes, unless the RLS list served it
		a.icons.forget(uri)
		return uri + " removed", nil
	})
}

// keepPresenceRLS keeps the list the RLS service serves in step with an
// edit of the buddy list, in the same write (unless RLS is off).
func (a *Account) keepPresenceRLS(d *resourcelists.Document) {
	if !a.o.NoRLS {
		d.SyncPresenceRLS()
	}
}

// setBuddies reports the buddy list of doc (nil: no document yet) with its
// groups and, when each buddy is watched alone, subscribes to the new
// buddies and unsubscribes from the ones gone.
func (a *Account) setBuddies(doc *resourcelists.Document) {
	ev := buddiesEvent(doc)
	a.q.push(ev)
	var entries []resourcelists.Entry
	if doc != nil {
		entries = doc.Entries()
	}
	a.followBuddies(entries)
}

// loadBuddies loads the buddy list and shows it, retrying with jittered
// back-off until it succeeds (ok) or the account closes. The document is
// empty when there is none.
func (a *Account) loadBuddies() (doc *resourcelists.Document, ok bool) {
	bo := backoff.Backoff{Min: DefaultListRetryMin, Max: DefaultListRetryMax}
	for {
		ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
		doc, etag, err := a.fetchBuddies(ctx, "")
		cancel()
		if err == nil {
			a.lists.mu.Lock()
			a.lists.etag = etag
			a.lists.mu.Unlock()
			a.setBuddies(doc)
			return doc, true
		}
		if a.ctx.Err() != nil {
			return nil, false
		}
		delay := bo.Next(0)
		a.log.Warn("buddy list not loaded", "error", err, "retry_in", delay.String())
		a.q.push(BuddiesEvent{Err: fmt.Errorf("buddy list: %w (retrying in %s)", err, delay.Round(100*time.Millisecond))})
		select {
		case <-a.ctx.Done():
			return nil, false
		case <-time.After(delay):
		}
	}
}

// fetchBuddies reads the buddy list document and its ETag (a missing one
// is an empty document); a non-empty ifNoneMatch makes the read
// conditional (xcap.ErrNotModified when it did not change).
func (a *Account) fetchBuddies(ctx context.Context, ifNoneMatch string) (*resourcelists.Document, string, error) {
	doc, err := a.xc.Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, ifNoneMatch)
	if xcap.IsNotFound(err) {
		return resourcelists.New(), "", nil
	}
	if err != nil {
		return nil, "", err
	}
	d, err := resourcelists.Parse(doc.Body)
	if err != nil {
		return nil, "", err
	}
	return d, doc.ETag, nil
}
