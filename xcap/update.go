package xcap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// MaxUpdateAttempts bounds Update's read-modify-write loop: how many times
// it reads, edits and writes while other clients keep changing the
// document under it (412 Precondition Failed).
const MaxUpdateAttempts = 5

// ErrConflict means Update gave up: another client changed the document
// between every read and write.
var ErrConflict = errors.New("xcap: the document kept changing, gave up")

// DocumentRef names one of the user's documents and the media type it is
// written with.
type DocumentRef struct {
	AUID, Path, ContentType string
}

// Update is the one read-modify-write of an XCAP document: it GETs doc,
// hands its body to fn (nil when there is no such document) and PUTs what
// fn returns, conditional on the ETag read (If-Match) or, when there was no
// document, on there still being none (If-None-Match: *). A 412 means
// another client wrote in between: Update reads again and calls fn again,
// up to MaxUpdateAttempts times, so fn must be safe to call more than
// once. An error from fn aborts without writing. A server that sends no
// ETag gets an unconditional PUT (the last writer wins, as it would
// without Update). It returns the document as stored.
func (c *Client) Update(ctx context.Context, doc DocumentRef, fn func(current []byte) ([]byte, error)) (*Document, error) {
	var lastErr error
	for range MaxUpdateAttempts {
		var (
			current []byte
			cond    Condition
		)
		got, err := c.Get(ctx, doc.AUID, doc.Path, "")
		switch {
		case IsNotFound(err):
			cond = Condition{IfNoneMatch: "*"}
		case err != nil:
			return nil, fmt.Errorf("read %s/%s: %w", doc.AUID, doc.Path, err)
		default:
			current = got.Body
			if current == nil {
				current = []byte{} // an empty document is not a missing one
			}
			cond = Condition{IfMatch: got.ETag}
		}
		body, err := fn(current)
		if err != nil {
			return nil, err
		}
		resp, err := c.Put(ctx, doc.AUID, doc.Path, body, doc.ContentType, cond)
		if err == nil {
			return &Document{Body: body, ETag: resp.ETag, ContentType: doc.ContentType}, nil
		}
		if StatusCodeOf(err) != http.StatusPreconditionFailed {
			return nil, fmt.Errorf("write %s/%s: %w", doc.AUID, doc.Path, err)
		}
		lastErr = err
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrConflict, MaxUpdateAttempts, lastErr)
}
