package rlmi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// IsList reports whether contentType is that of a resource list NOTIFY
// body (multipart/related, whatever its parameters).
func IsList(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == MultipartType
}

// Parse reads a resource list NOTIFY body: contentType is the NOTIFY's
// Content-Type header (multipart/related with its boundary, type and
// start parameters), body its body. Lists nested inside the list are
// flattened: their resources follow the outer list's, in order.
func Parse(contentType string, body []byte) (*List, error) {
	if len(body) > MaxBodyBytes {
		return nil, xmltree.TooLarge("resource list notification", int64(len(body)), MaxBodyBytes)
	}
	return parse(contentType, body, 0)
}

func parse(contentType string, body []byte, depth int) (*List, error) {
	if depth >= MaxNesting {
		return nil, fmt.Errorf("%w: lists nested more than %d deep", ErrMalformed, MaxNesting)
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q: %w", ErrMalformed, contentType, err)
	}
	if mt != MultipartType {
		return nil, fmt.Errorf("%w: Content-Type is %s, not %s", ErrMalformed, mt, MultipartType)
	}
	if t := params["type"]; t != "" && !strings.EqualFold(t, ContentType) {
		return nil, fmt.Errorf("%w: the root part's type is %s, not %s", ErrMalformed, t, ContentType)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, fmt.Errorf("%w: Content-Type has no boundary", ErrMalformed)
	}
	start := strings.Trim(params["start"], "<>")

	parts, order, err := readParts(body, boundary)
	if err != nil {
		return nil, err
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: the body has no parts", ErrMalformed)
	}
	rootID := order[0]
	if start != "" {
		rootID = start
	}
	root, ok := parts[rootID]
	if !ok {
		return nil, fmt.Errorf("%w: no part has the start Content-ID <%s>", ErrMalformed, start)
	}
	if root.ContentType != ContentType {
		return nil, fmt.Errorf("%w: the root part is %s, not %s", ErrMalformed, root.ContentType, ContentType)
	}
	l, err := parseRLMI(root.Body)
	if err != nil {
		return nil, err
	}
	var nested []Resource
	out := l.Resources[:0:0]
	for _, r := range l.Resources {
		isList := false
		for _, in := range r.Instances {
			if in.CID == "" {
				continue
			}
			p, ok := parts[in.CID]
			if !ok {
				// RFC 4662 §5.4: cid names a part of this body. A server
				// that forgot it sent no state for the instance.
				continue
			}
			if p.ContentType == MultipartType {
				sub, err := parse(p.rawType, p.Body, depth+1)
				if err != nil {
					return nil, fmt.Errorf("list %s inside %s: %w", r.URI, l.URI, err)
				}
				nested = append(nested, sub.Resources...)
				isList = true
				continue
			}
			r.Parts = append(r.Parts, p.Part)
		}
		if !isList {
			out = append(out, r)
		}
	}
	l.Resources = append(out, nested...)
	if len(l.Resources) > MaxResources {
		return nil, xmltree.TooLarge("number of resources in a list", int64(len(l.Resources)), MaxResources)
	}
	return l, nil
}

// rawPart is a body part with its full Content-Type (nested lists need
// their boundary).
type rawPart struct {
	Part
	rawType string
}

// readParts splits body into its parts, keyed by Content-ID (a part
// without one is keyed by its position, "#N"), and returns the keys in
// order.
func readParts(body []byte, boundary string) (map[string]rawPart, []string, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	parts := map[string]rawPart{}
	var order []string
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: part %d: %w", ErrMalformed, len(order)+1, err)
		}
		if len(order) >= MaxParts {
			return nil, nil, xmltree.TooLarge("number of body parts", int64(len(order)+1), MaxParts)
		}
		data, err := io.ReadAll(io.LimitReader(p, MaxBodyBytes+1))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: part %d: %w", ErrMalformed, len(order)+1, err)
		}
		ct := p.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: part %d: Content-Type %q: %w", ErrMalformed, len(order)+1, ct, err)
		}
		switch strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))) {
		case "", "binary", "8bit", "7bit":
		case "base64":
			dec, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, string(data)))
			if err != nil {
				return nil, nil, fmt.Errorf("%w: part %d: base64: %w", ErrMalformed, len(order)+1, err)
			}
			data = dec
		default:
			return nil, nil, fmt.Errorf("%w: part %d: Content-Transfer-Encoding %q is not supported", ErrMalformed, len(order)+1, p.Header.Get("Content-Transfer-Encoding"))
		}
		id := strings.Trim(strings.TrimSpace(p.Header.Get("Content-ID")), "<>")
		if id == "" {
			id = fmt.Sprintf("#%d", len(order))
		}
		if _, dup := parts[id]; dup {
			return nil, nil, fmt.Errorf("%w: two parts have the Content-ID <%s>", ErrMalformed, id)
		}
		parts[id] = rawPart{Part{ContentType: mt, Body: data}, ct}
		order = append(order, id)
	}
	return parts, order, nil
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}
