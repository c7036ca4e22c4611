package locate

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzXCAPRootFromTXT: whatever a TXT record holds, a root taken from it
// is a bounded http(s) URL with a host.
func FuzzXCAPRootFromTXT(f *testing.F) {
	f.Add("https://xcap.sipthor.net/xcap-root/", "")
	f.Add("http://127.0.0.1:8080/xcap-", "root")
	f.Add("v=spf1 -all", "")
	f.Add("https://user:pw@xcap.example.test/", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		root, ok := XCAPRootFromTXT([]string{a, b})
		if !ok {
			return
		}
		u, err := url.Parse(root)
		if err != nil || u.Host == "" || !strings.HasPrefix(root, "http") || len(root) > MaxXCAPRootLength {
			t.Fatalf("accepted %q", root)
		}
	})
}
