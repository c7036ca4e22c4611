// Command gen draws the demo buddies' icons into assets/icons as PNG files.
// It is deterministic: the same source always gives the same pixels. Run it
// with `go generate ./assets` after changing assets/internal/avatar.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/sipbuddy/sipbuddy/assets/internal/avatar"
)

func main() {
	dir := flag.String("dir", "icons", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	total := 0
	write := func(name string, s avatar.Scene) {
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, s.Render(avatar.Size)); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*dir, name), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		total += buf.Len()
	}
	for _, p := range avatar.People {
		for i, s := range avatar.Icons(p) {
			write(avatar.IconFile(p.User, i), s)
		}
	}
	write(avatar.DemoUserFile, avatar.Portrait(avatar.DemoUser))
	fmt.Printf("gen: wrote %d icons, %d bytes, to %s\n", len(avatar.People)*avatar.IconsPerPerson+1, total, *dir)
}
