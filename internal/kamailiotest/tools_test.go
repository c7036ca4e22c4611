package kamailiotest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// toolTimeout bounds one run of a tool.
const toolTimeout = 30 * time.Second

// buildTools builds xcap-icon and xcap-directory into a temporary directory.
func buildTools(t *testing.T) (iconBin, dirBin string) {
	t.Helper()
	bins := testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/xcap-icon", "github.com/sipbuddy/sipbuddy/cmd/xcap-directory")
	return bins[0], bins[1]
}

// tool runs a built tool as alice against in, in dir, with no configuration
// file, and returns its stdout, stderr and exit code.
func tool(t *testing.T, in instance, dir, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	all := append([]string{"--account", aor("alice"), "--password", "alicepw", "--xcap-root", in.XCAP}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIPBUDDY_CONFIG="+filepath.Join(dir, "no-config.toml"), "SIPBUDDY_PASSWORD=", "HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return out.String(), errb.String(), code
}

// TestIconTools runs xcap-icon and xcap-directory, built from this tree,
// against Kamailio's XCAP server and checks the SDK-compatible output
// (Kamailio answers a PUT with "200 OK", never 201; icons live in
// org.openmobilealliance.pres-content under oma_status-icon/).
func TestIconTools(t *testing.T) {
	in := openInstance(t)
	iconBin, dirBin := buildTools(t)
	dir := t.TempDir()
	photoPath := photo(t, dir)
	iconDir := regexp.QuoteMeta(in.XCAP + "/" + xcap.AUIDPresContent + "/users/" + aor("alice") + "/" + xcap.IconFolder + "/")

	out, errOut, code := tool(t, in, dir, iconBin, "-f", photoPath, "PUT")
	put := regexp.MustCompile(`^Icon uploaded successfully\n200 OK <(` + iconDir + `([A-Za-z0-9]{20}\.jpg))>\n(?:[a-z-]+: .*\n)*etag: "([^"]+)"\n`)
	m := put.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("xcap-icon PUT: exit %d\n%s%s", code, out, errOut)
	}
	url, name, etag := m[1], m[2], m[3]
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "HTTP/") || strings.Contains(l, "201") {
			t.Errorf("unexpected line %q in\n%s", l, out)
		}
	}

	out, errOut, code = tool(t, in, dir, iconBin, "GET")
	if code != 0 || !strings.HasPrefix(out, "Icons:\n") || !strings.Contains(out, "\n\t"+url+"\n") {
		t.Errorf("xcap-icon GET: exit %d, want Icons: and a tab-indented %s\n%s%s", code, url, out, errOut)
	}

	out, errOut, code = tool(t, in, dir, iconBin, "-f", name, "GET")
	if code != 0 || !strings.HasSuffix(out, "\tFile saved to: icon_"+name+"\n") {
		t.Fatalf("xcap-icon -f %s GET: exit %d\n%s%s", name, code, out, errOut)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "icon_"+name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := icon.Check(saved, icon.DefaultLimits)
	if err != nil || cfg.Format != icon.JPEG || cfg.Width != icon.Side || cfg.Height != icon.Side {
		t.Errorf("saved icon: %+v %v, want a %dx%d JPEG", cfg, err, icon.Side, icon.Side)
	}

	out, errOut, code = tool(t, in, dir, dirBin)
	// Kamailio lists the etag without quotes; folders only for AUIDs that
	// hold documents.
	listing := regexp.MustCompile(`(?m)^Retrieving xcap-directory from ` + regexp.QuoteMeta(in.XCAP) + `\n(?:.*\n)*Folder '` +
		regexp.QuoteMeta(xcap.AUIDPresContent) + `':\n(?:\t.*\n)*\t` + regexp.QuoteMeta(name) + ` etag: ` + regexp.QuoteMeta(etag) + `\n`)
	if code != 0 || !listing.MatchString(out) {
		t.Errorf("xcap-directory: exit %d, want %s with etag %s under %s\n%s%s", code, name, etag, xcap.AUIDPresContent, out, errOut)
	}

	out, errOut, code = tool(t, in, dir, iconBin, "-f", name, "DELETE")
	if code != 0 || !strings.HasPrefix(out, "200 OK <"+url+">\n") {
		t.Errorf("xcap-icon -f %s DELETE: exit %d\n%s%s", name, code, out, errOut)
	}
	// Kamailio answers a DELETE of a missing document with 500; the tool
	// says what happened.
	out, errOut, code = tool(t, in, dir, iconBin, "-f", name, "DELETE")
	if code != 1 || !strings.Contains(errOut, "Cannot DELETE icon: 404") || !strings.Contains(errOut, "no such document") {
		t.Errorf("second DELETE: exit %d, want 1 and a 404 no such document\n%s%s", code, out, errOut)
	}
	out, _, _ = tool(t, in, dir, iconBin, "GET")
	if strings.Contains(out, name) {
		t.Errorf("deleted icon still listed:\n%s", out)
	}
}
