package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

// tools builds xcap-icon and xcap-directory into a temporary directory.
func tools(t *testing.T) (iconBin, dirBin string) {
	t.Helper()
	bins := testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/xcap-icon", "github.com/sipbuddy/sipbuddy/cmd/xcap-directory")
	return bins[0], bins[1]
}

// startServer runs the embedded XCAP server on 127.0.0.1:0 with alice
// ("secret") and bob ("bobpw") and returns its root.
func startServer(t *testing.T) string {
	t.Helper()
	root, _ := xcaptest.Start(t, map[string]string{"alice": "secret", "bob": "bobpw"})
	return root
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) lines() []string { return strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") }

// runner runs a tool in dir with the given configuration file and no
// password in the environment.
type runner struct {
	t         *testing.T
	dir, conf string
	extraEnv  []string
	iconBin   string
	directory string
}

func (r *runner) run(bin string, args ...string) result {
	r.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = r.dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIPBUDDY_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, "SIPBUDDY_CONFIG="+r.conf), r.extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func photoJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 4), uint8(y / 3), 200, 255})
		}
	}
	return testtool.EncodeJPEG(t, img)
}

// bombPNG is a valid 1x1 PNG whose header claims 30000x30000 pixels.
func bombPNG(t *testing.T) []byte {
	data := testtool.EncodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(data[16:], 30000)
	binary.BigEndian.PutUint32(data[20:], 30000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

var headerLine = regexp.MustCompile(`^[a-z0-9-]+: .+$`)

func checkDump(t *testing.T, lines []string, status, url string) map[string]string {
	t.Helper()
	if len(lines) == 0 || lines[0] != status+" <"+url+">" {
		t.Fatalf("status line %q, want %q", lines, status+" <"+url+">")
	}
	headers := map[string]string{}
	for _, l := range lines[1:] {
		if !headerLine.MatchString(l) {
			t.Errorf("header line %q", l)
		}
		k, v, _ := strings.Cut(l, ": ")
		headers[k] = v
	}
	return headers
}

func TestToolsAgainstEmbeddedServer(t *testing.T) {
	iconBin, dirBin := tools(t)
	root := startServer(t)
	work := t.TempDir()
	conf := filepath.Join(t.TempDir(), "config.toml")
	err := os.WriteFile(conf, []byte(`
[[account]]
name = "alice"
account = "sip:alice@example.test"
password = "secret"
xcap_root = "`+root+`"

[[account]]
name = "bob"
account = "sip:bob@example.test"
password_command = "echo bobpw"
xcap_root = "`+root+`"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, dir: work, conf: conf}
	if err := os.WriteFile(filepath.Join(work, "photo.jpg"), photoJPEG(t, 1024, 768), 0o644); err != nil {
		t.Fatal(err)
	}

	// PUT with explicit flags (no file needed).
	put := r.run(iconBin, "--xcap-root", root, "--account", "sip:alice@example.test", "--password", "secret", "-f", "photo.jpg", "PUT")
	if put.code != 0 {
		t.Fatalf("PUT: %+v", put)
	}
	lines := put.lines()
	if lines[0] != "Icon uploaded successfully" {
		t.Fatalf("PUT output %q", put.stdout)
	}
	m := regexp.MustCompile(`^201 Created <(` + regexp.QuoteMeta(root) + `/oma_status-icon/users/sip:alice@example\.test/([A-Za-z0-9]{20}\.jpg))>$`).FindStringSubmatch(lines[1])
	if m == nil {
		t.Fatalf("201 line %q", lines[1])
	}
	iconURL, name := m[1], m[2]
	headers := checkDump(t, lines[1:], "201 Created", iconURL)
	etag := strings.Trim(headers["etag"], `"`)
	if etag == "" || !strings.HasPrefix(headers["etag"], `"`) {
		t.Errorf("etag header %q", headers["etag"])
	}

	// A plain GET of the URL returns a 256x256 JPEG.
	resp, err := http.Get(iconURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET %s: %s %q", iconURL, resp.Status, resp.Header.Get("Content-Type"))
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("stored icon %+v %v", cfg, err)
	}

	// xcap-directory lists it with the same ETag (account from the file).
	dir := r.run(dirBin, "-a", "alice")
	want := "Retrieving xcap-directory from " + root + "\nFolder 'oma_status-icon':\n\t" + name + " etag: " + etag + "\n"
	if dir.code != 0 || dir.stdout != want {
		t.Fatalf("xcap-directory:\n%s\nwant:\n%s\nstderr %s", dir.stdout, want, dir.stderr)
	}
	dirXML := r.run(dirBin, "-a", "alice", "-s")
	if !strings.HasPrefix(dirXML.stdout, want+"\nFull XML document:\n<?xml") || !strings.Contains(dirXML.stdout, `etag="`+etag+`"`) {
		t.Errorf("xcap-directory -s:\n%s", dirXML.stdout)
	}

	// GET lists, -f NAME GET downloads without overwriting.
	list := r.run(iconBin, "-a", "alice", "GET")
	if list.code != 0 || list.stdout != "Icons:\n\t"+iconURL+"\n" {
		t.Fatalf("GET: %+v", list)
	}
	stem := strings.TrimSuffix(name, ".jpg")
	for _, file := range []string{"icon_" + name, "icon_" + stem + "_0.jpg", "icon_" + stem + "_1.jpg"} {
		got := r.run(iconBin, "-a", "alice", "-f", name, "GET")
		if got.code != 0 || got.stdout != "Icons:\n\t"+iconURL+"\n\tFile saved to: "+file+"\n" {
			t.Fatalf("GET -f: %+v", got)
		}
		data, err := os.ReadFile(filepath.Join(work, file))
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width != 256 {
			t.Fatalf("%s is not the 256x256 JPEG: %v", file, err)
		}
	}
	if got := r.run(iconBin, "-a", "alice", "-f", "nosuch.png", "GET"); got.code != 1 || got.stderr != "Error: Cannot download icon: the account has no icon named nosuch.png\n" {
		t.Errorf("GET unknown: %+v", got)
	}

	// Failures: each prints one "Error: " line, exits 1 and stores nothing.
	if err := os.WriteFile(filepath.Join(work, "notes.txt"), []byte("not a picture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "bomb.png"), bombPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	huge, err := os.Create(filepath.Join(work, "huge.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	huge.Write(photoJPEG(t, 8, 8))
	huge.Truncate(21 << 20)
	huge.Close()
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String() + "/xcap-root"
	}()
	asAlice := []string{"--xcap-root", root, "--account", "sip:alice@example.test"}
	failures := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"missing file", nil, []string{"-a", "alice", "-f", "nosuch.jpg", "PUT"}, "Error: Cannot PUT icon: nosuch.jpg: no such file"},
		{"not an image", nil, []string{"-a", "alice", "-f", "notes.txt", "PUT"}, "Error: Cannot PUT icon: notes.txt: not an image"},
		{"pixel bomb", nil, []string{"-a", "alice", "-f", "bomb.png", "PUT"}, "Error: Cannot PUT icon: bomb.png: image is 30000x30000 pixels, the limit is 16384 pixels a side"},
		{"too large", nil, []string{"-a", "alice", "-f", "huge.jpg", "PUT"}, "Error: Cannot PUT icon: huge.jpg: file size is 21 MiB, the limit is 20 MiB"},
		{"wrong password", []string{"SIPBUDDY_PASSWORD=wrong"}, append(asAlice, "-f", "photo.jpg", "PUT"), "Error: Cannot PUT icon: 401 Unauthorized: wrong user name or password"},
		{"bob in alice's tree", nil, append(asAlice, "--username", "bob", "--password", "bobpw", "-f", "photo.jpg", "PUT"), "Error: Cannot PUT icon: 403 Forbidden"},
		{"unreachable", nil, []string{"--xcap-root", closed, "--account", "sip:alice@example.test", "--password", "x", "-f", "photo.jpg", "PUT"}, "Error: Cannot PUT icon: cannot reach the XCAP server at " + strings.TrimSuffix(strings.TrimPrefix(closed, "http://"), "/xcap-root") + ": "},
		{"ambiguous account", nil, []string{"-a", "example", "GET"}, "Error: More than one account exists which matches example: alice@example.test, bob@example.test"},
		{"no operation", nil, []string{"-a", "alice"}, "Error: You need to specify the operation: GET, PUT or DELETE"},
		{"PUT without file", nil, []string{"-a", "alice", "PUT"}, "Error: You need to specify an input filename for doing a PUT."},
		{"DELETE without name", nil, []string{"-a", "alice", "DELETE"}, "Error: You need to specify the filename to delete."},
		{"bob deletes alice's icon", nil, append(asAlice, "--username", "bob", "--password", "bobpw", "-f", name, "DELETE"), "Error: Cannot DELETE icon: 403 Forbidden"},
	}
	for _, f := range failures {
		r.extraEnv = f.env
		got := r.run(iconBin, f.args...)
		if got.code != 1 || !strings.HasPrefix(got.stderr, f.want) || strings.Count(got.stderr, "\n") != 1 || got.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want stderr starting %q", f.name, got.code, got.stdout, got.stderr, f.want)
		}
	}
	r.extraEnv = nil
	if got := r.run(dirBin, "-a", "alice"); got.stdout != want {
		t.Errorf("a failed command changed the server:\n%s", got.stdout)
	}
	if got := r.run(dirBin, "--xcap-root", root, "--account", "sip:alice@example.test", "--password", "wrong"); got.code != 1 || got.stderr != "Error: Cannot obtain 'xcap-directory' document: 401 Unauthorized: wrong user name or password\n" {
		t.Errorf("xcap-directory wrong password: %+v", got)
	}

	// DELETE prints the response; the icon is gone.
	del := r.run(iconBin, "-a", "alice", "-f", name, "DELETE")
	if del.code != 0 {
		t.Fatalf("DELETE: %+v", del)
	}
	checkDump(t, del.lines(), "200 OK", iconURL)
	resp, err = http.Get(iconURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET after DELETE: %s", resp.Status)
	}
	if got := r.run(iconBin, "-a", "alice", "-f", name, "DELETE"); got.code != 1 || !strings.HasPrefix(got.stderr, "Error: Cannot DELETE icon: 404 Not Found") {
		t.Errorf("second DELETE: %+v", got)
	}
}
