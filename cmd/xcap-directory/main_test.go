package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

func runTool(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestDirectoryOfEmbeddedServer(t *testing.T) {
	t.Setenv("SIPBUDDY_PASSWORD", "")
	root, _ := xcaptest.Start(t, map[string]string{"alice": "secret"})
	conf := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(conf, []byte("[[account]]\nname = \"a\"\naccount = \"sip:alice@example.test\"\npassword = \"secret\"\nxcap_root = \""+root+"\"\n"), 0o600)
	t.Setenv("SIPBUDDY_CONFIG", conf)

	// Empty account: just the header line.
	out, errOut, code := runTool(t, "-a", "alice")
	if code != 0 || out != "Retrieving xcap-directory from "+root+"\n" {
		t.Fatalf("empty: %q %q %d", out, errOut, code)
	}
	// Two documents in two folders.
	alice, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(auid, ct, body string) string {
		resp, err := alice.Put(context.Background(), auid, "index", []byte(body), ct, xcap.Condition{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.ETag
	}
	e1 := put(xcap.AUIDResourceLists, "application/resource-lists+xml", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`)
	e2 := put("pidf-manipulation", "application/pidf+xml", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"/>`)
	out, _, code = runTool(t, "-a", "alice")
	for _, want := range []string{"Folder 'resource-lists':\n\tindex etag: " + e1 + "\n", "Folder 'pidf-manipulation':\n\tindex etag: " + e2 + "\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if _, errOut, code := runTool(t, "-a", "nobody"); code != 1 || errOut != "Error: No enabled account that matches nobody was found. Available and enabled accounts: alice@example.test\n" {
		t.Errorf("unknown account: %q %d", errOut, code)
	}
	if _, errOut, code := runTool(t, "--account", "sip:alice@example.test", "--password", "secret"); code != 1 || errOut != "Error: XCAP root is not defined for account alice@example.test\n" {
		t.Errorf("no root: %q %d", errOut, code)
	}
}

func TestInvalidDirectoryDocument(t *testing.T) {
	t.Setenv("SIPBUDDY_PASSWORD", "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>not a directory</html>")
	}))
	defer srv.Close()
	_, errOut, code := runTool(t, "--xcap-root", srv.URL+"/xcap-root", "--account", "sip:alice@example.test")
	if code != 1 || !strings.HasPrefix(errOut, "Error: Invalid 'xcap-directory' document: ") {
		t.Errorf("%q %d", errOut, code)
	}
}
