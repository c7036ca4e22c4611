package xcap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

// XCAP over HTTPS: the client trusts the CA it is given and checks the
// certificate's name against the root's host; a wrong CA or a wrong name
// is a TransportError that says so, and no request is answered.
func TestHTTPSVerifiesTheServer(t *testing.T) {
	ctx := context.Background()
	good, err := tlsconf.MakeThrowAway(t.TempDir(), tlsconf.ThrowAway{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := xcaptest.StartTLS(t, map[string]string{"alice": "secret"}, good.Cert, good.Key)
	if !strings.HasPrefix(root, "https://127.0.0.1:") {
		t.Fatalf("root %q", root)
	}
	c, err := NewClient(ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "secret", TLS: tlsconf.Options{CAFile: good.CA}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Caps(ctx); err != nil {
		t.Fatalf("xcap-caps over HTTPS: %v", err)
	}
	if _, err := c.Put(ctx, "resource-lists", "index", []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`), "application/resource-lists+xml", Condition{}); err != nil {
		t.Fatalf("PUT over HTTPS: %v", err)
	}

	other, err := tlsconf.MakeThrowAway(t.TempDir(), tlsconf.ThrowAway{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	misnamed, err := tlsconf.MakeThrowAway(t.TempDir(), tlsconf.ThrowAway{Names: []string{"xcap.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	misRoot, _ := xcaptest.StartTLS(t, nil, misnamed.Cert, misnamed.Key)
	for _, c := range []struct {
		name, root, ca, want string
	}{
		{"wrong CA", root, other.CA, "certificate for 127.0.0.1 is not valid for 127.0.0.1: signed by an authority that is not trusted"},
		{"name mismatch", misRoot, misnamed.CA, "certificate for xcap.example.test is not valid for 127.0.0.1"},
		{"system roots", root, "", "certificate for 127.0.0.1 is not valid for 127.0.0.1"},
	} {
		cl, err := NewClient(ClientOptions{Root: c.root, XUI: "sip:alice@example.test", Password: "secret", TLS: tlsconf.Options{CAFile: c.ca}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Caps(ctx)
		var te *TransportError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a TransportError saying %q", c.name, err, c.want)
		}
	}
	insecure, err := NewClient(ClientOptions{Root: misRoot, XUI: "sip:alice@example.test", TLS: tlsconf.Options{InsecureSkipVerifyTLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := insecure.Caps(ctx); err != nil {
		t.Errorf("with verification off: %v", err)
	}
}
