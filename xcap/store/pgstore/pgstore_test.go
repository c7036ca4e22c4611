package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/digest"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/pgstore"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

const realm = "example.test"

var (
	rulesKey = store.Key{AUID: "pres-rules", User: "sip:alice@example.test", Path: "index"}
	listKey  = store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}
	iconKey  = store.Key{AUID: "org.openmobilealliance.pres-content", User: "sip:alice@example.test", Path: "oma_status-icon/index"}
	blinkKey = store.Key{AUID: "oma_status-icon", User: "sip:alice@example.test", Path: "index"}
)

// open returns a store on a fresh database and the database's URL.
func open(t testing.TB) (*pgstore.Store, string) {
	t.Helper()
	dsn := testtool.Postgres(t)
	st := storetest.OpenPostgres(t, dsn, realm)
	t.Cleanup(func() { st.Close() })
	return st, dsn
}

// TestKamailioLayout checks the rows Kamailio's presence modules read: the
// numbered AUIDs in its xcap table with its doc_type numbers and doc_uri
// form, the others in sipbuddy's table; and a row Kamailio's xcap_server
// writes (its columns only) is a document sipbuddy serves.
func TestKamailioLayout(t *testing.T) {
	st, _ := open(t)
	ctx := t.Context()
	for _, k := range []store.Key{rulesKey, listKey, iconKey, blinkKey} {
		if _, _, err := st.Put(k, []byte("<"+k.AUID+"/>"), store.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	type kamRow struct {
		username, domain, docURI, etag string
		docType, source, port          int
		doc                            []byte
	}
	rows, err := st.Pool().Query(ctx, `SELECT username, domain, doc_uri, etag, doc_type, source, port, doc FROM xcap ORDER BY doc_type`)
	if err != nil {
		t.Fatal(err)
	}
	var got []kamRow
	for rows.Next() {
		var r kamRow
		if err := rows.Scan(&r.username, &r.domain, &r.docURI, &r.etag, &r.docType, &r.source, &r.port, &r.doc); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		docType int
		uri     string
	}{
		{2, "/xcap-root/pres-rules/users/sip:alice@example.test/index"},
		{4, "/xcap-root/resource-lists/users/sip:alice@example.test/index"},
		{128, "/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"},
	}
	if len(got) != len(want) {
		t.Fatalf("xcap table has %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.docType != w.docType || g.docURI != w.uri || g.username != "alice" || g.domain != "example.test" || g.source != 0 || g.port != 0 || len(g.etag) != 32 {
			t.Errorf("xcap row %d: %+v, want doc_type %d doc_uri %s", i, g, w.docType, w.uri)
		}
	}
	var other int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM sipbuddy_documents WHERE auid = 'oma_status-icon'`).Scan(&other); err != nil || other != 1 {
		t.Errorf("legacy icon rows in sipbuddy_documents: %d %v", other, err)
	}
	if n, ok := pgstore.DocType("oma_status-icon"); ok {
		t.Errorf("oma_status-icon has doc_type %d; Kamailio numbers no such AUID", n)
	}

	// What Kamailio's xcap_server inserts: no sipbuddy column.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port)
		VALUES ('alice', 'example.test', '<rls-services/>', 8, 'kam-etag', 0, '/xcap-root/rls-services/users/sip:alice@example.test/index', 0)`); err != nil {
		t.Fatal(err)
	}
	d, err := st.Get(store.Key{AUID: "rls-services", User: "sip:alice@example.test", Path: "index"})
	if err != nil || string(d.Body) != "<rls-services/>" || d.ETag != "kam-etag" || d.Modified.IsZero() {
		t.Fatalf("document Kamailio wrote: %+v %v", d, err)
	}
	entries, err := st.List("sip:alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Key.AUID+"/"+e.Key.Path)
	}
	if strings.Join(names, " ") != "oma_status-icon/index org.openmobilealliance.pres-content/oma_status-icon/index pres-rules/index resource-lists/index rls-services/index" {
		t.Errorf("List: %v", names)
	}
}

// TestConditionsInDatabase: the store answers preconditions as bbolt does.
func TestConditionsInDatabase(t *testing.T) {
	st, _ := open(t)
	for _, k := range []store.Key{listKey, blinkKey} {
		if _, _, err := st.Put(k, []byte("x"), store.Condition{IfMatch: "*"}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("%s If-Match * on missing: %v", k.AUID, err)
		}
		e1, created, err := st.Put(k, []byte("<a/>"), store.Condition{IfNoneMatch: "*"})
		if err != nil || !created {
			t.Fatalf("%s create: %v %v", k.AUID, created, err)
		}
		if _, _, err := st.Put(k, []byte("x"), store.Condition{IfNoneMatch: "*"}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("%s If-None-Match * on existing: %v", k.AUID, err)
		}
		if _, _, err := st.Put(k, []byte("x"), store.Condition{IfNoneMatch: "a," + e1}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("%s If-None-Match list with current: %v", k.AUID, err)
		}
		e2, created, err := st.Put(k, []byte("<b/>"), store.Condition{IfMatch: "zzz," + e1})
		if err != nil || created || e2 == e1 {
			t.Fatalf("%s replace: %v %v", k.AUID, created, err)
		}
		e3, created, err := st.Put(k, []byte("<c/>"), store.Condition{IfNoneMatch: e1})
		if err != nil || created {
			t.Fatalf("%s If-None-Match old etag: %v %v", k.AUID, created, err)
		}
		if et, err := st.ETag(k); err != nil || et != e3 {
			t.Fatalf("%s ETag %q %v, want %q", k.AUID, et, err, e3)
		}
		if err := st.Delete(k, store.Condition{IfMatch: e2}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("%s delete stale: %v", k.AUID, err)
		}
		if err := st.Delete(k, store.Condition{IfMatch: e3}); err != nil {
			t.Fatalf("%s delete: %v", k.AUID, err)
		}
		if err := st.Delete(k, store.Condition{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s delete missing: %v", k.AUID, err)
		}
		if err := st.Delete(k, store.Condition{IfMatch: "*"}); !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("%s delete missing If-Match *: %v", k.AUID, err)
		}
		if _, err := st.Get(k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s get deleted: %v", k.AUID, err)
		}
	}
	if _, _, err := st.Put(store.Key{AUID: "a/b", User: "sip:x@y", Path: "i"}, nil, store.Condition{}); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("invalid key: %v", err)
	}
}

// TestUsersKeepHA1NotPasswords: the users table holds HA1 values that the
// digest verifier accepts, for both algorithms and both user name forms,
// and never the password.
func TestUsersKeepHA1NotPasswords(t *testing.T) {
	st, _ := open(t)
	const pw = "correct horse"
	if err := st.SetPassword("alice", pw); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword("bad user", pw); !errors.Is(err, store.ErrInvalidUser) {
		t.Errorf("bad user name: %v", err)
	}
	var dump string
	if err := st.Pool().QueryRow(t.Context(), `SELECT string_agg(t::text, ' ') FROM sipbuddy_users t`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, pw) {
		t.Fatalf("the users table holds the password: %s", dump)
	}
	for _, alg := range digest.Algorithms {
		for _, name := range []string{"alice", "alice@example.test"} {
			want, _ := digest.HA1(alg, name, realm, pw)
			if got, ok := st.HA1(name, realm, alg); !ok || got != want {
				t.Errorf("HA1(%s, %s) = %q %v, want %q", name, alg, got, ok, want)
			}
		}
		if _, ok := st.HA1("alice", "other.test", alg); ok {
			t.Errorf("%s HA1 for another realm", alg)
		}
		if _, ok := st.HA1("bob", realm, alg); ok {
			t.Errorf("%s HA1 for an unknown user", alg)
		}
	}
	if users, err := st.Users(); err != nil || len(users) != 1 || users[0] != "alice" {
		t.Errorf("Users: %v %v", users, err)
	}
	if err := st.DeleteUser("alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.HA1("alice", realm, digest.MD5); ok {
		t.Error("HA1 of a deleted user")
	}
	if err := st.DeleteUser("alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing user: %v", err)
	}
}

// TestMigrationsOnceWhenNodesStartTogether: nodes opening one fresh
// database at the same moment apply every migration exactly once.
func TestMigrationsOnceWhenNodesStartTogether(t *testing.T) {
	dsn := testtool.Postgres(t)
	const nodes = 4
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, nodes)
	for i := range nodes {
		wg.Go(func() { stores[i] = storetest.OpenPostgres(t, dsn, realm) })
	}
	wg.Wait()
	defer func() {
		for _, s := range stores {
			if s != nil {
				s.Close()
			}
		}
	}()
	ms, err := pgstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stores[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM sipbuddy_schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(ms))
	}
	applied, err := pgstore.Migrate(t.Context(), stores[0].Pool())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v (%v)", applied, err)
	}
}

// TestNonceSecretShared: every node gets the same secret, created once.
func TestNonceSecretShared(t *testing.T) {
	a, dsn := open(t)
	b := storetest.OpenPostgres(t, dsn, realm)
	defer b.Close()
	var wg sync.WaitGroup
	secrets := make([][]byte, 8)
	for i := range secrets {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			s, err := st.NonceSecret(t.Context())
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for i, s := range secrets {
		if len(s) != pgstore.NonceSecretBytes || string(s) != string(secrets[0]) {
			t.Fatalf("secret %d: %x, want %x", i, s, secrets[0])
		}
	}
}

// TestOpenErrors: an unreachable server or a bad URL is a clear error.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pgstore.Open(ctx, "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2", pgstore.Options{Realm: realm}); err == nil ||
		!strings.Contains(err.Error(), "cannot reach PostgreSQL at 127.0.0.1:1/none") || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable: %v", err)
	}
	if _, err := pgstore.Open(ctx, "postgres://a:b@127.0.0.1:1/x", pgstore.Options{}); err == nil || !strings.Contains(err.Error(), "Realm") {
		t.Errorf("no realm: %v", err)
	}
}

// TestWatchReportsOtherNodesWrites: a watcher first hears "forget
// everything" (it may have missed writes before it listened), then every
// write and delete of another node, and none of its own.
func TestWatchReportsOtherNodesWrites(t *testing.T) {
	a, dsn := open(t)
	b := storetest.OpenPostgres(t, dsn, realm)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan store.Change, 16)
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx, nil, func(c store.Change) { changes <- c }) }()
	next := func() store.Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no change reported within 10s")
		}
		return store.Change{}
	}
	if c := next(); !c.All {
		t.Fatalf("first change %+v, want All", c)
	}
	if _, _, err := b.Put(listKey, []byte("own"), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	etag, _, err := a.Put(blinkKey, []byte("x"), store.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Key != blinkKey || c.ETag != etag || c.Deleted || c.All {
		t.Fatalf("after a PUT on the other node: %+v (want %s %s; its own write is not reported)", c, blinkKey, etag)
	}
	if err := a.Delete(rulesKey, store.Condition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err) // a failed write notifies nobody
	}
	if err := a.Delete(blinkKey, store.Condition{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Key != blinkKey || !c.Deleted {
		t.Fatalf("after a DELETE on the other node: %+v", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch after cancel: %v", err)
	}
	select {
	case c := <-changes:
		t.Errorf("unexpected change %+v", c)
	default:
	}
}
