package presrules

import (
	"context"
	"errors"
	"fmt"

	"github.com/sipbuddy/sipbuddy/xcap"
)

// Update gives watcher handling h in the user's pres-rules document on the
// XCAP server: one xcap.Client.Update around SetWatcher, so a change made
// by another client in between is read and kept, not overwritten. When a
// rule sipbuddy does not own still decides otherwise, the rules are stored
// and the *OverriddenError is returned.
func Update(ctx context.Context, c *xcap.Client, watcher string, h Handling) error {
	if _, err := Canonical(watcher); err != nil {
		return err
	}
	var overridden *OverriddenError
	_, err := c.Update(ctx, xcap.DocumentRef{AUID: AUID, Path: DocumentPath, ContentType: ContentType}, func(cur []byte) ([]byte, error) {
		overridden = nil
		out, err := SetWatcher(cur, watcher, h)
		if errors.As(err, &overridden) {
			return out, nil // store our rule; report the override afterwards
		}
		return out, err
	})
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	if overridden != nil {
		return overridden
	}
	return nil
}
