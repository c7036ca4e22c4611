// Package assets holds the demo's embedded icons: simulated buddies, each
// with several distinct icons, and the demo user's own icon. The PNG files
// are drawn by this project's generator (assets/gen, from the designs in
// assets/internal/avatar) and committed; no third-party image is used.
package assets

//go:generate go run ./gen -dir icons

import (
	"embed"
	"fmt"
	"path"

	"github.com/sipbuddy/sipbuddy/assets/internal/avatar"
)

//go:embed icons/*.png
var icons embed.FS

// Buddy is a simulated demo buddy.
type Buddy struct {
	User        string   // user part of the SIP URI, lower-case ASCII: "ada"
	DisplayName string   // "Ada Lovelace"
	Icons       [][]byte // PNG files, 256x256, at least two, all distinct
}

// Icon is one embedded PNG file with its name, for a picker gallery.
type Icon struct {
	Name string // file name, "ada-1.png"
	PNG  []byte
}

func mustRead(name string) []byte {
	b, err := icons.ReadFile(path.Join("icons", name))
	if err != nil {
		// The generator writes every file the roster names and the test
		// checks them; a missing one is a build defect, not an input error.
		panic(fmt.Sprintf("assets: embedded icon %s: %v (run go generate ./assets)", name, err))
	}
	return b
}

// Buddies returns the simulated demo buddies in a fixed order. The slices
// are fresh copies of the embedded data's headers; the bytes must not be
// modified.
func Buddies() []Buddy {
	out := make([]Buddy, 0, len(avatar.People))
	for _, p := range avatar.People {
		b := Buddy{User: p.User, DisplayName: p.DisplayName}
		for i := 0; i < avatar.IconsPerPerson; i++ {
			b.Icons = append(b.Icons, mustRead(avatar.IconFile(p.User, i)))
		}
		out = append(out, b)
	}
	return out
}

// DemoUserIcon returns the demo user's own icon (PNG, 256x256).
func DemoUserIcon() []byte {
	return mustRead(avatar.DemoUserFile)
}

// Gallery returns every embedded icon by name (sorted), for a user who wants
// to pick a ready-made icon.
func Gallery() []Icon {
	entries, err := icons.ReadDir("icons")
	if err != nil {
		panic(fmt.Sprintf("assets: embedded icons: %v", err))
	}
	out := make([]Icon, 0, len(entries))
	for _, e := range entries {
		out = append(out, Icon{Name: e.Name(), PNG: mustRead(e.Name())})
	}
	return out
}
