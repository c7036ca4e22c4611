package ua

import (
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// build returns a SUBSCRIBE builder: the initial request (out of dialog)
// or one within d; each call is a new request with the dialog's next CSeq.
func (s *subscription) build(d *dialog, expires time.Duration, initial bool) func() *sip.Request {
	u := s.u
	return func() *sip.Request {
		s.mu.Lock()
		d.localCSeq++
		cseq := d.localCSeq
		ruri := s.target
		var routes []sip.Uri
		remoteTag := ""
		if !initial {
			if d.remoteTarget != nil {
				ruri = *d.remoteTarget.Clone()
			}
			routes = slices.Clone(d.routeSet)
			remoteTag = d.remoteTag
		}
		s.mu.Unlock()
		req := sip.NewRequest(sip.SUBSCRIBE, ruri)
		for _, r := range routes {
			req.AppendHeader(&sip.RouteHeader{Address: r})
		}
		to := sip.ToHeader{Address: s.target, Params: sip.NewParams()}
		if remoteTag != "" {
			to.Params.Add("tag", remoteTag)
		}
		u.addIDHeaders(req, d.localTag, &to, d.callID, cseq)
		req.AppendHeader(u.contactHeader())
		req.AppendHeader(sip.NewHeader("Event", s.pkg))
		req.AppendHeader(sip.NewHeader("Accept", s.accept))
		if s.list != nil {
			req.AppendHeader(sip.NewHeader("Supported", "eventlist"))
		}
		req.AppendHeader(sip.NewHeader("Allow", allowMethods))
		exp := sip.ExpiresHeader(uint32(expires / time.Second))
		req.AppendHeader(&exp)
		if s.body != nil {
			ct := sip.ContentTypeHeader(s.bodyType)
			req.AppendHeader(&ct)
			req.SetBody(s.body)
		}
		return req
	}
}

// addIDHeaders adds the headers that name a request of ours and its
// dialog or transaction: From (our AOR and display name, with tag), to,
// Call-ID and CSeq (with the request's method).
func (u *UA) addIDHeaders(req *sip.Request, tag string, to *sip.ToHeader, callID string, cseq uint32) {
	from := sip.FromHeader{DisplayName: u.opts.DisplayName, Address: u.aor, Params: sip.NewParams()}
	from.Params.Add("tag", tag)
	cid := sip.CallIDHeader(callID)
	cs := sip.CSeqHeader{SeqNo: cseq, MethodName: req.Method}
	req.AppendHeader(&from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&cs)
}
