package icon

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Namespace is the XML namespace of the OMA pres-content document.
const Namespace = "urn:oma:xml:prs:pres-content"

// ContentMIMEType is the media type of the pres-content document.
const ContentMIMEType = "application/vnd.oma.pres-content+xml"

// MaxIconDataChars is OpenXCAP's limit on the characters of <data> (base64
// text including line breaks, not decoded bytes).
const MaxIconDataChars = 307200

// MaxDocumentSize bounds a pres-content document ParseContent reads: the
// largest <data> OpenXCAP accepts plus room for the other elements.
const MaxDocumentSize = MaxIconDataChars + 16<<10

// base64LineLength is where Marshal wraps <data>, like Python's
// base64.encodestring used by sipsimple and the SDK tools.
const base64LineLength = 76

// ErrInvalidContent means a document is not a usable pres-content document.
// Every ParseContent error except *xmltree.LimitError wraps it.
var ErrInvalidContent = errors.New("invalid pres-content document")

// ErrNoIconData (no or empty <data>) and ErrUnsupportedEncoding (<encoding>
// other than base64) are also wrapped by ParseContent errors, so servers can
// map them to OpenXCAP's phrases without matching message text.
var (
	ErrNoIconData          = errors.New("no icon data")
	ErrUnsupportedEncoding = errors.New("unsupported encoding")
)

// Content is an OMA pres-content document (urn:oma:xml:prs:pres-content).
type Content struct {
	MIMEType    string // "image/png"; may be empty in legacy documents
	Encoding    string // "base64"; may be empty in legacy documents
	Description string
	Data        []byte // decoded
}

// contentLimits are the XML limits of a pres-content document.
var contentLimits = xmltree.Limits{MaxBytes: MaxDocumentSize}

// ParseContent reads a pres-content document. ASCII whitespace inside the
// base64 <data> is ignored (Python wraps it at 76 columns). It enforces
// MaxDocumentSize and MaxIconDataChars and requires <encoding>, when present,
// to be base64. The MIME type is returned as written (lower-cased); the
// caller decides whether the data is an image it accepts.
func ParseContent(doc []byte) (*Content, error) {
	if len(doc) > MaxDocumentSize {
		return nil, xmltree.TooLarge(WhatDocument, int64(len(doc)), MaxDocumentSize)
	}
	tree, err := xmltree.Parse(doc, contentLimits)
	var le *xmltree.LimitError
	switch {
	case errors.As(err, &le):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrInvalidContent, err)
	}
	root := tree.Root
	if !root.Is(Namespace, "content") {
		return nil, fmt.Errorf("%w: root element is {%s}%s, not {%s}content", ErrInvalidContent, root.Space, root.Local, Namespace)
	}
	// Like encoding/xml's Unmarshal, the last of a repeated element wins
	// and only the element's own text counts.
	var (
		c           Content
		data        *string
		description []string
	)
	root.EachElement(func(e *xmltree.Node) {
		if e.Space != Namespace {
			return
		}
		switch e.Local {
		case "mime-type":
			c.MIMEType = e.OwnText()
		case "encoding":
			c.Encoding = e.OwnText()
		case "description":
			description = append(description, e.OwnText())
		case "data":
			text := e.OwnText()
			data = &text
		}
	})
	if data == nil {
		return nil, fmt.Errorf("%w: no <data> element%w", ErrInvalidContent, quiet(ErrNoIconData))
	}
	if n := len(*data); n > MaxIconDataChars {
		return nil, &xmltree.LimitError{What: WhatDataChars, Limit: MaxIconDataChars, Actual: int64(n)}
	}
	c.MIMEType = strings.ToLower(strings.TrimSpace(c.MIMEType))
	c.Encoding = strings.TrimSpace(c.Encoding)
	if len(description) > 0 {
		c.Description = strings.TrimSpace(description[0])
	}
	if c.Encoding != "" && !strings.EqualFold(c.Encoding, "base64") {
		return nil, fmt.Errorf("%w: encoding %q, only base64 is supported%w", ErrInvalidContent, c.Encoding, quiet(ErrUnsupportedEncoding))
	}
	text := stripASCIISpace(*data)
	decoded, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		// Some writers drop the padding.
		var rawErr error
		if decoded, rawErr = base64.RawStdEncoding.DecodeString(text); rawErr != nil {
			return nil, fmt.Errorf("%w: <data> is not base64: %v", ErrInvalidContent, err)
		}
	}
	if len(decoded) == 0 {
		return nil, fmt.Errorf("%w: <data> is empty%w", ErrInvalidContent, quiet(ErrNoIconData))
	}
	c.Data = decoded
	return &c, nil
}

func stripASCIISpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n\f\v") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n', '\f', '\v':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// dataText is the base64 text of c.Data wrapped at 76 columns.
func (c *Content) dataText() string {
	enc := base64.StdEncoding.EncodeToString(c.Data)
	var b strings.Builder
	b.Grow(len(enc) + len(enc)/base64LineLength + 2)
	b.WriteByte('\n')
	for len(enc) > base64LineLength {
		b.WriteString(enc[:base64LineLength])
		b.WriteByte('\n')
		enc = enc[base64LineLength:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}

// DataChars is the number of characters Marshal writes inside <data>, the
// figure OpenXCAP compares with MaxIconDataChars.
func (c *Content) DataChars() int {
	n := base64.StdEncoding.EncodedLen(len(c.Data))
	if n == 0 {
		return 2
	}
	return n + (n+base64LineLength-1)/base64LineLength + 1
}

// Marshal writes the document with <mime-type> (when set),
// <encoding>base64</encoding>, an optional <description> and <data> wrapped
// at 76 columns. c.Encoding is ignored: the data is always written as base64.
func (c *Content) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<content xmlns="` + Namespace + `">` + "\n")
	element := func(name, value string) {
		b.WriteString("  <" + name + ">")
		b.Write(xmltree.AppendText(nil, value))
		b.WriteString("</" + name + ">\n")
	}
	if c.MIMEType != "" {
		element("mime-type", c.MIMEType)
	}
	element("encoding", "base64") // Data is always written as base64
	if c.Description != "" {
		element("description", c.Description)
	}
	b.WriteString("  <data>")
	b.WriteString(c.dataText())
	b.WriteString("</data>\n</content>\n")
	return b.Bytes()
}

// quietError wraps a sentinel without adding to the message.
type quietError struct{ err error }

func (q quietError) Error() string { return "" }
func (q quietError) Unwrap() error { return q.err }

func quiet(err error) error { return quietError{err} }
