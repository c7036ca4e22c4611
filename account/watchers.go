package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// Who may see my presence: one decision per watcher, written where the
// account's other clients read it (presrules.Layout: python-sipsimple's
// OMA document and lists when the server has them, IETF pres-rules
// otherwise; presrules.Apply), and the rules as they stand
// (WatcherRulesEvent) for a watchers view.

// AcceptWatcher allows uri to see my presence.
func (a *Account) AcceptWatcher(uri string) RequestID {
	return a.watcherRequest(AcceptWatcherRequest, uri, presrules.Allow, "%s may now see your presence")
}

// BlockWatcher blocks uri: the server ends its subscription and tells it
// so (its client asks again now and then, and sees me again once I
// unblock it).
func (a *Account) BlockWatcher(uri string) RequestID {
	return a.watcherRequest(BlockWatcherRequest, uri, presrules.Block, "%s blocked")
}

// PoliteBlockWatcher lets uri watch but shows it nothing real: I look
// offline to it, without a note or an icon.
func (a *Account) PoliteBlockWatcher(uri string) RequestID {
	return a.watcherRequest(PoliteBlockWatcherRequest, uri, presrules.PoliteBlock, "%s now sees you offline (polite block)")
}

// ForgetWatcher removes my decision about uri: the other rules, or the
// server's default, decide again.
func (a *Account) ForgetWatcher(uri string) RequestID {
	return a.watcherRequest(ForgetWatcherRequest, uri, presrules.Undo, "your rule for %s removed")
}

// ReadWatcherRules reads the rules again and answers with a
// WatcherRulesEvent (and a DoneEvent).
func (a *Account) ReadWatcherRules() RequestID {
	return a.run(ReadWatcherRulesRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.pushWatcherRules(ctx); err != nil {
			return "", err
		}
		return "watcher rules read", nil
	})
}

func (a *Account) watcherRequest(kind RequestKind, uri string, h presrules.Handling, done string) RequestID {
	return a.run(kind, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.setWatcher(ctx, uri, h); err != nil {
			return "", err
		}
		return fmt.Sprintf(done, uri), nil
	})
}

// setWatcher writes one watcher's decision with presrules.Apply (each
// document one conditional read-modify-write, retried on 412).
func (a *Account) setWatcher(ctx context.Context, uri string, h presrules.Handling) error {
	if _, err := NormalizeURI(uri); err != nil {
		return err
	}
	layout, err := presrules.Layout(ctx, a.xc)
	if err != nil {
		return err
	}
	if err := a.keepCurrentWatchers(ctx, layout, uri); err != nil {
		return err
	}
	err = presrules.Apply(ctx, a.xc, layout, a.AOR(), uri, h)
	var overridden *presrules.OverriddenError
	if err != nil && !errors.As(err, &overridden) {
		return err
	}
	// Servers that re-evaluate the watcher without telling the owner
	// (Kamailio) show the change on the next winfo refresh.
	a.ua.RefreshWatchers()
	if rerr := a.pushWatcherRules(ctx); rerr != nil {
		a.log.Warn("reading the watcher rules back failed", "error", rerr)
	}
	if overridden != nil {
		// Our rule is stored, but another client's rule wins.
		return fmt.Errorf("saved, but %w", overridden)
	}
	return nil
}

// pushWatcherRules reads the rules and lists documents and queues a
// WatcherRulesEvent; from then on the rules follow other clients' edits
// (listsync.go).
func (a *Account) pushWatcherRules(ctx context.Context) error {
	l := &a.lists
	l.rulesRead.Lock()
	defer l.rulesRead.Unlock()
	l.mu.Lock()
	l.rulesWanted = true
	l.mu.Unlock()
	layout, err := presrules.Layout(ctx, a.xc)
	if err != nil {
		return err
	}
	d, err := presrules.Read(ctx, a.xc, layout)
	if err != nil {
		return err
	}
	rules, err := presrules.Watchers(d.Rules, d.Lists)
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	explain, err := presrules.Explainer(d.Rules, d.Lists)
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	unlisted, err := presrules.UnlistedOf(d.Rules)
	if err != nil {
		return fmt.Errorf("pres-rules: %w", err)
	}
	a.q.push(WatcherRulesEvent{Layout: layout, Rules: rules, Unlisted: unlisted, Explain: explain})
	return nil
}

// SetAskEveryone chooses what happens to watchers no rule names: asked
// about (they wait until I decide), or else the server's default (IETF
// layout: the embedded server lets my domain see me and makes others wait)
// or, in Blink's layout, allowed (its wp_prs_allow_unlisted).
func (a *Account) SetAskEveryone(ask bool) RequestID {
	return a.run(AskEveryoneRequest, func(ctx context.Context, _ RequestID) (string, error) {
		layout, err := presrules.Layout(ctx, a.xc)
		if err != nil {
			return "", err
		}
		if err := a.keepCurrentWatchers(ctx, layout, ""); err != nil {
			return "", err
		}
		if err := presrules.UpdateUnlisted(ctx, a.xc, layout, a.AOR(), ask); err != nil {
			return "", err
		}
		a.ua.RefreshWatchers()
		if err := a.pushWatcherRules(ctx); err != nil {
			a.log.Warn("reading the watcher rules back failed", "error", err)
		}
		switch {
		case ask:
			return "you are asked about every new watcher", nil
		case layout == presrules.OMAAUID:
			return "watchers you have not blocked may see you", nil
		}
		return "the server decides about new watchers (your domain may see you, others wait)", nil
	})
}

// keepCurrentWatchers grants, in Blink's layout and only before its rules
// document exists, the watchers who see me now (active in watcher info)
// but the one being decided: python-sipsimple's rules, which the first
// decision creates, ask about everyone unlisted, and without this every
// watcher the server's default let in would suddenly have to ask again.
func (a *Account) keepCurrentWatchers(ctx context.Context, layout, except string) error {
	if layout != presrules.OMAAUID {
		return nil
	}
	exists, err := presrules.OMAExists(ctx, a.xc)
	if err != nil || exists {
		return err
	}
	var keep []string
	self, _ := NormalizeURI(a.AOR())
	skip, _ := NormalizeURI(except)
	if ws := a.winfo.Load(); ws != nil {
		for _, w := range *ws {
			u, err := NormalizeURI(w.URI)
			if err == nil && w.Status == "active" && u != self && u != skip && !slices.Contains(keep, u) {
				keep = append(keep, u)
			}
		}
	}
	return presrules.GrantOMA(ctx, a.xc, keep)
}
