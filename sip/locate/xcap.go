package locate

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/miekg/dns"
)

// MaxXCAPRoots bounds the XCAP roots taken from TXT records.
const MaxXCAPRoots = 8

// XCAPRoots returns the XCAP roots a domain announces, as python-sipsimple's
// lookup_xcap_server finds them: the TXT records of xcap.<domain>, each an
// http or https URL ("https://xcap.example.com/xcap-root/"), in the order
// the name server gave them. TXT strings that are not such URLs are skipped.
func (r *Resolver) XCAPRoots(ctx context.Context, domain string) ([]string, error) {
	domain = strings.TrimSuffix(domain, ".")
	if net.ParseIP(strings.Trim(domain, "[]")) != nil {
		return nil, fmt.Errorf("locate: %s is an IP address: no DNS name to find its XCAP root under", domain)
	}
	rrs, err := r.lookup(ctx, "xcap."+domain, dns.TypeTXT)
	if err != nil {
		return nil, fmt.Errorf("locate: no XCAP root announced for %s: %w", domain, err)
	}
	var roots []string
	for _, rr := range rrs {
		txt, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		root, ok := XCAPRootFromTXT(txt.Txt)
		if !ok {
			continue
		}
		roots = append(roots, root)
		if len(roots) == MaxXCAPRoots {
			break
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("locate: the TXT records of xcap.%s hold no http(s) URL", domain)
	}
	return roots, nil
}

// MaxXCAPRootLength bounds an XCAP root taken from DNS.
const MaxXCAPRootLength = 1024

// XCAPRootFromTXT reads one TXT record (its strings, joined as RFC 7208
// joins them) as an XCAP root: an absolute http or https URL with a host
// and no user info, query or fragment, at most MaxXCAPRootLength bytes.
func XCAPRootFromTXT(strs []string) (string, bool) {
	s := strings.TrimSpace(strings.Join(strs, ""))
	if s == "" || len(s) > MaxXCAPRootLength {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	// The scheme lower-cased ("HTTPS://x" is https), the rest as written.
	return strings.ToLower(s[:len(u.Scheme)]) + s[len(u.Scheme):], true
}
