package account

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// States of Account.myIcon.
const (
	myIconUnsettled int32 = iota // not asked yet, or the server did not answer
	myIconLoading
	myIconSettled
)

// loadMyIcon finds the icon I stored in an earlier session (or with
// another tool) and publishes it, so watchers see it without a new upload.
// When the server cannot be asked (it is down at start) it is tried again
// after the next successful registration (reloadMyIconIfUnsettled).
func (a *Account) loadMyIcon() { a.settleMyIcon(false) }

// settleMyIcon is loadMyIcon; follow replaces (or drops) an icon already
// shown when the stored one differs (another client changed it).
func (a *Account) settleMyIcon(follow bool) {
	if a.findMyIcon(follow) {
		a.myIcon.Store(myIconSettled)
	} else {
		a.myIcon.Store(myIconUnsettled)
	}
}

// reloadMyIconIfUnsettled asks for my stored icon again when the last
// attempt got no answer (called on every successful registration: the
// server is back).
func (a *Account) reloadMyIconIfUnsettled() {
	if a.ctx.Err() != nil || !a.myIcon.CompareAndSwap(myIconUnsettled, myIconLoading) {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.loadMyIcon()
	}()
}

// errNoStoredIcon means the server holds no icon of mine.
var errNoStoredIcon = errors.New("no icon stored")

// findMyIcon does loadMyIcon's work and reports whether the question is
// settled (found, absent, or unusable) rather than unanswered. With
// follow, the stored icon replaces the one I publish when it differs, and
// no stored icon removes it.
func (a *Account) findMyIcon(follow bool) bool {
	ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
	defer cancel()
	url, data, err := a.storedIcon(ctx)
	switch {
	case errors.Is(err, errNoStoredIcon):
		if follow {
			a.dropMyIconIfGone(ctx)
		}
		return true
	case err != nil && unanswered(err):
		a.log.Info("my icon not loaded", "error", err)
		return false
	case err != nil:
		a.log.Warn("my stored icon cannot be used", "error", err)
		return true
	}
	img, format, err := icon.Decode(data, icon.DefaultLimits)
	if err != nil {
		a.log.Warn("my stored icon does not decode", "url", url, "error", err)
		return true
	}
	hash := icon.ContentHash(data)
	a.cache.store(url, "", hash, data)
	a.mu.Lock()
	if a.closed || (a.self.IconURL != "" && (!follow || a.self.IconSHA1 == hash)) {
		// A new icon was set meanwhile, or it is this one.
		a.mu.Unlock()
		return true
	}
	a.setMyIconLocked(url, hash)
	a.mu.Unlock()
	a.q.push(newIconEvent(a.AOR(), url, hash, img, format, len(data)))
	a.pushSelf()
	return true
}

// dropMyIconIfGone stops publishing my icon when its document is gone
// (another client deleted it); an icon storedIcon does not look for (a
// random name on a server without the legacy application) stays.
func (a *Account) dropMyIconIfGone(ctx context.Context) {
	a.mu.Lock()
	url := a.self.IconURL
	a.mu.Unlock()
	if url == "" {
		return
	}
	if _, _, err := a.xc.FetchIcon(ctx, url, ""); !notStored(err) {
		return
	}
	a.mu.Lock()
	if a.closed || a.self.IconURL != url {
		a.mu.Unlock()
		return
	}
	a.setMyIconLocked("", "")
	a.mu.Unlock()
	a.pushSelf()
}

// setMyIconLocked makes url (sha1 hash; "" for none) my icon and
// publishes it (a.mu held).
func (a *Account) setMyIconLocked(url, hash string) {
	a.self.IconURL, a.self.IconSHA1 = url, hash
	if wire := wirePresence(a.self, a.published); !samePresence(wire, a.published) {
		a.published = wire
		a.ua.SetPresence(wire)
	}
}

// storedIcon finds my icon on the XCAP server as python-sipsimple's
// clients would leave it: my pres-content icon document
// (org.openmobilealliance.pres-content/.../oma_status-icon/<IconName>, the
// one Blink writes), or else the newest document of the legacy
// oma_status-icon application (the SDK's xcap-icon PUT stores each upload
// there under a new name; sipbuddy's own uploads go there too on a server
// that offers it). It returns errNoStoredIcon when there is none, another
// error when the server could not say.
func (a *Account) storedIcon(ctx context.Context) (url string, data []byte, err error) {
	if name := a.o.IconName; name != "random" {
		url := a.xc.DocumentURL(xcap.AUIDPresContent, xcap.IconFolder+"/"+name)
		data, _, err := a.xc.FetchIcon(ctx, url, "")
		if err == nil {
			return url, data, nil
		}
		if !notStored(err) {
			return "", nil, err
		}
	}
	dir, err := a.xc.Directory(ctx)
	if err != nil {
		if notStored(err) {
			// No xcap-directory here: the one legacy name sipbuddy writes.
			return a.legacyIcon(ctx)
		}
		return "", nil, err
	}
	newest := newestLegacyIcon(xcap.IconEntries(dir))
	if newest == nil {
		return "", nil, errNoStoredIcon
	}
	data, _, err = a.xc.FetchIcon(ctx, newest.URI, "")
	if notStored(err) {
		return "", nil, errNoStoredIcon // removed since the listing
	}
	return newest.URI, data, err
}

// legacyIcon fetches oma_status-icon/<IconName> where the server offers
// the legacy application.
func (a *Account) legacyIcon(ctx context.Context) (string, []byte, error) {
	name := a.o.IconName
	if name == "random" {
		return "", nil, errNoStoredIcon
	}
	auid, path, err := a.xc.IconLocation(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if auid != xcap.AUIDLegacyIcon {
		return "", nil, errNoStoredIcon // the pres-content one was asked first
	}
	url := a.xc.DocumentURL(auid, path)
	data, _, err := a.xc.FetchIcon(ctx, url, "")
	if notStored(err) {
		return "", nil, errNoStoredIcon
	}
	return url, data, err
}

// unanswered reports whether err means the server could not be asked
// (down, overloaded, or my password refused until a new one is given):
// worth asking again once the account registers, unlike a document that
// is there but unusable.
func unanswered(err error) bool {
	var te *xcap.TransportError
	code := xcap.StatusCodeOf(err)
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		code >= 500 || code == 401 || code == 403
}

// notStored reports whether an XCAP answer says "nothing there" (or "not
// served here") rather than that the server could not be asked.
func notStored(err error) bool {
	switch xcap.StatusCodeOf(err) {
	case 404, 405, 501:
		return true
	}
	return false
}

// newestLegacyIcon is the legacy oma_status-icon entry modified last; of
// entries modified in the same second, the last by URI (the listing's
// order is the server's). nil when there is none.
func newestLegacyIcon(entries []xcap.DirEntry) *xcap.DirEntry {
	var legacy []xcap.DirEntry
	for _, e := range entries {
		if strings.Contains(e.URI, "/"+xcap.AUIDLegacyIcon+"/users/") {
			legacy = append(legacy, e)
		}
	}
	if len(legacy) == 0 {
		return nil
	}
	newest := slices.MaxFunc(legacy, func(x, y xcap.DirEntry) int {
		if c := x.LastModified.Compare(y.LastModified); c != 0 {
			return c
		}
		return strings.Compare(x.URI, y.URI)
	})
	return &newest
}
