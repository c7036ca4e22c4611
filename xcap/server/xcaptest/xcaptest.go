// Package xcaptest runs the real embedded XCAP server on loopback for tests
// of the packages and tools that talk to it.
package xcaptest

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

// Domain is the SIP domain (and digest realm) of the test server.
const Domain = "example.test"

// shutdownTimeout bounds the server's shutdown at the end of a test.
const shutdownTimeout = 5 * time.Second

// StoreKind is the kind of store Start runs the server on
// (storetest.Bolt or storetest.Postgres): a package's TestMain may run its
// tests once per kind in storetest.Kinds.
var StoreKind = storetest.Bolt

// Start runs the embedded XCAP server on 127.0.0.1:0 over a fresh store of
// StoreKind, with the given users (name → password), until the test ends.
// It returns the XCAP root and the store.
func Start(t testing.TB, users map[string]string) (root string, st store.Store) {
	t.Helper()
	return start(t, users, nil, nil)
}

// StartNotifying is Start with the server's OnChange hook: onChange hears
// of every document written or deleted, as a SIP server's StoreChanged
// does in internal/app/stack (its xcap-diff NOTIFYs, its resource lists).
func StartNotifying(t testing.TB, users map[string]string, onChange func(store.Key)) (root string, st store.Store) {
	t.Helper()
	return start(t, users, nil, onChange)
}

// StartTLS is Start over HTTPS with the certificate and key in the given
// PEM files; the root is https://127.0.0.1:port/xcap-root.
func StartTLS(t testing.TB, users map[string]string, certFile, keyFile string) (root string, st store.Store) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, users, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil)
}

func start(t testing.TB, users map[string]string, conf *tls.Config, onChange func(store.Key)) (root string, st store.Store) {
	t.Helper()
	st0 := storetest.Fresh(t, StoreKind, Domain)()
	for user, pw := range users {
		if err := st0.SetPassword(user, pw); err != nil {
			st0.Close()
			t.Fatal(err)
		}
	}
	srv, err := server.Listen(context.Background(), "127.0.0.1:0", server.Options{Domain: Domain, Store: st0, TLS: conf, OnChange: onChange})
	if err != nil {
		st0.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("XCAP server shutdown: %v", err)
		}
		st0.Close()
	})
	return srv.Root(), st0
}
