package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// startXCAPNode runs `sipbuddy serve --sip off --store DSN` on addr and
// returns the process, its XCAP root and the rest of its output.
func startXCAPNode(t *testing.T, bin, dsn, addr string, extra ...string) (*exec.Cmd, string, *bufio.Scanner) {
	t.Helper()
	cmd, sc := runServe(t, bin, append([]string{"--domain", "example.test", "--xcap", addr, "--sip", "off", "--store", dsn, "--data", t.TempDir()}, extra...)...)
	if !sc.Scan() {
		t.Fatalf("no output from sipbuddy serve: %v", sc.Err())
	}
	root, ok := strings.CutPrefix(sc.Text(), "XCAP root: ")
	if !ok {
		t.Fatalf("first line %q, want the XCAP root", sc.Text())
	}
	return cmd, root, sc
}

// TestServeXCAPNodesOnPostgres runs two stateless XCAP nodes (`--sip off`)
// on 127.0.0.1 and 127.0.0.2 over one PostgreSQL database: a document PUT
// through one is served identically by the other, and `serve migrate`
// finds the schema up to date.
func TestServeXCAPNodesOnPostgres(t *testing.T) {
	bin := buildSipbuddy(t)
	dsn := testtool.Postgres(t)
	n1, root1, sc1 := startXCAPNode(t, bin, dsn, "127.0.0.1:0", "--user", "alice:secret")
	var head strings.Builder
	for range 2 {
		if !sc1.Scan() {
			t.Fatal("node 1 stopped early")
		}
		head.WriteString(sc1.Text() + "\n")
	}
	if strings.Contains(head.String(), "SIP:") || !strings.Contains(head.String(), "Data: PostgreSQL postgres://") || !strings.Contains(head.String(), "Users: alice") {
		t.Fatalf("node 1 says:\n%s", head.String())
	}
	n2, root2, sc2 := startXCAPNode(t, bin, dsn, "127.0.0.2:0")
	if !strings.HasPrefix(root2, "http://127.0.0.2:") {
		t.Fatalf("node 2 root %s", root2)
	}

	cl := &http.Client{Transport: &digest.Transport{Username: "alice", Password: "secret"}}
	const doc = "/resource-lists/users/sip:alice@example.test/index"
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"/></resource-lists>`)
	req, _ := http.NewRequest(http.MethodPut, root1+doc, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/resource-lists+xml")
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT through node 1: %s", res.Status)
	}
	etag := res.Header.Get("ETag")
	for _, root := range []string{root1, root2} {
		res, err := cl.Get(root + doc)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("ETag") != etag || !bytes.Equal(got, body) {
			t.Fatalf("GET through %s: %s %s %q", root, res.Status, res.Header.Get("ETag"), got)
		}
	}

	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"serve", "migrate", "--store", dsn}, &out, &errb); code != 0 || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("serve migrate: %d %q %q", code, out.String(), errb.String())
	}
	if code := run(t.Context(), []string{"serve", "migrate", "--store", "/tmp/x.db"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "postgres://") {
		t.Fatalf("serve migrate of a bbolt file: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"serve", "--store", dsn, "--ssh", "127.0.0.1:0"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "HA1") {
		t.Fatalf("--ssh with PostgreSQL: %d %q", code, errb.String())
	}
	stopServe(t, n1, sc1)
	if rest := stopServe(t, n2, sc2); !strings.Contains(rest, "Stopped.") {
		t.Fatalf("node 2 output: %q", rest)
	}
}
