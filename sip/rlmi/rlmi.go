// Package rlmi reads and writes the bodies of resource list NOTIFYs
// (RFC 4662): a multipart/related body (RFC 2387) whose root part is an
// RLMI document (application/rlmi+xml) that names the list's resources, and
// whose other parts carry each resource's state (a PIDF document for
// presence), tied to the RLMI by Content-ID.
//
// A subscriber reads a NOTIFY with Parse and gets one List: the list's
// version and whether the NOTIFY carries full or partial state, and for
// each resource its URI, its name, its subscription instances (active,
// pending, or terminated with a reason) and the body of the instance that
// has one. The server builds the same body with Encode.
//
// The list's version increases by one with every NOTIFY of a subscription
// (RFC 4662 §5.2); a subscriber that sees a gap has lost partial state and
// must refresh the subscription to get full state again (Tracker does the
// bookkeeping).
package rlmi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/sip/header"
)

// NS is the RLMI namespace; ContentType the RLMI document's MIME type.
const (
	NS          = "urn:ietf:params:xml:ns:rlmi"
	ContentType = "application/rlmi+xml"
	// MultipartType is the type of a resource list NOTIFY body.
	MultipartType = "multipart/related"
)

// Limits of one resource list NOTIFY body.
const (
	// MaxBodyBytes is the largest multipart body read: a list of 1,000
	// buddies with a PIDF each fits in full state.
	MaxBodyBytes = 8 << 20
	// MaxParts bounds the parts of one body (RLMI root included).
	MaxParts = 10_001
	// MaxResources bounds the resources of one RLMI document.
	MaxResources = 10_000
	// MaxInstances bounds the instances of one resource.
	MaxInstances = 16
	// MaxNesting bounds lists inside lists (RFC 4662 §5.3 allows a part
	// that is itself a resource list NOTIFY body).
	MaxNesting = 3
)

// ErrMalformed is wrapped by every error about a body that is not a
// well-formed resource list NOTIFY body.
var ErrMalformed = errors.New("not a valid resource list notification")

// Instance is one subscription from the list server to a resource
// (RFC 4662 §5.4): its id, its state, why it ended, and the Content-ID of
// the part with its state.
type Instance struct {
	ID     string
	State  string // header.StateActive, StatePending, StateTerminated (lower-cased)
	Reason string // for terminated: header.ReasonRejected, ReasonNoResource, ...
	CID    string // Content-ID of the body part, without <>; "" when none
}

// Part is one body part: its type and bytes.
type Part struct {
	ContentType string // media type without parameters, lower-cased
	Body        []byte
}

// Resource is one member of the list.
type Resource struct {
	URI       string
	Name      string // the first <name>, "" when none
	Instances []Instance
	// Parts holds the parts referred to by the instances' CIDs, in
	// instance order; a resource without state in this NOTIFY has none.
	Parts []Part
}

// State is the resource's subscription state in words: the state of its
// first active instance, else pending, else terminated. A resource with no
// instance yet is pending: the server is still subscribing to it
// (Kamailio's first full-state NOTIFY lists bare resources).
func (r Resource) State() (state, reason string) {
	if len(r.Instances) == 0 {
		return header.StatePending, ""
	}
	state = header.StateTerminated
	for _, in := range r.Instances {
		switch in.State {
		case header.StateActive:
			return header.StateActive, ""
		case header.StatePending:
			state, reason = header.StatePending, ""
		default:
			if state == header.StateTerminated && reason == "" {
				reason = in.Reason
			}
		}
	}
	return state, reason
}

// List is one resource list NOTIFY's content.
type List struct {
	URI       string
	Name      string
	Version   uint32
	FullState bool
	Resources []Resource
}

// parseRLMI reads the RLMI document.
func parseRLMI(data []byte) (*List, error) {
	doc, err := xmltree.Parse(data, xmltree.Limits{MaxBytes: MaxBodyBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: RLMI document: %w", ErrMalformed, err)
	}
	root := doc.Root
	if !root.Is(NS, "list") {
		return nil, fmt.Errorf("%w: the RLMI root is <%s>, not <list> in %s", ErrMalformed, root.Local, NS)
	}
	l := &List{}
	l.URI, _ = root.Attr("uri")
	if l.URI == "" {
		return nil, fmt.Errorf("%w: <list> has no uri", ErrMalformed)
	}
	v, _ := root.Attr("version")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: <list> version %q is not a number", ErrMalformed, v)
	}
	l.Version = uint32(n)
	fs, _ := root.Attr("fullState")
	switch strings.TrimSpace(fs) {
	case "true", "1":
		l.FullState = true
	case "false", "0":
	default:
		return nil, fmt.Errorf("%w: <list> fullState %q is not true or false", ErrMalformed, fs)
	}
	var perr error
	root.EachElement(func(c *xmltree.Node) {
		if perr != nil || c.Space != NS {
			return
		}
		switch c.Local {
		case "name":
			xmltree.KeepFirstText(&l.Name, c)
		case "resource":
			if len(l.Resources) >= MaxResources {
				perr = xmltree.TooLarge("number of resources in a list", int64(len(l.Resources)+1), MaxResources)
				return
			}
			r, err := parseResource(c)
			if err != nil {
				perr = err
				return
			}
			l.Resources = append(l.Resources, r)
		}
	})
	if perr != nil {
		return nil, perr
	}
	return l, nil
}

func parseResource(c *xmltree.Node) (Resource, error) {
	var r Resource
	r.URI, _ = c.Attr("uri")
	if r.URI == "" {
		return r, fmt.Errorf("%w: a <resource> has no uri", ErrMalformed)
	}
	var err error
	c.EachElement(func(e *xmltree.Node) {
		if err != nil || e.Space != NS {
			return
		}
		switch e.Local {
		case "name":
			xmltree.KeepFirstText(&r.Name, e)
		case "instance":
			if len(r.Instances) >= MaxInstances {
				err = xmltree.TooLarge("number of instances of a resource", int64(len(r.Instances)+1), MaxInstances)
				return
			}
			var in Instance
			in.ID, _ = e.Attr("id")
			st, _ := e.Attr("state")
			in.State = strings.ToLower(strings.TrimSpace(st))
			rs, _ := e.Attr("reason")
			in.Reason = strings.ToLower(strings.TrimSpace(rs))
			cid, _ := e.Attr("cid")
			in.CID = strings.Trim(strings.TrimSpace(cid), "<>")
			if in.ID == "" || in.State == "" {
				err = fmt.Errorf("%w: an <instance> of %s lacks its id or state", ErrMalformed, r.URI)
				return
			}
			r.Instances = append(r.Instances, in)
		}
	})
	return r, err
}
