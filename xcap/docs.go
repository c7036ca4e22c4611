package xcap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// XCAP MIME types and namespaces used by this package.
const (
	ErrorMIMEType      = "application/xcap-error+xml"
	ErrorNamespace     = "urn:ietf:params:xml:ns:xcap-error"
	CapsMIMEType       = "application/xcap-caps+xml"
	CapsNamespace      = "urn:ietf:params:xml:ns:xcap-caps"
	DirectoryMIMEType  = "application/vnd.oma.xcap-directory+xml"
	DirectoryNamespace = "urn:oma:xml:xdm:xcap-directory"
	ElementMIMEType    = "application/xcap-el+xml"
)

// MaxXMLSize bounds the XML documents this package parses (xcap-error,
// xcap-caps, xcap-directory).
const MaxXMLSize = 1 << 20

// ErrInvalidDocument means a server document could not be understood.
var ErrInvalidDocument = errors.New("invalid document")

// tooLarge is the error for a server document over MaxXMLSize: it is
// ErrInvalidDocument and an *xmltree.LimitError naming the document.
func tooLarge(what string, n int) error {
	return fmt.Errorf("%w: %w", ErrInvalidDocument, xmltree.TooLarge(what+" size", int64(n), MaxXMLSize))
}

// XCAPError is the content of an application/xcap-error+xml body.
type XCAPError struct {
	Tag    string // "constraint-failure", "uniqueness-failure", ...
	Phrase string // the optional phrase attribute
}

// ParseXCAPError reads an RFC 4825 §11 xcap-error document: the root
// <xcap-error> and its one child element, whose name is the error tag.
func ParseXCAPError(data []byte) (*XCAPError, error) {
	if len(data) > MaxXMLSize {
		return nil, tooLarge("xcap-error document", len(data))
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: xcap-error document has no error element", ErrInvalidDocument)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: xcap-error: %v", ErrInvalidDocument, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Space != ErrorNamespace || t.Name.Local != "xcap-error" {
					return nil, fmt.Errorf("%w: root element is {%s}%s, not xcap-error", ErrInvalidDocument, t.Name.Space, t.Name.Local)
				}
				continue
			}
			x := &XCAPError{Tag: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Local == "phrase" && a.Name.Space == "" {
					x.Phrase = strings.TrimSpace(a.Value)
				}
			}
			return x, nil
		case xml.EndElement:
			depth--
		}
	}
}

// Caps is the server's xcap-caps document.
type Caps struct {
	AUIDs      []string
	Extensions []string
	Namespaces []string
}

// Has reports whether the server offers auid.
func (c *Caps) Has(auid string) bool { return c != nil && slices.Contains(c.AUIDs, auid) }

type capsXML struct {
	XMLName    xml.Name `xml:"urn:ietf:params:xml:ns:xcap-caps xcap-caps"`
	AUIDs      []string `xml:"urn:ietf:params:xml:ns:xcap-caps auids>auid"`
	Extensions []string `xml:"urn:ietf:params:xml:ns:xcap-caps extensions>extension"`
	Namespaces []string `xml:"urn:ietf:params:xml:ns:xcap-caps namespaces>namespace"`
}

// ParseCaps reads an xcap-caps document.
func ParseCaps(data []byte) (*Caps, error) {
	if len(data) > MaxXMLSize {
		return nil, tooLarge("xcap-caps document", len(data))
	}
	var x capsXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: xcap-caps: %v", ErrInvalidDocument, err)
	}
	trim := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return &Caps{AUIDs: trim(x.AUIDs), Extensions: trim(x.Extensions), Namespaces: trim(x.Namespaces)}, nil
}

// Caps fetches xcap-caps/global/index.
func (c *Client) Caps(ctx context.Context) (*Caps, error) {
	doc, err := c.GetGlobal(ctx, AUIDCaps, "index")
	if err != nil {
		return nil, err
	}
	return ParseCaps(doc.Body)
}

// Directory is an OMA xcap-directory document: the user's documents by AUID.
type Directory struct {
	Folders []Folder
}

// Folder lists the documents of one AUID. ErrorCode is set instead of
// entries when the server could not list that AUID.
type Folder struct {
	AUID      string
	Entries   []DirEntry
	ErrorCode string
}

// DirEntry is one document of a folder.
type DirEntry struct {
	URI          string    // absolute (relative entries are resolved against the XCAP root)
	ETag         string    // unquoted
	LastModified time.Time // zero if absent
	Size         int64     // -1 if absent
}

// Name is the last path segment of the entry URI ("index",
// "UsRfcDxIAMgGYj8zuXOH.png"), percent-decoded.
func (e DirEntry) Name() string {
	p := e.URI
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = p[strings.LastIndexByte(p, '/')+1:]
	if s, err := url.PathUnescape(p); err == nil {
		return s
	}
	return p
}

// Folder returns the folder of auid, or nil.
func (d *Directory) Folder(auid string) *Folder {
	for i := range d.Folders {
		if d.Folders[i].AUID == auid {
			return &d.Folders[i]
		}
	}
	return nil
}

type entryXML struct {
	URI          string `xml:"uri,attr"`
	ETag         string `xml:"etag,attr"`
	LastModified string `xml:"last-modified,attr"`
	Size         string `xml:"size,attr"`
}

type folderXML struct {
	AUID      string     `xml:"auid,attr"`
	Entries   []entryXML `xml:"urn:oma:xml:xdm:xcap-directory entry"`
	ErrorCode *string    `xml:"urn:oma:xml:xdm:xcap-directory error-code"`
}

type directoryXML struct {
	Folders []folderXML `xml:"urn:oma:xml:xdm:xcap-directory folder"`
}

// ParseDirectory reads an xcap-directory document, or a lone <folder>
// element (the answer to an element GET). Relative entry URIs are resolved
// against root, the XCAP root (OMA's aggregation proxy writes document
// selectors).
func ParseDirectory(data []byte, root string) (*Directory, error) {
	if len(data) > MaxXMLSize {
		return nil, tooLarge("xcap-directory document", len(data))
	}
	var start xml.StartElement
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: xcap-directory: %v", ErrInvalidDocument, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = se
			break
		}
	}
	if start.Name.Space != DirectoryNamespace {
		return nil, fmt.Errorf("%w: root element is {%s}%s, not an xcap-directory element", ErrInvalidDocument, start.Name.Space, start.Name.Local)
	}
	var folders []folderXML
	switch start.Name.Local {
	case "xcap-directory":
		var x directoryXML
		if err := d.DecodeElement(&x, &start); err != nil {
			return nil, fmt.Errorf("%w: xcap-directory: %v", ErrInvalidDocument, err)
		}
		folders = x.Folders
	case "folder":
		var f folderXML
		if err := d.DecodeElement(&f, &start); err != nil {
			return nil, fmt.Errorf("%w: xcap-directory folder: %v", ErrInvalidDocument, err)
		}
		folders = []folderXML{f}
	default:
		return nil, fmt.Errorf("%w: unexpected root element %s in an xcap-directory answer", ErrInvalidDocument, start.Name.Local)
	}
	base, err := url.Parse(strings.TrimRight(root, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("xcap: invalid XCAP root %q: %w", root, err)
	}
	dir := &Directory{}
	for _, fx := range folders {
		if fx.AUID == "" {
			return nil, fmt.Errorf("%w: xcap-directory folder without auid", ErrInvalidDocument)
		}
		f := Folder{AUID: fx.AUID}
		if fx.ErrorCode != nil {
			f.ErrorCode = strings.TrimSpace(*fx.ErrorCode)
		}
		for _, ex := range fx.Entries {
			e, err := parseEntry(ex, base)
			if err != nil {
				return nil, err
			}
			f.Entries = append(f.Entries, e)
		}
		dir.Folders = append(dir.Folders, f)
	}
	return dir, nil
}

func parseEntry(ex entryXML, base *url.URL) (DirEntry, error) {
	uri := strings.TrimSpace(ex.URI)
	if uri == "" {
		return DirEntry{}, fmt.Errorf("%w: xcap-directory entry without uri", ErrInvalidDocument)
	}
	e := DirEntry{URI: uri, ETag: unquoteETag(ex.ETag), Size: -1}
	u, err := url.Parse(uri)
	if err != nil {
		return DirEntry{}, fmt.Errorf("%w: xcap-directory entry uri %q: %v", ErrInvalidDocument, uri, err)
	}
	if !u.IsAbs() {
		// "resource-lists/users/..." is relative to the root; "/xcap-root/..."
		// to its host. A "sip:" XUI segment would parse as a scheme, which is
		// why IsAbs is checked on the parsed URL only after this.
		e.URI = base.ResolveReference(u).String()
	} else if u.Scheme != "http" && u.Scheme != "https" {
		// "sip:alice@.../index" is not a URL; treat the whole as a path.
		e.URI = strings.TrimRight(base.String(), "/") + "/" + strings.TrimLeft(uri, "/")
		if _, err := url.Parse(e.URI); err != nil {
			return DirEntry{}, fmt.Errorf("%w: xcap-directory entry uri %q is not a path under the XCAP root: %v", ErrInvalidDocument, uri, err)
		}
	}
	if ex.LastModified != "" {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(ex.LastModified)); err == nil {
			e.LastModified = t
		}
	}
	if ex.Size != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(ex.Size), 10, 64); err == nil && n >= 0 {
			e.Size = n
		}
	}
	return e, nil
}

// DirectoryDocument is the document name the client asks for: OMA and
// Kamailio require "directory.xml"; OpenXCAP and our server ignore the name.
const DirectoryDocument = "directory.xml"

// Directory fetches and parses the user's xcap-directory.
func (c *Client) Directory(ctx context.Context) (*Directory, error) {
	dir, _, err := c.DirectoryRaw(ctx)
	return dir, err
}

// DirectoryRaw fetches and parses the user's xcap-directory and also
// returns the document as received.
func (c *Client) DirectoryRaw(ctx context.Context) (*Directory, *Document, error) {
	doc, err := c.Get(ctx, AUIDDirectory, DirectoryDocument, "")
	if err != nil {
		return nil, nil, err
	}
	dir, err := ParseDirectory(doc.Body, c.root)
	if err != nil {
		return nil, doc, err
	}
	return dir, doc, nil
}
