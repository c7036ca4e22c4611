package xcap

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
)

// Update against the embedded server: create with If-None-Match: *, edit
// with If-Match, re-read and re-apply on 412, give up after
// MaxUpdateAttempts, and never write when fn fails.
func TestUpdateReadModifyWrite(t *testing.T) {
	root := realServer(t)
	c := realClient(t, root, "sip:alice@example.test", "secret")
	other := realClient(t, root, "sip:alice@example.test", "secret")
	ctx := context.Background()
	ref := DocumentRef{AUID: AUIDResourceLists, Path: "index", ContentType: "application/resource-lists+xml"}
	const empty = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"></resource-lists>`
	list := func(name string) []byte {
		return []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="` + name + `"/></resource-lists>`)
	}

	var seen [][]byte
	d, err := c.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		seen = append(seen, cur)
		return []byte(empty), nil
	})
	if err != nil || len(seen) != 1 || seen[0] != nil || d.ETag == "" || string(d.Body) != empty {
		t.Fatalf("create: %v, fn saw %q, returned %+v", err, seen, d)
	}

	// Another client writes between our read and our write: one 412, then
	// fn sees the other client's version.
	seen = nil
	d, err = c.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		seen = append(seen, cur)
		if len(seen) == 1 {
			got, err := other.Get(ctx, ref.AUID, ref.Path, "")
			if err != nil {
				return nil, err
			}
			if _, err := other.Put(ctx, ref.AUID, ref.Path, list("theirs"), ref.ContentType, Condition{IfMatch: got.ETag}); err != nil {
				return nil, err
			}
		}
		return append(bytes.TrimSuffix(cur, []byte("</resource-lists>")), []byte(`<list name="ours"/></resource-lists>`)...), nil
	})
	if err != nil || len(seen) != 2 || !bytes.Contains(seen[1], []byte("theirs")) {
		t.Fatalf("412 retry: %v, fn saw %q", err, seen)
	}
	stored, err := c.Get(ctx, ref.AUID, ref.Path, "")
	if err != nil || !bytes.Contains(stored.Body, []byte("theirs")) || !bytes.Contains(stored.Body, []byte("ours")) || stored.ETag != d.ETag {
		t.Fatalf("stored %q (etag %q, Update said %q): %v", stored.Body, stored.ETag, d.ETag, err)
	}

	// fn's error aborts without writing.
	boom := errors.New("boom")
	if _, err := c.Update(ctx, ref, func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("fn error: %v", err)
	}
	if after, _ := c.Get(ctx, ref.AUID, ref.Path, ""); after.ETag != stored.ETag {
		t.Errorf("document written despite fn error")
	}

	// A document that changes under every attempt: ErrConflict wrapping the 412.
	calls := 0
	_, err = c.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		calls++
		got, err := other.Get(ctx, ref.AUID, ref.Path, "")
		if err != nil {
			return nil, err
		}
		if _, err := other.Put(ctx, ref.AUID, ref.Path, list("again"), ref.ContentType, Condition{IfMatch: got.ETag}); err != nil {
			return nil, err
		}
		return cur, nil
	})
	if !errors.Is(err, ErrConflict) || StatusCodeOf(err) != http.StatusPreconditionFailed || calls != MaxUpdateAttempts {
		t.Errorf("endless conflict: %v after %d calls", err, calls)
	}

	// Someone else creates the document between our 404 and our PUT:
	// If-None-Match: * fails, and the retry edits their document.
	ref.Path = "other"
	seen = nil
	if _, err := c.Update(ctx, ref, func(cur []byte) ([]byte, error) {
		seen = append(seen, cur)
		if len(seen) == 1 {
			if _, err := other.Put(ctx, ref.AUID, ref.Path, list("first"), ref.ContentType, Condition{}); err != nil {
				return nil, err
			}
		}
		return []byte(empty), nil
	}); err != nil || len(seen) != 2 || seen[0] != nil || !bytes.Contains(seen[1], []byte("first")) {
		t.Errorf("create race: %v, fn saw %q", err, seen)
	}
}
