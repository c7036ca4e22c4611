package server

import (
	"bytes"
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/percent"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// capsDocument renders the global xcap-caps document (RFC 4825 §12).
func capsDocument() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps">` + "\n  <auids>\n")
	seen := map[string]bool{}
	var namespaces []string
	for _, a := range apps {
		b.WriteString("    <auid>" + a.auid + "</auid>\n")
		for _, ns := range []string{a.namespace, a.root.Space} {
			if ns != "" && !seen[ns] {
				seen[ns] = true
				namespaces = append(namespaces, ns)
			}
		}
	}
	b.WriteString("  </auids>\n  <extensions/>\n  <namespaces>\n")
	for _, ns := range namespaces {
		b.WriteString("    <namespace>" + ns + "</namespace>\n")
	}
	b.WriteString("  </namespaces>\n</xcap-caps>\n")
	return b.Bytes()
}

// directory renders the OMA xcap-directory of one user from the store
// listing: one folder per AUID that has documents, absolute entry URIs
// below the XCAP root, unquoted etag attributes.
func (s *Server) directory(root, xui string) ([]byte, error) {
	entries, err := s.opts.Store.List(xui)
	if err != nil {
		return nil, err
	}
	byAUID := map[string][]store.Entry{}
	for _, e := range entries {
		byAUID[e.Key.AUID] = append(byAUID[e.Key.AUID], e)
	}
	auids := make([]string, 0, len(byAUID))
	for a := range byAUID {
		auids = append(auids, a)
	}
	// Served AUIDs in xcap-caps order, anything else after them.
	order := map[string]int{}
	for i, a := range apps {
		order[a.auid] = i + 1
	}
	sort.Slice(auids, func(i, j int) bool {
		oi, oj := order[auids[i]], order[auids[j]]
		if oi == 0 {
			oi = len(apps) + 1
		}
		if oj == 0 {
			oj = len(apps) + 1
		}
		if oi != oj {
			return oi < oj
		}
		return auids[i] < auids[j]
	})
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">` + "\n")
	for _, a := range auids {
		b.WriteString(`  <folder auid="`)
		b.Write(xmltree.AppendAttrValue(nil, a))
		b.WriteString("\">\n")
		for _, e := range byAUID[a] {
			b.WriteString(`    <entry uri="`)
			b.Write(xmltree.AppendAttrValue(nil, documentURL(root, e.Key)))
			b.WriteString(`" etag="`)
			b.Write(xmltree.AppendAttrValue(nil, e.ETag))
			b.WriteString(`" last-modified="` + e.Modified.UTC().Format(time.RFC3339) + `" size="` + strconv.Itoa(e.Size) + "\"/>\n")
		}
		b.WriteString("  </folder>\n")
	}
	b.WriteString("</xcap-directory>\n")
	return b.Bytes(), nil
}

// DocumentURL returns the absolute URL of a document below Options.Root
// (XUI written raw, as sipsimple does; path segments escaped). Without
// Options.Root the URL is relative to the host ("/xcap-root/...").
func (s *Server) DocumentURL(k store.Key) string {
	root := s.opts.Root
	if root == "" {
		root = s.rootPath
	}
	return documentURL(root, k)
}

func documentURL(root string, k store.Key) string {
	var b strings.Builder
	b.WriteString(root)
	b.WriteString("/" + escapeSegment(k.AUID))
	if k.Global {
		b.WriteString("/global")
	} else {
		b.WriteString("/users/" + escapeSegment(k.User))
	}
	for seg := range strings.SplitSeq(k.Path, "/") {
		b.WriteString("/" + escapeSegment(seg))
	}
	return b.String()
}

// escapeSegment percent-encodes what cannot appear raw in a path segment,
// keeping ':' and '@' (legal in segments) so XUIs stay readable.
func escapeSegment(s string) string { return percent.Encode(s, "-._~!$&'()*+,;=:@") }

// namespaceBindings renders the namespace bindings in scope at e
// (RFC 4825 §8.4.3: application/xcap-ns+xml), as attributes of an empty
// element named like e.
func namespaceBindings(e *xmltree.Node) []byte {
	all := e.Scope()
	delete(all, "xml") // bound by definition, never declared
	b := append([]byte("<"), e.Local...)
	b = xmltree.AppendDecls(b, all)
	return append(b, "/>"...)
}
