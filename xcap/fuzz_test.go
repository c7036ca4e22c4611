package xcap

import (
	"errors"
	"net/url"
	"testing"
)

// parsed reports whether a fuzzed parse succeeded; a failure must be an
// ErrInvalidDocument.
func parsed(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("untyped error %v", err)
	}
	return err == nil
}

func FuzzParseDirectory(f *testing.F) {
	f.Add([]byte(sampleDirectory))
	f.Add([]byte(`<folder xmlns="urn:oma:xml:xdm:xcap-directory" auid="a"><entry uri="b/c" etag="d" size="-1" last-modified="x"/></folder>`))
	f.Add([]byte(`<folder xmlns="urn:oma:xml:xdm:xcap-directory" auid="a"><entry uri="sip:x@y/z" etag=""/></folder>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, err := ParseDirectory(data, "http://127.0.0.1:1/xcap-root")
		if !parsed(t, err) {
			return
		}
		for _, f := range dir.Folders {
			if f.AUID == "" {
				t.Fatal("folder without auid")
			}
			for _, e := range f.Entries {
				u, err := url.Parse(e.URI)
				if err != nil || !u.IsAbs() {
					t.Fatalf("entry URI %q is not absolute", e.URI)
				}
				_ = e.Name()
			}
		}
		_ = IconEntries(dir)
	})
}

func FuzzParseXCAPError(f *testing.F) {
	f.Add([]byte(`<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><constraint-failure phrase="x"/></xcap-error>`))
	f.Add([]byte(`<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><no-parent><ancestor>http://h/r</ancestor></no-parent></xcap-error>`))
	f.Add([]byte(`<?xml version="1.0"?><xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><!-- c --></xcap-error>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ParseXCAPError(data)
		if !parsed(t, err) {
			return
		}
		if x.Tag == "" {
			t.Fatal("empty tag accepted")
		}
	})
}

func FuzzParseCaps(f *testing.F) {
	f.Add([]byte(`<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>a</auid></auids><extensions/><namespaces><namespace>n</namespace></namespaces></xcap-caps>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		caps, err := ParseCaps(data)
		if !parsed(t, err) {
			return
		}
		for _, a := range caps.AUIDs {
			if a == "" {
				t.Fatal("empty auid")
			}
		}
	})
}

func FuzzIconData(f *testing.F) {
	f.Add("application/vnd.oma.pres-content+xml", []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/gif</mime-type><data>R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=</data></content>`))
	f.Add("image/gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if _, err := IconData(contentType, body); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
