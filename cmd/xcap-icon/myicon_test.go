package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/demo/demotest"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// xcap-icon PUT, then starting the buddy list: that picture is my icon, in
// my own header (the account's IconEvent) and in the PUBLISH watchers get.
func TestUploadedIconBecomesMyIconAtStart(t *testing.T) {
	iconBin, _ := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := demotest.Start(t, ctx, demo.Options{Seed: 3, Buddies: 1, MinChange: time.Hour, MaxChange: 2 * time.Hour})
	acc, err := w.AddUser(ctx, "alice", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "photo.jpg"), photoJPEG(t, 640, 480), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, dir: work, conf: filepath.Join(work, "none.toml")}
	put := r.run(iconBin, "--xcap-root", acc.XCAPRoot, "--account", acc.AOR, "--password", acc.Password, "-f", "photo.jpg", "PUT")
	m := regexp.MustCompile(`(?m)^201 Created <(\S+)>$`).FindStringSubmatch(put.stdout)
	if put.code != 0 || m == nil {
		t.Fatalf("PUT: %+v", put)
	}
	iconURL := m[1]

	var mu sync.Mutex
	var published []string
	b, err := account.New(account.Options{
		Options: ua.Options{AOR: acc.AOR, Password: acc.Password, Proxy: acc.Proxy, Trace: func(in bool, msg string) {
			if !in && strings.HasPrefix(msg, "PUBLISH ") {
				mu.Lock()
				published = append(published, msg)
				mu.Unlock()
			}
		}},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir(), NoTrace: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	sawIcon := false
	for !sawIcon {
		evs, err := b.Next(ctx, 0)
		if err != nil {
			t.Fatalf("no IconEvent of my icon %s: %v", iconURL, err)
		}
		for _, ev := range evs {
			if i, ok := ev.(account.IconEvent); ok && i.URI == acc.AOR {
				if i.URL != iconURL {
					t.Fatalf("my icon is %s, want the uploaded %s", i.URL, iconURL)
				}
				sawIcon = true
			}
		}
	}
	for {
		mu.Lock()
		n := 0
		for _, p := range published {
			if strings.Contains(p, iconURL) {
				n++
			}
		}
		mu.Unlock()
		if n > 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no PUBLISH carries %s", iconURL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
