package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxXMLDepth bounds element nesting in a stored document.
const MaxXMLDepth = 100

// MaxXMLElements bounds the number of elements in a stored document.
const MaxXMLElements = 100_000

// element is a node of a parsed document: names resolved to namespace URIs,
// plus the byte range of the element in the source so that an element GET
// returns the bytes exactly as they were stored.
type element struct {
	name       xml.Name   // Space is the namespace URI
	attrs      []xml.Attr // Space is the namespace URI; xmlns declarations excluded
	decls      map[string]string
	parent     *element
	children   []*element
	start, end int64
}

// inScope returns the namespace declarations visible at e that e itself
// does not declare ("" = default namespace).
func (e *element) inheritedDecls() map[string]string {
	out := map[string]string{}
	for p := e.parent; p != nil; p = p.parent {
		for prefix, uri := range p.decls {
			if _, own := e.decls[prefix]; own {
				continue
			}
			if _, nearer := out[prefix]; !nearer {
				out[prefix] = uri
			}
		}
	}
	return out
}

// xmlError is a document rejected with a 409 xcap-error body.
type xmlError struct {
	tag, phrase string
}

func (e *xmlError) Error() string { return e.tag + ": " + e.phrase }

// parseDocument checks that body is a well-formed UTF-8 XML document with
// one root element and returns its tree.
func parseDocument(body []byte) (*element, error) {
	if bytes.HasPrefix(body, []byte{0xfe, 0xff}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) {
		return nil, &xmlError{"not-utf-8", "document is UTF-16"}
	}
	// A raw image or other binary is "not XML" before it is "not UTF-8"
	// (OpenXCAP answers a raw PNG with not-well-formed too).
	if t := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) == 0 || t[0] != '<' {
		return nil, &xmlError{"not-well-formed", "document is not XML"}
	}
	if !utf8.Valid(body) {
		return nil, &xmlError{"not-utf-8", "document is not valid UTF-8"}
	}
	if enc := declaredEncoding(body); enc != "" && !strings.EqualFold(enc, "utf-8") && !strings.EqualFold(enc, "utf8") {
		return nil, &xmlError{"not-utf-8", fmt.Sprintf("document declares encoding %q", enc)}
	}
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	offset := int64(0)
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		offset = 3
	}
	var root, cur *element
	elements := 0
	depth := 0
	for {
		start := d.InputOffset() + offset
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &xmlError{"not-well-formed", err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == nil && root != nil {
				return nil, &xmlError{"not-well-formed", "more than one root element"}
			}
			depth++
			elements++
			if depth > MaxXMLDepth {
				return nil, &xmlError{"not-well-formed", fmt.Sprintf("elements nested deeper than %d", MaxXMLDepth)}
			}
			if elements > MaxXMLElements {
				return nil, &xmlError{"not-well-formed", fmt.Sprintf("more than %d elements", MaxXMLElements)}
			}
			e := &element{name: t.Name, parent: cur, start: start}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if e.decls == nil {
						e.decls = map[string]string{}
					}
					e.decls[""] = a.Value
				case a.Name.Space == "xmlns":
					if e.decls == nil {
						e.decls = map[string]string{}
					}
					e.decls[a.Name.Local] = a.Value
				default:
					e.attrs = append(e.attrs, a)
				}
			}
			if cur != nil {
				cur.children = append(cur.children, e)
			} else {
				root = e
			}
			cur = e
		case xml.EndElement:
			cur.end = d.InputOffset() + offset
			cur = cur.parent
			depth--
		case xml.CharData:
			if cur == nil && len(bytes.TrimSpace(t)) > 0 {
				return nil, &xmlError{"not-well-formed", "text outside the root element"}
			}
		case xml.Directive:
			return nil, &xmlError{"not-well-formed", "DOCTYPE and other directives are not allowed"}
		}
	}
	if root == nil {
		return nil, &xmlError{"not-well-formed", "no root element"}
	}
	return root, nil
}

// declaredEncoding returns the encoding named in the XML declaration, if any.
func declaredEncoding(body []byte) string {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(body[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	if j := strings.IndexByte(rest, q); j >= 0 {
		return rest[:j]
	}
	return ""
}

// elementBytes returns the stored bytes of e with the namespace declarations
// it inherits added to its start tag, so the fragment means the same thing
// out of its document (RFC 4825 §8.4.1: application/xcap-el+xml).
func elementBytes(doc []byte, e *element) []byte {
	raw := doc[e.start:e.end]
	inherited := e.inheritedDecls()
	if len(inherited) == 0 {
		return bytes.Clone(raw)
	}
	// The qualified name ends at the first space, '/' or '>'.
	nameEnd := bytes.IndexAny(raw, " \t\r\n/>")
	if nameEnd < 0 {
		return bytes.Clone(raw)
	}
	prefixes := make([]string, 0, len(inherited))
	for p := range inherited {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	var b bytes.Buffer
	b.Write(raw[:nameEnd])
	for _, p := range prefixes {
		if p == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(` xmlns:` + p + `="`)
		}
		_ = xml.EscapeText(&b, []byte(inherited[p]))
		b.WriteByte('"')
	}
	b.Write(raw[nameEnd:])
	return b.Bytes()
}

// xcapErrorBody renders an RFC 4825 §11 error document.
func xcapErrorBody(tag, phrase string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><` + tag)
	if phrase != "" {
		b.WriteString(` phrase="`)
		_ = xml.EscapeText(&b, []byte(phrase))
		b.WriteByte('"')
	}
	b.WriteString("/></xcap-error>\n")
	return b.Bytes()
}

var errNoMatch = errors.New("node selector matches no node")
