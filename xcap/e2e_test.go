package xcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

// TestMain runs the package's tests once per kind of store the embedded
// server can run on.
func TestMain(m *testing.M) {
	code := 0
	for _, kind := range storetest.Kinds() {
		xcaptest.StoreKind = kind
		fmt.Fprintf(os.Stderr, "xcap: the embedded server on the %s store\n", kind)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	os.Exit(code)
}

// realServer runs the embedded XCAP server on 127.0.0.1:0 with users alice
// (password "secret") and bob ("bobpw").
func realServer(t *testing.T) string {
	t.Helper()
	root, _ := xcaptest.Start(t, map[string]string{"alice": "secret", "bob": "bobpw"})
	return root
}

func realClient(t *testing.T, root, xui, password string) *Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := NewClient(ClientOptions{Root: root, XUI: xui, Password: password, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmbeddedServerIcons(t *testing.T) {
	root := realServer(t)
	alice := realClient(t, root, "sip:alice@example.test", "secret")
	ctx := context.Background()

	caps, err := alice.Caps(ctx)
	if err != nil || !caps.Has(AUIDPresContent) || !caps.Has(AUIDResourceLists) {
		t.Fatalf("caps %+v %v", caps, err)
	}
	up, err := alice.UploadIcon(ctx, jpegBytes(t, 1024, 768), "")
	if err != nil {
		t.Fatal(err)
	}
	// The embedded server offers the legacy AUID, so the SDK's layout is used.
	wantAUID := AUIDLegacyIcon
	if up.AUID != wantAUID || up.Response.StatusCode != 201 || up.ETag == "" || !strings.HasPrefix(up.URL, root+"/"+wantAUID+"/users/sip:alice@example.test/") {
		t.Fatalf("upload %+v", up)
	}

	// Anyone can fetch it; it is the fitted 256x256 JPEG.
	data, etag, err := FetchIcon(ctx, nil, up.URL+"#"+up.SHA1, "")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 || etag != up.ETag {
		t.Fatalf("fetched %v %v etag %q (uploaded %q)", img.Bounds(), err, etag, up.ETag)
	}
	if _, _, err := FetchIcon(ctx, nil, up.URL, etag); !errors.Is(err, ErrNotModified) {
		t.Errorf("revalidation: %v", err)
	}

	// The directory lists it with the same ETag.
	icons, err := alice.Icons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range icons {
		if e.Name() == up.Name && e.ETag == up.ETag {
			found = true
		}
	}
	if !found {
		t.Fatalf("icon %s (etag %s) not in %+v", up.Name, up.ETag, icons)
	}

	// A second upload under Blink's fixed name, then replace it.
	if _, err := alice.UploadIcon(ctx, pngBytes(t, 300, 200), BlinkIconName); err != nil {
		t.Fatal(err)
	}
	again, err := alice.UploadIcon(ctx, pngBytes(t, 64, 64), BlinkIconName)
	if err != nil || again.Response.StatusCode != 200 {
		t.Fatalf("replace: %+v %v", again, err)
	}

	// Bob may read but not delete alice's icons; alice may.
	bob := realClient(t, root, "sip:bob@example.test", "bobpw")
	if _, _, err := bob.FetchIcon(ctx, up.URL, ""); err != nil {
		t.Errorf("bob reading alice's icon: %v", err)
	}
	resp, err := alice.DeleteIcon(ctx, up.Name)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("delete %+v %v", resp, err)
	}
	if _, _, err := FetchIcon(ctx, nil, up.URL, ""); !IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := alice.DeleteIcon(ctx, up.Name); !IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
}

func TestEmbeddedServerDocumentsAndErrors(t *testing.T) {
	root := realServer(t)
	alice := realClient(t, root, "sip:alice@example.test", "secret")
	ctx := context.Background()
	const rl = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"/></resource-lists>`
	created, err := alice.Put(ctx, AUIDResourceLists, "index", []byte(rl), "application/resource-lists+xml", Condition{IfNoneMatch: "*"})
	if err != nil || created.StatusCode != 201 || created.ETag == "" {
		t.Fatalf("create %+v %v", created, err)
	}
	if _, err := alice.Put(ctx, AUIDResourceLists, "index", []byte(rl), "application/resource-lists+xml", Condition{IfNoneMatch: "*"}); StatusCodeOf(err) != 412 {
		t.Errorf("create-only on an existing document: %v", err)
	}
	doc, err := alice.Get(ctx, AUIDResourceLists, "index", "")
	if err != nil || doc.ETag != created.ETag {
		t.Fatalf("get %+v %v", doc, err)
	}
	if _, err := alice.Get(ctx, AUIDResourceLists, "index", doc.ETag); !errors.Is(err, ErrNotModified) {
		t.Errorf("conditional get: %v", err)
	}
	el, err := alice.Get(ctx, AUIDResourceLists, `index/~~/resource-lists/list[@name="buddies"]`, "")
	if err != nil || !strings.Contains(string(el.Body), `name="buddies"`) {
		t.Errorf("element get %v %q", err, el)
	}

	// 409 with the server's phrase.
	_, err = alice.Put(ctx, AUIDPresContent, "oma_status-icon/x", []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/bmp</mime-type><data>AAAA</data></content>`), icon.ContentMIMEType, Condition{})
	var xe *Error
	if !errors.As(err, &xe) || xe.StatusCode != 409 || xe.Tag != "constraint-failure" || xe.Phrase == "" {
		t.Fatalf("409: %#v", err)
	}
	// Wrong password and someone else's tree.
	_, err = realClient(t, root, "sip:alice@example.test", "wrong").Put(ctx, AUIDResourceLists, "index", []byte(rl), "application/resource-lists+xml", Condition{})
	if StatusCodeOf(err) != 401 || !strings.Contains(err.Error(), "wrong user name or password") {
		t.Errorf("wrong password: %v", err)
	}
	bobAsAlice, err := NewClient(ClientOptions{Root: root, XUI: "sip:alice@example.test", Username: "bob", Password: "bobpw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobAsAlice.Put(ctx, AUIDResourceLists, "index", []byte(rl), "application/resource-lists+xml", Condition{}); StatusCodeOf(err) != 403 {
		t.Errorf("bob writing alice's tree: %v", err)
	}
}
