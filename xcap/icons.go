package xcap

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// IconFolder is the sub-directory of the pres-content AUID that holds icons
// (and the legacy AUID's name).
const IconFolder = "oma_status-icon"

// BlinkIconName is the document name sipsimple/Blink read and write.
const BlinkIconName = "index"

// IconNameLength is the length of the random part of generated icon names,
// as the SDK's xcap-icon made them.
const IconNameLength = 20

// MaxIconResponseSize bounds an icon download: a raw image up to
// icon.DefaultMaxBytes, or a pres-content document (which is smaller).
const MaxIconResponseSize = max(icon.DefaultMaxBytes, icon.MaxDocumentSize)

// iconSides are the square sizes tried, largest first, until the encoded icon
// fits OpenXCAP's <data> limit (only a 256x256 PNG with alpha noise needs a
// smaller side).
var iconSides = []int{icon.Side, 192, 128}

// ErrInvalidIconName means an icon name is not a single path segment.
var ErrInvalidIconName = errors.New("invalid icon name")

const iconNameAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewIconName returns IconNameLength random characters from [A-Za-z0-9]
// followed by "." and the format's extension: "UsRfcDxIAMgGYj8zuXOH.png".
func NewIconName(f icon.Format) string {
	var b strings.Builder
	var buf [64]byte
	for b.Len() < IconNameLength {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, x := range buf {
			// 248 = 4*62: reject the rest so every character is equally likely.
			if x < 248 && b.Len() < IconNameLength {
				b.WriteByte(iconNameAlphabet[x%62])
			}
		}
	}
	return b.String() + "." + f.EncodedFormat().Ext()
}

func checkIconName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\\?#%") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("%w %q: use letters, digits, '.', '-' or '_'", ErrInvalidIconName, name)
	}
	return nil
}

// iconLayout caches the server's xcap-caps answer for the icon layout.
type iconLayout struct {
	mu     sync.Mutex
	legacy *bool
}

// IconLocation returns the AUID and the document path of an icon called
// name: the legacy layout "oma_status-icon/users/<xui>/<name>" when the
// server's xcap-caps offers the oma_status-icon AUID (OpenXCAP 1.x, our
// embedded server), else "org.openmobilealliance.pres-content/users/<xui>/
// oma_status-icon/<name>" (OpenXCAP 2+, Kamailio, and any server without
// xcap-caps). The caps answer is cached; a failed caps request is not.
func (c *Client) IconLocation(ctx context.Context, name string) (auid, path string, err error) {
	legacy, err := c.legacyIcons(ctx)
	if err != nil {
		return "", "", err
	}
	if legacy {
		return AUIDLegacyIcon, name, nil
	}
	return AUIDPresContent, IconFolder + "/" + name, nil
}

func (c *Client) legacyIcons(ctx context.Context) (bool, error) {
	l := &c.icons
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.legacy != nil {
		return *l.legacy, nil
	}
	caps, err := c.Caps(ctx)
	if err != nil {
		var he *Error
		if !errors.As(err, &he) || he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden {
			// Unreachable server or bad credentials: say so now rather
			// than guess a layout.
			return false, err
		}
		// Kamailio answers 501; others 404: no caps, modern layout.
		caps = &Caps{}
	}
	legacy := caps.Has(AUIDLegacyIcon)
	l.legacy = &legacy
	return legacy, nil
}

// IconUpload describes a stored icon.
type IconUpload struct {
	URL, ETag  string
	Name       string      // last path segment
	AUID, Path string      // where it was stored
	Format     icon.Format // the stored format
	Side       int         // the stored square's edge in pixels
	SHA1       string      // hex SHA-1 of the stored image bytes (for PIDF "#<sha1>")
	Response   *Response
}

// PutIcon validates imageBytes, fits them into a square of icon.Side and
// stores the result; see UploadIcon.
func (c *Client) PutIcon(ctx context.Context, imageBytes []byte, name string) (url, etag string, err error) {
	up, err := c.UploadIcon(ctx, imageBytes, name)
	if err != nil {
		return "", "", err
	}
	return up.URL, up.ETag, nil
}

// UploadIcon validates imageBytes locally (icon.UploadLimits: header first,
// no pixel decoded before the size and pixel checks), centre-crops and scales
// them to icon.Side x icon.Side, encodes them in the source format (webp as
// png) and PUTs the pres-content document. An empty name makes a random
// "[A-Za-z0-9]{20}.<ext>" name created with If-None-Match: * (it never
// replaces anything); a fixed name (e.g. BlinkIconName) replaces the icon of
// that name. Nothing reaches the server unless the image passed every check.
func (c *Client) UploadIcon(ctx context.Context, imageBytes []byte, name string) (*IconUpload, error) {
	img, format, err := icon.Decode(imageBytes, icon.UploadLimits)
	if err != nil {
		return nil, err
	}
	out := format.EncodedFormat()
	var (
		content *icon.Content
		side    int
	)
	for _, side = range iconSides {
		data, err := icon.Encode(icon.Fit(img, side), out)
		if err != nil {
			return nil, err
		}
		content = &icon.Content{MIMEType: out.MIMEType(), Encoding: "base64", Data: data}
		if content.DataChars() <= icon.MaxIconDataChars {
			break
		}
	}
	if n := content.DataChars(); n > icon.MaxIconDataChars {
		return nil, &xmltree.LimitError{What: icon.WhatDataChars, Limit: icon.MaxIconDataChars, Actual: int64(n)}
	}
	cond := Condition{}
	if name == "" {
		name = NewIconName(out)
		cond.IfNoneMatch = "*"
	}
	if err := checkIconName(name); err != nil {
		return nil, err
	}
	auid, path, err := c.IconLocation(ctx, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.Put(ctx, auid, path, content.Marshal(), icon.ContentMIMEType, cond)
	if err != nil {
		return nil, err
	}
	return &IconUpload{
		URL:      resp.URL,
		ETag:     resp.ETag,
		Name:     name,
		AUID:     auid,
		Path:     path,
		Format:   out,
		Side:     side,
		SHA1:     icon.ContentHash(content.Data),
		Response: resp,
	}, nil
}

// DeleteIcon removes the user's icon called name, trying the layout
// IconLocation picks first and then the other one (a server may offer both
// AUIDs).
func (c *Client) DeleteIcon(ctx context.Context, name string) (*Response, error) {
	if err := checkIconName(name); err != nil {
		return nil, err
	}
	auid, path, err := c.IconLocation(ctx, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.Delete(ctx, auid, path, Condition{})
	if err == nil {
		return resp, nil
	}
	if !IsNotFound(err) {
		return nil, err
	}
	altAUID, altPath := AUIDPresContent, IconFolder+"/"+name
	if auid == AUIDPresContent {
		altAUID, altPath = AUIDLegacyIcon, name
	}
	if alt, altErr := c.Delete(ctx, altAUID, altPath, Condition{}); altErr == nil {
		return alt, nil
	}
	return nil, err
}

// deleteNotFound turns the answer to a DELETE of a document that does not
// exist into a 404, for every DELETE (Client.Delete). Kamailio's
// xcap_server answers such a DELETE with "500 Server error", so a 500 is
// checked with a GET of the same document: when that GET answers 404, its
// error is returned; otherwise err is.
func (c *Client) deleteNotFound(ctx context.Context, auid, path string, err error) error {
	if StatusCodeOf(err) != http.StatusInternalServerError {
		return err
	}
	if _, getErr := c.Get(ctx, auid, path, ""); IsNotFound(getErr) {
		return getErr
	}
	return err
}

// Icons lists the user's icons from the xcap-directory: every entry of the
// legacy "oma_status-icon" folder and the entries below oma_status-icon/ in
// the pres-content folder.
func (c *Client) Icons(ctx context.Context) ([]DirEntry, error) {
	dir, err := c.Directory(ctx)
	if err != nil {
		return nil, err
	}
	return IconEntries(dir), nil
}

// IconEntries picks the icon documents out of a directory.
func IconEntries(dir *Directory) []DirEntry {
	var out []DirEntry
	for _, f := range dir.Folders {
		for _, e := range f.Entries {
			switch {
			case f.AUID == AUIDLegacyIcon:
				out = append(out, e)
			case f.AUID == AUIDPresContent && strings.Contains(e.URI, "/"+IconFolder+"/"):
				out = append(out, e)
			}
		}
	}
	return out
}

// FetchIcon downloads an icon of this client's server: like the package
// function FetchIcon, but a URL below the client's XCAP root is fetched with
// the client's credentials (answered only if the server challenges).
func (c *Client) FetchIcon(ctx context.Context, iconURL, etag string) (data []byte, newETag string, err error) {
	hc := c.public
	if strings.HasPrefix(iconURL, c.root+"/") {
		hc = c.http
	}
	return FetchIcon(ctx, hc, iconURL, etag)
}

// FetchIcon downloads the icon at iconURL (any http or https URL, as
// published in PIDF) without credentials. The fragment ("#<sha1>",
// "#blink-icon<sha1>") is not sent. A non-empty etag is sent as
// If-None-Match; a 304 answer returns ErrNotModified with etag. The answer
// may be a pres-content document (decoded) or raw image bytes (OpenXCAP 1.x
// and plain web servers); either way the returned data are image bytes that
// passed icon.Check with icon.DefaultLimits. h nil means a client with
// DefaultTimeout.
func FetchIcon(ctx context.Context, h *http.Client, iconURL, etag string) (data []byte, newETag string, err error) {
	u, err := url.Parse(iconURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("xcap: icon URL %q is not an http or https URL", iconURL)
	}
	u.Fragment, u.RawFragment = "", ""
	if h == nil {
		h = &http.Client{Timeout: DefaultTimeout}
	}
	header := http.Header{}
	if etag != "" {
		header.Set("If-None-Match", quoteETag(etag))
	}
	rawURL := u.String()
	resp, body, err := do(ctx, h, http.MethodGet, rawURL, nil, header, MaxIconResponseSize)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, ErrNotModified
	}
	if resp.StatusCode/100 != 2 {
		return nil, "", httpError(http.MethodGet, rawURL, resp, body)
	}
	data, err = IconData(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, "", fmt.Errorf("icon at %s: %w", rawURL, err)
	}
	return data, unquoteETag(resp.Header.Get("ETag")), nil
}

// IconData extracts image bytes from an icon answer: a pres-content document
// (by Content-Type, or by looking like XML) is parsed and its <data>
// decoded; anything else must be raw image bytes (sniffed). The result passed
// icon.Check with icon.DefaultLimits.
func IconData(contentType string, body []byte) ([]byte, error) {
	data := body
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if _, isImage := icon.Sniff(body); !isImage && (mediaType(contentType) == icon.ContentMIMEType || bytes.HasPrefix(trimmed, []byte("<"))) {
		c, err := icon.ParseContent(body)
		if err != nil {
			return nil, err
		}
		if c.MIMEType != "" {
			if _, ok := icon.FormatFromMIME(c.MIMEType); !ok {
				return nil, fmt.Errorf("%w: the document says %s", icon.ErrUnsupportedFormat, c.MIMEType)
			}
		}
		data = c.Data
	}
	if _, err := icon.Check(data, icon.DefaultLimits); err != nil {
		return nil, err
	}
	return data, nil
}
