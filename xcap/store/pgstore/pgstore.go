// Package pgstore keeps XCAP documents and users in PostgreSQL, so that
// several stateless XCAP nodes (and Kamailio's presence modules) share them.
//
// Documents of the AUIDs Kamailio numbers (pres-rules, resource-lists,
// rls-services, pidf-manipulation, pres-content) live in Kamailio's own
// `xcap` table, one row per document with its doc_uri as Kamailio's
// xcap_server writes it ("/xcap-root/pres-rules/users/sip:alice@example.test/index"),
// so that presence_xml with integrated_xcap_server=1 enforces the pres-rules
// sipbuddy's nodes store. Everything else lives in sipbuddy_documents.
// Users are kept as digest HA1 values (MD5 and SHA-256), never passwords.
//
// Every conditional write is one SQL statement: If-Match and If-None-Match
// are decided by the database under its row locks, so two nodes never both
// win. The same statement sends a NOTIFY on Channel, delivered when it
// commits; Watch turns other nodes' notifications into change events.
// The schema is created and upgraded by versioned migrations (Migrate),
// which Open applies.
package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sipbuddy/sipbuddy/internal/digest"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Limits and defaults.
const (
	// QueryTimeout bounds one store operation (the store.Store methods
	// take no context).
	QueryTimeout = 10 * time.Second
	// DefaultRootPath prefixes doc_uri, as Kamailio's xcap_server stores
	// the absolute document path.
	DefaultRootPath = "/xcap-root"
	// Kamailio's column sizes (VARCHAR(64) username and domain,
	// VARCHAR(255) doc_uri): keys that do not fit go to
	// sipbuddy_documents.
	MaxKamailioUser   = 64
	MaxKamailioDocURI = 255
	// NonceSecretBytes is the size of the shared digest nonce secret.
	NonceSecretBytes = 32
)

// Kamailio's doc_type numbers (src/modules/xcap_client/xcap_callbacks.h).
const (
	DocPresRules        = 1 << 1
	DocResourceLists    = 1 << 2
	DocRLSServices      = 1 << 3
	DocPIDFManipulation = 1 << 4
	DocPresContent      = 1 << 7
)

// docTypes maps the AUIDs Kamailio numbers to their doc_type; the OMA
// pres-rules AUID shares the IETF one's number, as in Kamailio's
// xcap_server.
var docTypes = map[string]int{
	"pres-rules":                          DocPresRules,
	"org.openmobilealliance.pres-rules":   DocPresRules,
	"resource-lists":                      DocResourceLists,
	"rls-services":                        DocRLSServices,
	"pidf-manipulation":                   DocPIDFManipulation,
	"org.openmobilealliance.pres-content": DocPresContent,
}

// DocType returns Kamailio's doc_type number of an AUID, false for an AUID
// Kamailio does not number.
func DocType(auid string) (int, bool) {
	n, ok := docTypes[auid]
	return n, ok
}

// Options configure a Store.
type Options struct {
	// Realm is the digest realm (the SIP domain) that SetPassword computes
	// HA1 values for. Required.
	Realm string
	// RootPath prefixes doc_uri; default DefaultRootPath. It must be the
	// path of the XCAP root Kamailio's xcap_server serves, if one shares
	// the table.
	RootPath string
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use by many goroutines and many processes.
type Store struct {
	pool  *pgxpool.Pool
	dsn   string
	realm string
	root  string
	node  string // this process's id in notifications
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn ("postgres://user@host:port/db"),
// applies the migrations it lacks and returns the store.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.Realm == "" {
		return nil, errors.New("pgstore: Options.Realm is required")
	}
	if o.RootPath == "" {
		o.RootPath = DefaultRootPath
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s is not a PostgreSQL connection URL: %w", redact(dsn), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: cannot reach PostgreSQL at %s: %w", redact(dsn), err)
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, dsn: dsn, realm: o.Realm, root: strings.TrimSuffix(o.RootPath, "/"), node: store.NewETag()}, nil
}

// redact drops the password from a connection URL for error messages.
func redact(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "the given URL"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool (tests and tools inspect the tables).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), QueryTimeout)
}

// row is where a key lives: Kamailio's xcap table (kam) or
// sipbuddy_documents.
type row struct {
	kam              bool
	username, domain string
	docType          int
	docURI           string
}

func (s *Store) locate(k store.Key) row {
	dt, ok := docTypes[k.AUID]
	if !ok || k.Global {
		return row{}
	}
	user, domain, ok := splitXUI(k.User)
	uri := s.root + "/" + k.String()
	if !ok || len(user) > MaxKamailioUser || len(domain) > MaxKamailioUser || len(uri) > MaxKamailioDocURI {
		return row{}
	}
	return row{kam: true, username: user, domain: domain, docType: dt, docURI: uri}
}

// splitXUI splits "sip:alice@example.test" into its user and domain.
func splitXUI(xui string) (user, domain string, ok bool) {
	rest, ok := strings.CutPrefix(xui, "sip:")
	if !ok {
		return "", "", false
	}
	at := strings.LastIndexByte(rest, '@')
	if at <= 0 || at == len(rest)-1 {
		return "", "", false
	}
	return rest[:at], rest[at+1:], true
}

// etagList turns a condition value into the SQL arguments "any" and the
// ETags; "" means no condition.
func etagList(v string) (any bool, list []string) {
	list = []string{} // never nil: NULL would make "etag = ANY(list)" unknown
	if v == "*" {
		return true, list
	}
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return false, list
}

// Get implements store.Store.
func (s *Store) Get(k store.Key) (store.Document, error) {
	if err := k.Validate(); err != nil {
		return store.Document{}, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	var d store.Document
	var err error
	if r := s.locate(k); r.kam {
		err = s.pool.QueryRow(ctx, `SELECT doc, etag, sipbuddy_modified FROM xcap WHERE doc_uri = $1`, r.docURI).Scan(&d.Body, &d.ETag, &d.Modified)
	} else {
		err = s.pool.QueryRow(ctx, `SELECT doc, etag, modified FROM sipbuddy_documents WHERE auid = $1 AND global = $2 AND xui = $3 AND path = $4`,
			k.AUID, k.Global, k.User, k.Path).Scan(&d.Body, &d.ETag, &d.Modified)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Document{}, store.ErrNotFound
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("pgstore: get %s: %w", k, err)
	}
	d.Modified = d.Modified.UTC()
	return d, nil
}

// ETag returns a document's ETag without its body: the XCAP server
// validates its decoded-icon cache with it on every request.
func (s *Store) ETag(k store.Key) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	ctx, cancel := opCtx()
	defer cancel()
	var etag string
	var err error
	if r := s.locate(k); r.kam {
		err = s.pool.QueryRow(ctx, `SELECT etag FROM xcap WHERE doc_uri = $1`, r.docURI).Scan(&etag)
	} else {
		err = s.pool.QueryRow(ctx, `SELECT etag FROM sipbuddy_documents WHERE auid = $1 AND global = $2 AND xui = $3 AND path = $4`,
			k.AUID, k.Global, k.User, k.Path).Scan(&etag)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("pgstore: etag %s: %w", k, err)
	}
	return etag, nil
}

// Put implements store.Store in one statement: an upsert whose update
// only happens when If-None-Match allows it, or (with If-Match) an update
// of the row whose ETag matches. Zero rows back means the condition did
// not hold. The NOTIFY in the same statement is sent when it commits.
func (s *Store) Put(k store.Key, body []byte, c store.Condition) (string, bool, error) {
	if err := k.Validate(); err != nil {
		return "", false, err
	}
	etag := store.NewETag()
	noneAny, noneList := etagList(c.IfNoneMatch)
	matchAny, matchList := etagList(c.IfMatch)
	payload, err := s.notification(k, etag)
	if err != nil {
		return "", false, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	r := s.locate(k)
	var q string
	var args []any
	switch {
	case c.IfMatch != "" && r.kam:
		q = `WITH w AS (
			UPDATE xcap SET doc = $1, etag = $2, sipbuddy_modified = now()
			WHERE doc_uri = $3 AND ($4 OR etag = ANY($5)) AND NOT ($6 OR etag = ANY($7))
			RETURNING false AS created)
			SELECT created, pg_notify($8, $9)::text FROM w`
		args = []any{body, etag, r.docURI, matchAny, matchList, noneAny, noneList, Channel, payload}
	case c.IfMatch != "":
		q = `WITH w AS (
			UPDATE sipbuddy_documents SET doc = $1, etag = $2, modified = now()
			WHERE auid = $3 AND global = $4 AND xui = $5 AND path = $6
			AND ($7 OR etag = ANY($8)) AND NOT ($9 OR etag = ANY($10))
			RETURNING false AS created)
			SELECT created, pg_notify($11, $12)::text FROM w`
		args = []any{body, etag, k.AUID, k.Global, k.User, k.Path, matchAny, matchList, noneAny, noneList, Channel, payload}
	case r.kam:
		q = `WITH w AS (
			INSERT INTO xcap AS t (username, domain, doc, doc_type, etag, source, doc_uri, port, sipbuddy_modified)
			VALUES ($1, $2, $3, $4, $5, 0, $6, 0, now())
			ON CONFLICT (doc_uri) DO UPDATE
			SET doc = EXCLUDED.doc, etag = EXCLUDED.etag, sipbuddy_modified = EXCLUDED.sipbuddy_modified
			WHERE NOT ($7 OR t.etag = ANY($8))
			RETURNING (t.xmax = 0) AS created)
			SELECT created, pg_notify($9, $10)::text FROM w`
		args = []any{r.username, r.domain, body, r.docType, etag, r.docURI, noneAny, noneList, Channel, payload}
	default:
		q = `WITH w AS (
			INSERT INTO sipbuddy_documents AS t (auid, global, xui, path, doc, etag, modified)
			VALUES ($1, $2, $3, $4, $5, $6, now())
			ON CONFLICT (auid, global, xui, path) DO UPDATE
			SET doc = EXCLUDED.doc, etag = EXCLUDED.etag, modified = EXCLUDED.modified
			WHERE NOT ($7 OR t.etag = ANY($8))
			RETURNING (t.xmax = 0) AS created)
			SELECT created, pg_notify($9, $10)::text FROM w`
		args = []any{k.AUID, k.Global, k.User, k.Path, body, etag, noneAny, noneList, Channel, payload}
	}
	var created bool
	var void string
	err = s.pool.QueryRow(ctx, q, args...).Scan(&created, &void)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("pgstore: put %s: %w", k, store.ErrPreconditionFailed)
	}
	if err != nil {
		return "", false, fmt.Errorf("pgstore: put %s: %w", k, err)
	}
	return etag, created, nil
}

// Delete implements store.Store in one statement, which also says whether
// the document existed (to tell 404 from 412).
func (s *Store) Delete(k store.Key, c store.Condition) error {
	if err := k.Validate(); err != nil {
		return err
	}
	noneAny, noneList := etagList(c.IfNoneMatch)
	matchAny, matchList := etagList(c.IfMatch)
	if c.IfMatch == "" {
		matchAny = true
	}
	payload, err := s.notification(k, "")
	if err != nil {
		return err
	}
	ctx, cancel := opCtx()
	defer cancel()
	var q string
	var args []any
	if r := s.locate(k); r.kam {
		q = `WITH d AS (
			DELETE FROM xcap WHERE doc_uri = $1 AND ($2 OR etag = ANY($3)) AND NOT ($4 OR etag = ANY($5))
			RETURNING 1),
			n AS (SELECT pg_notify($6, $7) FROM d)
			SELECT (SELECT count(*) FROM d), EXISTS (SELECT 1 FROM xcap WHERE doc_uri = $1), (SELECT count(*) FROM n)`
		args = []any{r.docURI, matchAny, matchList, noneAny, noneList, Channel, payload}
	} else {
		q = `WITH d AS (
			DELETE FROM sipbuddy_documents WHERE auid = $1 AND global = $2 AND xui = $3 AND path = $4
			AND ($5 OR etag = ANY($6)) AND NOT ($7 OR etag = ANY($8))
			RETURNING 1),
			n AS (SELECT pg_notify($9, $10) FROM d)
			SELECT (SELECT count(*) FROM d),
			EXISTS (SELECT 1 FROM sipbuddy_documents WHERE auid = $1 AND global = $2 AND xui = $3 AND path = $4),
			(SELECT count(*) FROM n)`
		args = []any{k.AUID, k.Global, k.User, k.Path, matchAny, matchList, noneAny, noneList, Channel, payload}
	}
	var deleted, notified int64
	var existed bool
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&deleted, &existed, &notified); err != nil {
		return fmt.Errorf("pgstore: delete %s: %w", k, err)
	}
	switch {
	case deleted > 0:
		return nil
	case !existed && c.IfMatch == "":
		return fmt.Errorf("pgstore: delete %s: %w", k, store.ErrNotFound)
	default:
		return fmt.Errorf("pgstore: delete %s: %w", k, store.ErrPreconditionFailed)
	}
}

// List implements store.Store.
func (s *Store) List(user string) ([]store.Entry, error) {
	if user == "" || strings.IndexByte(user, 0) >= 0 {
		return nil, fmt.Errorf("%w: user %q", store.ErrInvalidKey, user)
	}
	ctx, cancel := opCtx()
	defer cancel()
	var out []store.Entry
	if u, d, ok := splitXUI(user); ok {
		rows, err := s.pool.Query(ctx, `SELECT doc_uri, etag, length(doc), sipbuddy_modified FROM xcap WHERE username = $1 AND domain = $2`, u, d)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list %s: %w", user, err)
		}
		var uri, etag string
		var size int
		var mod time.Time
		_, err = pgx.ForEachRow(rows, []any{&uri, &etag, &size, &mod}, func() error {
			// Rows another writer (Kamailio's xcap_server under another
			// root) stored under a doc_uri of another form are not
			// sipbuddy's to list.
			if k, ok := s.keyOfDocURI(uri, user); ok {
				out = append(out, store.Entry{Key: k, ETag: etag, Size: size, Modified: mod.UTC()})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("pgstore: list %s: %w", user, err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT auid, path, etag, length(doc), modified FROM sipbuddy_documents WHERE xui = $1 AND NOT global`, user)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list %s: %w", user, err)
	}
	var e store.Entry
	_, err = pgx.ForEachRow(rows, []any{&e.Key.AUID, &e.Key.Path, &e.ETag, &e.Size, &e.Modified}, func() error {
		e.Key.User = user
		e.Modified = e.Modified.UTC()
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list %s: %w", user, err)
	}
	slices.SortFunc(out, func(a, b store.Entry) int {
		if c := strings.Compare(a.Key.AUID, b.Key.AUID); c != 0 {
			return c
		}
		return strings.Compare(a.Key.Path, b.Key.Path)
	})
	return out, nil
}

// keyOfDocURI parses "/xcap-root/AUID/users/XUI/PATH" back into a key.
func (s *Store) keyOfDocURI(uri, user string) (store.Key, bool) {
	rest, ok := strings.CutPrefix(uri, s.root+"/")
	if !ok {
		return store.Key{}, false
	}
	auid, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return store.Key{}, false
	}
	path, ok := strings.CutPrefix(rest, "users/"+user+"/")
	if !ok || path == "" {
		return store.Key{}, false
	}
	k := store.Key{AUID: auid, User: user, Path: path}
	return k, s.locate(k).docURI == uri
}

// SetPassword implements store.Store: it keeps the HA1 values of the
// password for the store's realm, not the password.
func (s *Store) SetPassword(user, password string) error {
	if err := store.ValidateUser(user); err != nil {
		return err
	}
	var ha [4]string
	for i, name := range []string{user, user + "@" + s.realm} {
		for j, alg := range digest.Algorithms {
			h, err := digest.HA1(alg, name, s.realm, password)
			if err != nil {
				return err
			}
			ha[i*2+j] = h
		}
	}
	ctx, cancel := opCtx()
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO sipbuddy_users (username, realm, ha1, ha1_sha256, ha1b, ha1b_sha256)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (username) DO UPDATE SET realm = EXCLUDED.realm, ha1 = EXCLUDED.ha1,
		ha1_sha256 = EXCLUDED.ha1_sha256, ha1b = EXCLUDED.ha1b, ha1b_sha256 = EXCLUDED.ha1b_sha256, modified = now()`,
		user, s.realm, ha[0], ha[1], ha[2], ha[3])
	if err != nil {
		return fmt.Errorf("pgstore: user %s: %w", user, err)
	}
	return nil
}

// HA1 implements store.Store for the plain user name and user@realm.
func (s *Store) HA1(username, realm, algorithm string) (string, bool) {
	user, ok := digest.UserPart(username, realm)
	if !ok {
		return "", false
	}
	var col string
	switch {
	case username == user && strings.EqualFold(algorithm, digest.MD5):
		col = "ha1"
	case username == user && strings.EqualFold(algorithm, digest.SHA256):
		col = "ha1_sha256"
	case username == user+"@"+realm && strings.EqualFold(algorithm, digest.MD5):
		col = "ha1b"
	case username == user+"@"+realm && strings.EqualFold(algorithm, digest.SHA256):
		col = "ha1b_sha256"
	default:
		return "", false
	}
	ctx, cancel := opCtx()
	defer cancel()
	var ha1 string
	// col is one of four constants above, never input.
	err := s.pool.QueryRow(ctx, `SELECT `+col+` FROM sipbuddy_users WHERE username = $1 AND realm = $2`, user, realm).Scan(&ha1)
	return ha1, err == nil
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(user string) error {
	ctx, cancel := opCtx()
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM sipbuddy_users WHERE username = $1`, user)
	if err != nil {
		return fmt.Errorf("pgstore: user %s: %w", user, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %q: %w", user, store.ErrNotFound)
	}
	return nil
}

// Users implements store.Store.
func (s *Store) Users() ([]string, error) {
	ctx, cancel := opCtx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT username FROM sipbuddy_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: users: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: users: %w", err)
	}
	return users, nil
}

// NonceSecret returns the digest nonce secret every node shares, creating
// it on first use: a nonce that one node issued verifies on another.
func (s *Store) NonceSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, NonceSecretBytes)
	_, _ = rand.Read(fresh) // crypto/rand never fails on supported platforms
	var secret []byte
	var err error
	// A node that lost the race to create the secret sees no row in its
	// statement's snapshot; its second try reads the winner's.
	for range 2 {
		err = s.pool.QueryRow(ctx, `WITH i AS (
			INSERT INTO sipbuddy_secrets (name, secret) VALUES ('digest-nonce', $1)
			ON CONFLICT (name) DO NOTHING RETURNING secret)
			SELECT secret FROM i UNION ALL SELECT secret FROM sipbuddy_secrets WHERE name = 'digest-nonce'
			LIMIT 1`, fresh).Scan(&secret)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: nonce secret: %w", err)
	}
	return secret, nil
}
