package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `
default_account = "home"

[[account]]
name = "work"
account = "sip:alice@work.example"
password = "pw-work"
xcap_root = "http://127.0.0.1:8080/xcap-root"
proxy = "sip:127.0.0.1:5060;transport=tcp"
transport = "TCP"
render_mode = "ASCII"
row_size = "Large"
notify = "Bell"
rls = false

[[account]]
name = "home"
account = "sip:alice@home.example"
password_command = "printf '  secret-from-cmd \n'"
render_mode = "Kitty"

[[account]]
name = "old"
account = "sip:bob@home.example"
enabled = false
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndSelect(t *testing.T) {
	f, err := Load(writeConfig(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Accounts) != 3 || f.Accounts[0].Transport != "tcp" || f.Accounts[0].RenderMode != "ascii" || f.Accounts[1].RenderMode != "kitty" || f.Accounts[0].Notify != NotifyBell {
		t.Fatalf("%+v", f.Accounts)
	}
	if f.Accounts[0].RowSize != "large" || f.Accounts[1].RowSize != "" {
		t.Errorf("row_size read as %q and %q, want large and unset", f.Accounts[0].RowSize, f.Accounts[1].RowSize)
	}
	if f.Accounts[0].UsesRLS() || !f.Accounts[1].UsesRLS() {
		t.Errorf("rls = false not read, or RLS not the default: %v, %v", f.Accounts[0].UsesRLS(), f.Accounts[1].UsesRLS())
	}
	cases := []struct{ name, want, err string }{
		{"", "home", ""},
		{"work", "work", ""},
		{"alice@work", "work", ""},
		{"alice", "", "More than one account exists which matches alice: alice@work.example, alice@home.example"},
		{"carol", "", "No enabled account that matches carol was found. Available and enabled accounts: alice@work.example, alice@home.example"},
		{"bob", "", "Account bob@home.example is not enabled"},
	}
	for _, c := range cases {
		a, err := f.Select(c.name)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("Select(%q) error %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || a.Name != c.want):
			t.Errorf("Select(%q) = %+v, %v", c.name, a, err)
		}
	}
	f.DefaultAccount = "nobody"
	if _, err := f.Select(""); err == nil || err.Error() != "Unknown account nobody. Available accounts: alice@work.example, alice@home.example, bob@home.example" {
		t.Errorf("unknown default: %v", err)
	}
}

func TestPasswords(t *testing.T) {
	t.Setenv(EnvPassword, "")
	f, err := Load(writeConfig(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := f.Accounts[1].ResolvePassword(ctx); err != nil || p != "secret-from-cmd" {
		t.Errorf("password_command: %q %v", p, err)
	}
	bad := Account{Account: "sip:a@b", PasswordCommand: "echo oops >&2; exit 3"}
	if _, err := bad.ResolvePassword(ctx); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("failing command: %v", err)
	}
	empty := Account{Account: "sip:a@b", PasswordCommand: "true"}
	if _, err := empty.ResolvePassword(ctx); err == nil || !strings.Contains(err.Error(), "printed nothing") {
		t.Errorf("silent command: %v", err)
	}
	t.Setenv(EnvPassword, "from-env")
	if p, _ := f.Accounts[0].ResolvePassword(ctx); p != "from-env" {
		t.Errorf("env override: %q", p)
	}
}

func TestResolve(t *testing.T) {
	t.Setenv(EnvPassword, "")
	path := writeConfig(t, sample)
	t.Setenv(EnvConfig, path)
	ctx := context.Background()
	a, err := Resolve(ctx, Flags{AccountName: "work"})
	if err != nil || a.Password != "pw-work" || a.XCAPRoot != "http://127.0.0.1:8080/xcap-root" {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = Resolve(ctx, Flags{AccountName: "work", XCAPRoot: "http://127.0.0.1:9/x"})
	if err != nil || a.XCAPRoot != "http://127.0.0.1:9/x" || a.Password != "pw-work" {
		t.Fatalf("override: %+v %v", a, err)
	}
	// Explicit flags need no file at all.
	t.Setenv(EnvConfig, filepath.Join(t.TempDir(), "missing.toml"))
	t.Setenv(EnvPassword, "env-pw")
	a, err = Resolve(ctx, Flags{Account: "sip:carol@example.test", XCAPRoot: "http://127.0.0.1:1/xcap-root"})
	if err != nil || a.Password != "env-pw" || a.User() != "carol" || a.Domain() != "example.test" {
		t.Fatalf("flags: %+v %v", a, err)
	}
	a, err = Resolve(ctx, Flags{Account: "sip:carol@example.test", XCAPRoot: "http://127.0.0.1:1/xcap-root", Password: "flag-pw"})
	if err != nil || a.Password != "flag-pw" {
		t.Fatalf("flag password: %+v %v", a, err)
	}
	if _, err := Resolve(ctx, Flags{AccountName: "work"}); err == nil || !strings.HasPrefix(err.Error(), "Failed to load sipbuddy's configuration: ") {
		t.Errorf("missing file with -a: %v", err)
	}
	if _, err := Resolve(ctx, Flags{Account: "alice@example.test"}); err == nil || !strings.Contains(err.Error(), "not a SIP address") {
		t.Errorf("bad --account: %v", err)
	}
	a = &Account{Account: "sip:x@y"}
	if err := a.RequireXCAP(); err == nil || err.Error() != "XCAP root is not defined for account x@y" {
		t.Errorf("RequireXCAP: %v", err)
	}
}

func TestMalformedFiles(t *testing.T) {
	cases := map[string]string{
		"[[account]]\nname = \"x\"\naccount = \"sip:a@b\"\npasword = \"typo\"\n": "unknown setting account.pasword",
		"[[account]]\nname = \"x\n":                                                                        ":2: ",
		"[[account]]\naccount = \"alice@example\"\n":                                                       `account "alice@example" is not a SIP address`,
		"[[account]]\naccount = \"sip:a@b\"\ntransport = \"sctp\"\n":                                       `transport "sctp": want tcp, udp or tls`,
		"[[account]]\naccount = \"sip:a@b\"\nxcap_root = \"/x\"\n":                                         "want an http or https URL",
		"[[account]]\naccount = \"sip:a@b\"\npassword = \"1\"\npassword_command = \"x\"\n":                 "not both",
		"[[account]]\nname=\"a\"\naccount = \"sip:a@b\"\n[[account]]\nname=\"a\"\naccount = \"sip:c@b\"\n": `two accounts are named "a"`,
		"[[account]]\naccount = 5\n":                                                                       "account",
		"[[account]]\naccount = \"sip:al ice@example.test\"\n":                                             "a space is not allowed",
		"[[account]]\naccount = \"sip:example.test\"\n":                                                    "it has no user part",
		"[[account]]\naccount = \"sip:a:pw@example.test\"\n":                                               "password belongs in the password setting",
		"[[account]]\naccount = \"sip:a@example.test;transport=tcp\"\n":                                    "it has ;parameters",
		"[[account]]\naccount = \"sip:a@b\"\nproxy = \"sip:127.0.0.1:5060;transport=tcp;\"\n":              "empty parameter name",
		"[[account]]\naccount = \"sip:a@b\"\nrender_mode = \"pixels\"\n":                                   `render_mode: unknown render mode "pixels"`,
		"[[account]]\naccount = \"sip:a@b\"\nrow_size = \"huge\"\n":                                        `row_size: unknown row size "huge"`,
	}
	for text, want := range cases {
		p := writeConfig(t, text)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), p) {
			t.Errorf("%q: error %v, want it to name the file and contain %q", text, err, want)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvConfig, "")
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdg-test")
	t.Setenv("HOME", "/tmp/home-test")
	if p, err := DefaultPath(); err != nil || p != "/tmp/xdg-test/sipbuddy/config.toml" {
		t.Errorf("%q %v", p, err)
	}
	t.Setenv(EnvConfig, "/elsewhere.toml")
	if p, _ := DefaultPath(); p != "/elsewhere.toml" {
		t.Errorf("override %q", p)
	}
}

// TestNotifySetting: notify takes the four names, any case, and nothing
// else.
func TestNotifySetting(t *testing.T) {
	for _, v := range []string{"off", "bell", "OSC9", "osc777"} {
		if _, err := Parse("c.toml", []byte("[[account]]\naccount = \"sip:a@example.test\"\nnotify = \""+v+"\"\n")); err != nil {
			t.Errorf("notify %q: %v", v, err)
		}
	}
	_, err := Parse("c.toml", []byte("[[account]]\naccount = \"sip:a@example.test\"\nnotify = \"beep\"\n"))
	if err == nil || !strings.Contains(err.Error(), `notify "beep": want off, bell, osc9 or osc777`) {
		t.Errorf("notify beep: %v", err)
	}
}
