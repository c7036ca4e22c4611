package sshserver

import (
	"path/filepath"
	"strings"
	"testing"
)

const seedKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdLcPy5ddXg1lIHL0UfLh76ftTHkxeC7mI9SBn9pJS2 carol@laptop"

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add([]byte(seedKey + "\n"))
	f.Add([]byte("# comment\n\n" + `principals="carol,dave" ` + seedKey + "\n"))
	f.Add([]byte(`principals="" ` + seedKey))
	f.Add([]byte(`command="x",principals="a" ` + seedKey + "\r\n# x\n"))
	f.Add([]byte("ssh-rsa !!!\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseAuthorizedKeys(data)
		if err != nil {
			if keys != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		for _, k := range keys {
			if k.key == nil {
				t.Fatal("nil key")
			}
			for _, u := range k.users {
				if u == "" || strings.TrimSpace(u) != u {
					t.Fatalf("principal %q", u)
				}
			}
		}
	})
}

func TestParseAuthorizedKeysPrincipals(t *testing.T) {
	keys, err := parseAuthorizedKeys([]byte("# c\n\n" + `principals="carol, dave" ` + seedKey + "\n" + seedKey + "\n"))
	if err != nil || len(keys) != 2 {
		t.Fatalf("parse: %v, %d keys", err, len(keys))
	}
	if got := strings.Join(keys[0].users, ","); got != "carol,dave" {
		t.Errorf("principals %q", got)
	}
	if len(keys[1].users) != 0 {
		t.Errorf("a key without principals is restricted to %v", keys[1].users)
	}
	if _, err := parseAuthorizedKeys([]byte(`principals="" ` + seedKey)); err == nil {
		t.Error("empty principals accepted")
	}
	if _, err := parseAuthorizedKeys([]byte(seedKey + "\nnot a key\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
}

func FuzzPictureName(f *testing.F) {
	for _, s := range []string{"me.png", "a b.JPG", "../x.png", ".hidden.png", "gallery", "x.png/", "x\x00.png", "é.png", "a.gif.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if validPictureName(name) != nil {
			return
		}
		if strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") || filepath.Base(name) != name || len(name) > MaxPictureNameBytes {
			t.Fatalf("%q accepted", name)
		}
		if n, err := sftpName("/" + name); err != nil || n != name {
			t.Fatalf("sftpName(/%s) = %q, %v", name, n, err)
		}
	})
}
