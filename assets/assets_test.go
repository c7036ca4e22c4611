package assets

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"regexp"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/assets/internal/avatar"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// maxEmbeddedBytes bounds what the icons add to the binary.
const maxEmbeddedBytes = 384 << 10

func TestRoster(t *testing.T) {
	bs := Buddies()
	if len(bs) < 8 {
		t.Fatalf("%d buddies, want at least 8", len(bs))
	}
	userRE := regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	users, names := map[string]bool{}, map[string]bool{}
	for _, b := range bs {
		if !userRE.MatchString(b.User) || users[b.User] {
			t.Errorf("user %q is not a unique lower-case ASCII user part", b.User)
		}
		if strings.TrimSpace(b.DisplayName) == "" || names[b.DisplayName] {
			t.Errorf("display name %q is empty or repeated", b.DisplayName)
		}
		users[b.User], names[b.DisplayName] = true, true
		if len(b.Icons) < 2 {
			t.Errorf("%s has %d icons, want at least 2", b.User, len(b.Icons))
		}
	}
	if users[avatar.DemoUser.User] {
		t.Errorf("demo user %q is also a buddy", avatar.DemoUser.User)
	}
	if len(DemoUserIcon()) == 0 {
		t.Fatal("no demo user icon")
	}
}

func allIcons() map[string][]byte {
	m := map[string][]byte{}
	for _, b := range Buddies() {
		for i, ic := range b.Icons {
			m[fmt.Sprintf("%s#%d", b.User, i+1)] = ic
		}
	}
	m["demo-user"] = DemoUserIcon()
	return m
}

func decode(t *testing.T, name string, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

func TestIconsDecodeSquareAndSmall(t *testing.T) {
	total := 0
	seen := map[string]string{}
	for name, data := range allIcons() {
		img := decode(t, name, data)
		if b := img.Bounds(); b.Dx() != avatar.Size || b.Dy() != avatar.Size {
			t.Errorf("%s is %v, want %dx%d", name, b.Size(), avatar.Size, avatar.Size)
		}
		if other, ok := seen[string(data)]; ok {
			t.Errorf("%s and %s are the same file", name, other)
		}
		seen[string(data)] = name
		total += len(data)
	}
	gallery := 0
	for _, ic := range Gallery() {
		decode(t, ic.Name, ic.PNG)
		gallery += len(ic.PNG)
	}
	if gallery != total {
		t.Errorf("gallery holds %d bytes, buddies and demo user %d: stray or missing files", gallery, total)
	}
	if total > maxEmbeddedBytes {
		t.Errorf("icons take %d bytes, limit %d", total, maxEmbeddedBytes)
	}
	t.Logf("%d icons, %d bytes", len(seen), total)
}

// Icons must be told apart where people see them: drawn in a terminal at
// 16x8 half-block cells. Every pair differs by a clear mean colour distance.
func TestIconsDistinctAt16x8Cells(t *testing.T) {
	const minMeanDiff = 16 // mean absolute difference per channel, of 255
	type grid struct {
		name string
		img  *image.RGBA
	}
	var grids []grid
	for name, data := range allIcons() {
		s := art.Render(decode(t, name, data), 16, 8, art.HalfBlock)
		grids = append(grids, grid{name, decodeHalfBlocks(t, s, 16, 8)})
	}
	least, pair := 1e9, ""
	for i := range grids {
		for j := i + 1; j < len(grids); j++ {
			a, b := grids[i].img.Pix, grids[j].img.Pix
			sum := 0
			for k := range a {
				d := int(a[k]) - int(b[k])
				sum += max(d, -d)
			}
			mean := float64(sum) / float64(len(a)/4*3)
			if mean < least {
				least, pair = mean, grids[i].name+" vs "+grids[j].name
			}
			if mean < minMeanDiff {
				t.Errorf("%s and %s look alike at 16x8 cells (mean difference %.1f)", grids[i].name, grids[j].name, mean)
			}
		}
	}
	t.Logf("closest pair: %s, mean difference %.1f", pair, least)
}

// The committed PNGs are what the generator draws today: regenerate and
// compare pixels (not bytes, which depend on the zlib implementation).
func TestIconsMatchGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating every icon is slow")
	}
	check := func(name string, data []byte, s avatar.Scene) {
		want := s.Render(avatar.Size)
		got := image.NewNRGBA(want.Rect)
		img := decode(t, name, data)
		for y := 0; y < avatar.Size; y++ {
			for x := 0; x < avatar.Size; x++ {
				got.Set(x, y, img.At(x, y))
			}
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%s differs from the generator's drawing: run go generate ./assets", name)
		}
	}
	for i, b := range Buddies() {
		for j, sc := range avatar.Icons(avatar.People[i]) {
			check(avatar.IconFile(b.User, j), b.Icons[j], sc)
		}
	}
	check(avatar.DemoUserFile, DemoUserIcon(), avatar.Portrait(avatar.DemoUser))
}

// TestShow prints every icon in each mode (go test -run TestShow -v ./assets).
func TestShow(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("run with -v to see the icons")
	}
	var imgs []image.Image
	var labels []string
	for _, b := range Buddies() {
		for _, ic := range b.Icons {
			imgs = append(imgs, decode(t, b.User, ic))
			labels = append(labels, b.DisplayName)
		}
	}
	imgs = append(imgs, decode(t, "demo", DemoUserIcon()), nil)
	labels = append(labels, "Demo User", "No Icon")
	for _, m := range []art.Mode{art.HalfBlock, art.ASCII, art.Plain} {
		for start := 0; start < len(imgs); start += 6 {
			end := min(start+6, len(imgs))
			var rows [8]strings.Builder
			for i := start; i < end; i++ {
				var s string
				if imgs[i] == nil {
					s = art.Placeholder(16, 8, labels[i], m)
				} else {
					s = art.Render(imgs[i], 16, 8, m)
				}
				for r, l := range strings.Split(s, "\n") {
					rows[r].WriteString(l + "  ")
				}
			}
			for _, r := range rows {
				fmt.Println(r.String())
			}
			fmt.Println()
		}
	}
}
