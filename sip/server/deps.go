package server

import (
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// maxDocumentSize is the largest PUBLISH body accepted (413 above it).
const maxDocumentSize = pidf.MaxDocumentSize

// validatePIDF rejects bodies that are not well-formed PIDF (400).
func validatePIDF(b []byte) error {
	_, err := pidf.Parse(b)
	return err
}

func composePIDF(entity string, docs [][]byte) ([]byte, error) { return pidf.Compose(entity, docs) }

func closedPIDF(entity string) []byte { return pidf.Closed(entity) }

type winfoWatcher = winfo.Watcher

// encodeWinfo writes a full watcherinfo document (RFC 3858).
func encodeWinfo(resource string, version int, ws []winfoWatcher) []byte {
	for i := range ws {
		ws[i].Resource, ws[i].Package = resource, "presence"
	}
	return winfo.Encode(winfo.Info{Resource: resource, Package: "presence", Version: version, Full: true, Watchers: ws})
}

// rulesDecider parses a pres-rules document into the decision function
// (RFC 4745 combination: the highest sub-handling of all matching rules;
// no matching rule means confirm).
func rulesDecider(doc []byte) (func(watcher string) decision, error) {
	rules, err := presrules.Parse(doc)
	if err != nil {
		return nil, err
	}
	return func(watcher string) decision {
		h, matched := rules.Decide(watcher)
		if !matched {
			return decPending
		}
		switch h {
		case presrules.Allow:
			return decAllow
		case presrules.PoliteBlock:
			return decPolite
		case presrules.Confirm:
			return decPending
		}
		return decBlock
	}, nil
}
