package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// AcceptWatcher allows uri to see my presence (a pres-rules "allow" rule).
func (a *Account) AcceptWatcher(uri string) RequestID {
	return a.run(AcceptWatcherRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.setWatcher(ctx, uri, presrules.Allow); err != nil {
			return "", err
		}
		return uri + " may now see your presence", nil
	})
}

// BlockWatcher blocks uri from seeing my presence: a pres-rules rule that
// presrules writes as polite-block, so a catch-all "confirm" rule cannot
// outrank it; the watcher is shown nothing real.
func (a *Account) BlockWatcher(uri string) RequestID {
	return a.run(BlockWatcherRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.setWatcher(ctx, uri, presrules.Block); err != nil {
			return "", err
		}
		return uri + " blocked", nil
	})
}

// setWatcher writes one watcher's decision into pres-rules with
// presrules.Update (one conditional read-modify-write, retried on 412).
func (a *Account) setWatcher(ctx context.Context, uri string, h presrules.Handling) error {
	if _, err := NormalizeURI(uri); err != nil {
		return err
	}
	err := presrules.Update(ctx, a.xc, uri, h)
	var overridden *presrules.OverriddenError
	if err != nil && !errors.As(err, &overridden) {
		return err
	}
	// Servers that re-evaluate the watcher without telling the owner
	// (Kamailio) show the change on the next winfo refresh.
	a.ua.RefreshWatchers()
	if overridden != nil {
		// Our rule is stored, but another client's rule wins.
		return fmt.Errorf("saved, but %w", overridden)
	}
	return nil
}
