package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenTimeout bounds the wait for bbolt's file lock: a second process on the
// same data file gets a clear error instead of hanging.
const OpenTimeout = 2 * time.Second

var (
	bucketDocs  = []byte("documents")
	bucketUsers = []byte("users")
)

const recordVersion = 1

// Bolt is the bbolt implementation of Store. It is safe for concurrent use;
// bbolt allows one process per file.
type Bolt struct {
	db *bolt.DB
}

var _ Store = (*Bolt)(nil)

// Open opens (creating if needed) the store file at path.
func Open(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: OpenTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is in use by another process: %w", path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketDocs, bucketUsers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initialise %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

func docKey(k Key) []byte {
	var b bytes.Buffer
	if k.Global {
		b.WriteString("g\x00")
	} else {
		b.WriteString("u\x00")
		b.WriteString(k.User)
		b.WriteByte(0)
	}
	b.WriteString(k.AUID)
	b.WriteByte(0)
	b.WriteString(k.Path)
	return b.Bytes()
}

func userPrefix(user string) []byte { return []byte("u\x00" + user + "\x00") }

// record layout: version(1) etagLen(1) etag modifiedUnixNano(8) body
func encodeRecord(etag string, modified time.Time, body []byte) []byte {
	out := make([]byte, 0, 10+len(etag)+len(body))
	out = append(out, recordVersion, byte(len(etag)))
	out = append(out, etag...)
	out = binary.BigEndian.AppendUint64(out, uint64(modified.UnixNano()))
	return append(out, body...)
}

// decodeRecord returns slices into v (valid only inside the transaction).
func decodeRecord(v []byte) (etag string, modified time.Time, body []byte, err error) {
	if len(v) < 2 || v[0] != recordVersion || len(v) < 2+int(v[1])+8 {
		return "", time.Time{}, nil, errors.New("store: corrupt record")
	}
	n := int(v[1])
	etag = string(v[2 : 2+n])
	modified = time.Unix(0, int64(binary.BigEndian.Uint64(v[2+n:]))).UTC()
	return etag, modified, v[2+n+8:], nil
}

func newETag() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Get returns a copy of the document.
func (s *Bolt) Get(k Key) (Document, error) {
	if err := k.Validate(); err != nil {
		return Document{}, err
	}
	var d Document
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get(docKey(k))
		if v == nil {
			return ErrNotFound
		}
		etag, mod, body, err := decodeRecord(v)
		if err != nil {
			return err
		}
		d = Document{Body: bytes.Clone(body), ETag: etag, Modified: mod}
		return nil
	})
	return d, err
}

// ETag returns the current ETag of a document without copying its body; the
// XCAP server uses it to validate its decoded-icon cache on every request.
func (s *Bolt) ETag(k Key) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	var etag string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get(docKey(k))
		if v == nil {
			return ErrNotFound
		}
		var err error
		etag, _, _, err = decodeRecord(v)
		return err
	})
	return etag, err
}

// Put implements Store.
func (s *Bolt) Put(k Key, body []byte, c Condition) (string, bool, error) {
	if err := k.Validate(); err != nil {
		return "", false, err
	}
	etag := newETag()
	var created bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDocs)
		dk := docKey(k)
		old := b.Get(dk)
		var oldETag string
		if old != nil {
			var err error
			if oldETag, _, _, err = decodeRecord(old); err != nil {
				return err
			}
		}
		if !c.Check(old != nil, oldETag) {
			return ErrPreconditionFailed
		}
		created = old == nil
		return b.Put(dk, encodeRecord(etag, time.Now().UTC(), body))
	})
	if err != nil {
		return "", false, fmt.Errorf("store: put %s: %w", k, err)
	}
	return etag, created, nil
}

// Delete implements Store.
func (s *Bolt) Delete(k Key, c Condition) error {
	if err := k.Validate(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDocs)
		dk := docKey(k)
		old := b.Get(dk)
		if old == nil {
			if c.IfMatch != "" {
				return ErrPreconditionFailed
			}
			return ErrNotFound
		}
		oldETag, _, _, err := decodeRecord(old)
		if err != nil {
			return err
		}
		if !c.Check(true, oldETag) {
			return ErrPreconditionFailed
		}
		return b.Delete(dk)
	})
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", k, err)
	}
	return nil
}

// List implements Store.
func (s *Bolt) List(user string) ([]Entry, error) {
	if user == "" || strings.IndexByte(user, 0) >= 0 {
		return nil, fmt.Errorf("%w: user %q", ErrInvalidKey, user)
	}
	prefix := userPrefix(user)
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDocs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			auid, path, ok := strings.Cut(string(k[len(prefix):]), "\x00")
			if !ok {
				return errors.New("store: corrupt key")
			}
			etag, mod, body, err := decodeRecord(v)
			if err != nil {
				return err
			}
			out = append(out, Entry{
				Key:  Key{AUID: auid, User: user, Path: path},
				ETag: etag, Size: len(body), Modified: mod,
			})
		}
		return nil
	})
	return out, err
}

// SetPassword implements Store.
func (s *Bolt) SetPassword(user, password string) error {
	if err := ValidateUser(user); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put([]byte(user), []byte(password))
	})
}

// DeleteUser implements Store.
func (s *Bolt) DeleteUser(user string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(user)) == nil {
			return fmt.Errorf("user %q: %w", user, ErrNotFound)
		}
		return b.Delete([]byte(user))
	})
}

// ValidateUser reports whether user is a plain SIP user part that the
// store, digest usernames and XUIs can all carry.
func ValidateUser(user string) error {
	if user == "" || len(user) > 64 || strings.ContainsAny(user, "@:/\\?#%\x00 \t\r\n\"") {
		return fmt.Errorf("%w: %q", ErrInvalidUser, user)
	}
	return nil
}

// Password implements Store.
func (s *Bolt) Password(user string) (string, bool) {
	var pw string
	var ok bool
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketUsers).Get([]byte(user)); v != nil {
			pw, ok = string(v), true
		}
		return nil
	})
	return pw, ok
}

// Users implements Store; sorted.
func (s *Bolt) Users() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}
