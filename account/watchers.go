package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// maxConflictRetries bounds setWatcher's GET/modify/PUT loop on 412.
const maxConflictRetries = 5

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

// setWatcher writes one watcher's decision into pres-rules: GET, modify,
// PUT with If-Match (If-None-Match: * when there is no document yet); a
// 412 means someone else wrote in between, so it starts over.
func (a *Account) setWatcher(ctx context.Context, uri string, h presrules.Handling) error {
	if _, err := NormalizeURI(uri); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		var body []byte
		cond := xcap.Condition{IfNoneMatch: "*"}
		doc, err := a.xc.Get(ctx, presrules.AUID, presrules.DocumentPath, "")
		switch {
		case err == nil:
			body, cond = doc.Body, xcap.Condition{IfMatch: doc.ETag}
		case xcap.IsNotFound(err):
		default:
			return fmt.Errorf("read pres-rules: %w", err)
		}
		out, err := presrules.SetWatcher(body, uri, h)
		var overridden *presrules.OverriddenError
		if err != nil && !errors.As(err, &overridden) {
			return fmt.Errorf("pres-rules: %w", err)
		}
		_, err = a.xc.Put(ctx, presrules.AUID, presrules.DocumentPath, out, presrules.ContentType, cond)
		if err == nil {
			// Servers that re-evaluate the watcher without telling the
			// owner (Kamailio) show the change on the next winfo refresh.
			a.ua.RefreshWatchers()
			if overridden != nil {
				// Our rule is stored, but another client's rule wins.
				return fmt.Errorf("saved, but %w", overridden)
			}
			return nil
		}
		if xcap.StatusCodeOf(err) != http.StatusPreconditionFailed || attempt+1 >= maxConflictRetries {
			return fmt.Errorf("write pres-rules: %w", err)
		}
	}
}
