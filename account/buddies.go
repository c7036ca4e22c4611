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
			return addToGroup(d, group, u, displayName)
		})
		if err != nil {
			return "", err
		}
		a.setBuddies(doc)
		a.ua.Subscribe(u)
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
			return nil
		})
		if err != nil {
			return "", err
		}
		a.setBuddies(doc)
		a.ua.Unsubscribe(uri)
		a.icons.forget(uri)
		return uri + " removed", nil
	})
}

// setBuddies reports the buddy list of doc (nil: no document yet).
func (a *Account) setBuddies(doc *resourcelists.Document) {
	a.q.push(buddiesEvent(doc))
}

// loadBuddies loads the buddy list and subscribes to every buddy, retrying
// with jittered back-off until it succeeds or the account closes.
func (a *Account) loadBuddies() {
	bo := backoff.Backoff{Min: DefaultListRetryMin, Max: DefaultListRetryMax}
	for {
		ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
		doc, err := a.fetchBuddies(ctx)
		cancel()
		if err == nil {
			a.setBuddies(doc)
			for _, e := range doc.Entries() {
				a.ua.Subscribe(e.URI)
			}
			return
		}
		if a.ctx.Err() != nil {
			return
		}
		delay := bo.Next(0)
		a.log.Warn("buddy list not loaded", "error", err, "retry_in", delay.String())
		a.q.push(BuddiesEvent{Err: fmt.Errorf("buddy list: %w (retrying in %s)", err, delay.Round(100*time.Millisecond))})
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (a *Account) fetchBuddies(ctx context.Context) (*resourcelists.Document, error) {
	doc, err := a.xc.Get(ctx, resourcelists.AUID, resourcelists.DocumentPath, "")
	if xcap.IsNotFound(err) {
		return resourcelists.New(), nil
	}
	if err != nil {
		return nil, err
	}
	return resourcelists.Parse(doc.Body)
}
