package rlmi

import (
	"strconv"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// ContentTypeOf is the Content-Type of a body written by Encode with
// boundary, whose root part has Content-ID rootCID.
func ContentTypeOf(boundary, rootCID string) string {
	return MultipartType + `;type="` + ContentType + `";start="<` + rootCID + `>";boundary="` + boundary + `"`
}

// Encode appends the resource list NOTIFY body of l to b: the RLMI root
// with Content-ID rootCID, then, for each instance with a CID, the next of
// its resource's Parts. boundary must not occur in any part (a random
// token of 16 or more characters does not).
func Encode(b []byte, l *List, boundary, rootCID string) []byte {
	b = append(b, "--"...)
	b = append(b, boundary...)
	b = append(b, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <"...)
	b = append(b, rootCID...)
	b = append(b, ">\r\nContent-Type: "+ContentType+";charset=\"UTF-8\"\r\n\r\n"...)
	b = AppendRLMI(b, l)
	for _, r := range l.Resources {
		next := 0
		for _, in := range r.Instances {
			if in.CID == "" || next >= len(r.Parts) {
				continue
			}
			p := r.Parts[next]
			next++
			b = append(b, "\r\n--"...)
			b = append(b, boundary...)
			b = append(b, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <"...)
			b = append(b, in.CID...)
			b = append(b, ">\r\nContent-Type: "...)
			b = append(b, p.ContentType...)
			b = append(b, "\r\n\r\n"...)
			b = append(b, p.Body...)
		}
	}
	b = append(b, "\r\n--"...)
	b = append(b, boundary...)
	return append(b, "--\r\n"...)
}

// AppendRLMI appends the RLMI document of l to b.
func AppendRLMI(b []byte, l *List) []byte {
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<list xmlns="`+NS+`"`...)
	b = xmltree.AppendAttr(b, "uri", l.URI)
	b = append(b, ` version="`...)
	b = strconv.AppendUint(b, uint64(l.Version), 10)
	b = append(b, `" fullState="`...)
	b = strconv.AppendBool(b, l.FullState)
	b = append(b, `">`+"\n"...)
	b = appendName(b, "  ", l.Name)
	for _, r := range l.Resources {
		b = append(b, "  <resource"...)
		b = xmltree.AppendAttr(b, "uri", r.URI)
		b = append(b, ">\n"...)
		b = appendName(b, "    ", r.Name)
		for _, in := range r.Instances {
			b = append(b, "    <instance"...)
			b = xmltree.AppendAttr(b, "id", in.ID)
			b = xmltree.AppendAttr(b, "state", in.State)
			b = xmltree.AppendAttrIfSet(b, "reason", in.Reason)
			b = xmltree.AppendAttrIfSet(b, "cid", in.CID)
			b = append(b, "/>\n"...)
		}
		b = append(b, "  </resource>\n"...)
	}
	return append(b, "</list>\n"...)
}

// appendName appends a <name> element at indent, or nothing when name is
// empty: RLMI's list and resources carry one name each, and both are
// optional.
func appendName(b []byte, indent, name string) []byte {
	if name == "" {
		return b
	}
	b = append(b, indent+"<name>"...)
	b = xmltree.AppendText(b, name)
	return append(b, "</name>\n"...)
}
