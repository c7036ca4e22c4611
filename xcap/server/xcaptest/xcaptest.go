// Package xcaptest runs the real embedded XCAP server on loopback for tests
// of the packages and tools that talk to it.
package xcaptest

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Domain is the SIP domain (and digest realm) of the test server.
const Domain = "example.test"

// shutdownTimeout bounds the server's shutdown at the end of a test.
const shutdownTimeout = 5 * time.Second

// Start runs the embedded XCAP server on 127.0.0.1:0 over a store in a
// temporary directory, with the given users (name → password), until the
// test ends. It returns the XCAP root and the store.
func Start(t testing.TB, users map[string]string) (root string, st store.Store) {
	t.Helper()
	return start(t, users, nil)
}

// StartTLS is Start over HTTPS with the certificate and key in the given
// PEM files; the root is https://127.0.0.1:port/xcap-root.
func StartTLS(t testing.TB, users map[string]string, certFile, keyFile string) (root string, st store.Store) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, users, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
}

func start(t testing.TB, users map[string]string, conf *tls.Config) (root string, st store.Store) {
	t.Helper()
	bolt, err := store.Open(filepath.Join(t.TempDir(), "xcap.db"))
	if err != nil {
		t.Fatal(err)
	}
	for user, pw := range users {
		if err := bolt.SetPassword(user, pw); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.Listen(context.Background(), "127.0.0.1:0", server.Options{Domain: Domain, Store: bolt, TLS: conf})
	if err != nil {
		bolt.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("XCAP server shutdown: %v", err)
		}
		bolt.Close()
	})
	return srv.Root(), bolt
}
