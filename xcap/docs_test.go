package xcap

import (
	"errors"
	"testing"
	"time"
)

const sampleDirectory = `<?xml version="1.0" encoding="UTF-8"?>
<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">
  <folder auid="resource-lists">
    <entry uri="http://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index"
           etag="9f2c1b0e" last-modified="2025-01-01T10:00:00Z" size="812"/>
  </folder>
  <folder auid="org.openmobilealliance.pres-content">
    <entry uri="org.openmobilealliance.pres-content/users/sip:alice@example.com/oma_status-icon/index" etag='"77aa01"'/>
    <entry uri="/other-root/org.openmobilealliance.pres-content/users/sip:alice@example.com/avatar" etag="1"/>
  </folder>
  <folder auid="oma_status-icon">
    <entry uri="http://xcap.example.com/xcap-root/oma_status-icon/users/sip:alice@example.com/UsRfcDxIAMgGYj8zuXOH.png" etag="40a3"/>
  </folder>
  <folder auid="rls-services"><error-code>503</error-code></folder>
</xcap-directory>`

func TestParseDirectory(t *testing.T) {
	dir, err := ParseDirectory([]byte(sampleDirectory), "http://xcap.example.com/xcap-root/")
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Folders) != 4 {
		t.Fatalf("%d folders", len(dir.Folders))
	}
	rl := dir.Folder("resource-lists").Entries[0]
	if rl.ETag != "9f2c1b0e" || rl.Size != 812 || !rl.LastModified.Equal(time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)) || rl.Name() != "index" {
		t.Errorf("entry %+v", rl)
	}
	pc := dir.Folder(AUIDPresContent).Entries
	if pc[0].URI != "http://xcap.example.com/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.com/oma_status-icon/index" || pc[0].ETag != "77aa01" || pc[0].Size != -1 {
		t.Errorf("relative entry %+v", pc[0])
	}
	if pc[1].URI != "http://xcap.example.com/other-root/org.openmobilealliance.pres-content/users/sip:alice@example.com/avatar" {
		t.Errorf("absolute-path entry %+v", pc[1])
	}
	if f := dir.Folder("rls-services"); f.ErrorCode != "503" || len(f.Entries) != 0 {
		t.Errorf("error folder %+v", f)
	}
	icons := IconEntries(dir)
	if len(icons) != 2 || icons[0].Name() != "index" || icons[1].Name() != "UsRfcDxIAMgGYj8zuXOH.png" {
		t.Errorf("icons %+v", icons)
	}
}

func TestParseDirectoryLoneFolder(t *testing.T) {
	dir, err := ParseDirectory([]byte(`<folder xmlns="urn:oma:xml:xdm:xcap-directory" auid="oma_status-icon"><entry uri="oma_status-icon/users/sip:a@b/x.png" etag="e"/></folder>`), "http://h/xcap-root")
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Folders) != 1 || dir.Folders[0].Entries[0].URI != "http://h/xcap-root/oma_status-icon/users/sip:a@b/x.png" {
		t.Errorf("%+v", dir)
	}
	for _, bad := range []string{
		``, `<xcap-directory/>`, `<x xmlns="urn:oma:xml:xdm:xcap-directory"/>`,
		`<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory"><folder><entry uri="a" etag="b"/></folder></xcap-directory>`,
		`<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory"><folder auid="a"><entry etag="b"/></folder></xcap-directory>`,
	} {
		if _, err := ParseDirectory([]byte(bad), "http://h/r"); !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseXCAPErrorAndCaps(t *testing.T) {
	x, err := ParseXCAPError([]byte(`<?xml version="1.0"?><xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><uniqueness-failure phrase=" duplicate entry "><exists field="/*[1]/@uri"/></uniqueness-failure></xcap-error>`))
	if err != nil || x.Tag != "uniqueness-failure" || x.Phrase != "duplicate entry" {
		t.Fatalf("%+v %v", x, err)
	}
	for _, bad := range []string{`<xcap-error/>`, `<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"></xcap-error>`, `not xml`} {
		if _, err := ParseXCAPError([]byte(bad)); !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	caps, err := ParseCaps([]byte(`<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid> resource-lists </auid><auid>oma_status-icon</auid></auids><namespaces><namespace>urn:x</namespace></namespaces></xcap-caps>`))
	if err != nil || !caps.Has("resource-lists") || !caps.Has(AUIDLegacyIcon) || caps.Has(AUIDPresRules) || len(caps.Namespaces) != 1 {
		t.Fatalf("%+v %v", caps, err)
	}
	if _, err := ParseCaps([]byte(`<xcap-caps/>`)); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("caps without namespace: %v", err)
	}
}
